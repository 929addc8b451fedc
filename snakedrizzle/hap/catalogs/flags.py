"""Flag bits of filter catalogs (SPEC-HAP H7.7) as far as a product alone tells them.

1 extended (CI above the filter's upper limit or missing), 8 faint (FluxAp2 < bthresh x its
error), 16 hot pixel/CR-like (CI below the lower limit beyond its error, or missing),
64 few exposures / edge (fewer exposures than HAP's limit within the outer aperture),
4 saturated (a saturated pixel of an input exposure nearby; not IR): the caller finds those
sources from the exposures' DQ (``saturation.saturated_sources``) and passes them in.
Not set: 2 and 32 and 128 (HAP never sets them either)."""
import numpy as np

__all__ = ["EXTENDED", "SATURATED", "FAINT", "HOT_OR_CR", "FEW_EXPOSURES", "exposure_count",
           "source_flags", "FLAG_LEGEND"]

EXTENDED, SINGLE_PIXEL_SATURATION, SATURATED, FAINT, HOT_OR_CR, SWARM, FEW_EXPOSURES, BLEED = (
    1, 2, 4, 8, 16, 32, 64, 128)
FLAG_LEGEND = (
    (EXTENDED, "extended source (CI above the upper limit)"),
    (SINGLE_PIXEL_SATURATION, "single-pixel saturation (not set)"),
    (SATURATED, "saturated: a full-well saturated input pixel nearby (not IR)"),
    (FAINT, "faint: FluxAp2 below bthresh x FluxErrAp2"),
    (HOT_OR_CR, "hot pixel or cosmic ray (CI below the lower limit)"),
    (SWARM, "swarm (not set)"),
    (FEW_EXPOSURES, "few exposures or image edge"),
    (BLEED, "bleeding or CR (not set)"),
)


# Sources per block when the exposure minimum around each is gathered (bounds the index arrays).
_SOURCE_BLOCK = 10000


def _unsigned(plane):
    """The bits of a context plane as uint32 (a view when it is 32-bit: no copy)."""
    plane = np.asarray(plane)
    if plane.dtype.kind in "iu" and plane.dtype.itemsize == 4:
        return plane.view(plane.dtype.str.replace("i", "u"))
    return plane.astype(np.uint32)


def exposure_count(ctx):
    """Exposures per pixel from a drizzle context array (bit planes of 32 images each)."""
    ctx = np.asarray(ctx)
    planes = ctx if ctx.ndim == 3 else ctx[None]
    count = np.zeros(planes.shape[-2:], np.int16)
    for plane in planes:
        count += np.bitwise_count(_unsigned(plane))
    return count


def _least_within(nexp, ix, iy, radius):
    """Minimum of ``nexp`` over the disk of ``radius`` around each pixel ``(ix, iy)``, pixels
    outside the image counting 0: a minimum filter with that disk and a zero border, evaluated at
    the sources only."""
    r = max(int(np.ceil(radius)), 1)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = (xx ** 2 + yy ** 2) <= radius ** 2
    dy, dx = yy[disk], xx[disk]
    ny, nx = nexp.shape
    least = np.empty(len(ix), nexp.dtype)
    for start in range(0, len(ix), _SOURCE_BLOCK):
        block = slice(start, start + _SOURCE_BLOCK)
        py, px = iy[block, None] + dy, ix[block, None] + dx
        inside = (py >= 0) & (py < ny) & (px >= 0) & (px < nx)
        values = np.where(inside, nexp[np.clip(py, 0, ny - 1), np.clip(px, 0, nx - 1)], 0)
        least[block] = values.min(axis=1)
    return least


def _few_exposures(nexp, x, y, radius, detector):
    """Bit 64: minimum exposure count within ``radius`` of the rounded position below HAP's limit
    (0.5 for one exposure or IR/SBC, 2.5 above five exposures, else 1.5)."""
    top = int(nexp.max()) if nexp.size else 0
    limit = 0.5 if (top <= 1 or detector in ("ir", "sbc")) else (2.5 if top > 5 else 1.5)
    ix = np.clip(np.round(x).astype(int), 0, nexp.shape[1] - 1)
    iy = np.clip(np.round(y).astype(int), 0, nexp.shape[0] - 1)
    return _least_within(nexp, ix, iy, radius) < limit


def source_flags(photometry, x, y, ci_lower, ci_upper, bthresh, nexp=None, radius=0.0, detector="",
                 saturated=None):
    """Flags per source from its photometry table (CI, MagErrAp1/2, FluxAp2, FluxErrAp2);
    ``saturated``: a mask of the sources that get bit 4."""
    ci = np.asarray(photometry["CI"], float)
    ci_missing = ~np.isfinite(ci) | (ci == 0)
    ci_err = np.hypot(np.asarray(photometry["MagErrAp1"], float), np.asarray(photometry["MagErrAp2"], float))
    flags = np.zeros(len(ci), np.int64)
    with np.errstate(invalid="ignore"):
        flags[ci_missing | (ci > ci_upper)] |= EXTENDED
        flux, err = np.asarray(photometry["FluxAp2"], float), np.asarray(photometry["FluxErrAp2"], float)
        flags[~(flux >= bthresh * err)] |= FAINT
        flags[ci_missing | ~np.isfinite(ci_err) | (ci < ci_lower - ci_err)] |= HOT_OR_CR
    if nexp is not None and len(ci):
        flags[_few_exposures(nexp, np.asarray(x), np.asarray(y), radius, detector)] |= FEW_EXPOSURES
    if saturated is not None:
        flags[np.asarray(saturated, bool)] |= SATURATED
    return flags
