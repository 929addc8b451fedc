"""Point sources: detection on the total image (SPEC-HAP H7.4) and aperture photometry on a
filter image (H7.6)."""
import contextlib
import logging

import numpy as np
from astropy.stats import SigmaClip
from astropy.table import Table
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry
from photutils.detection import DAOStarFinder

from snakedrizzle.hap.catalogs.background import ROW_BLOCK, background_subtracted
from snakedrizzle.hap.catalogs.regions import whole_footprint

__all__ = ["detect_point_sources", "aperture_photometry_table", "ab_mag"]

log = logging.getLogger("snakedrizzle")

_MAG_ERR = 2.5 / np.log(10)  # 1.0857: dmag = 1.0857 dflux/flux
_SKY_BLOCK = 500  # sources per ApertureStats call
_MARGIN = 32     # pixels around a region's box: several finder kernels (FWHM <= 5 px)


def detect_point_sources(data, background, pscale, pars, regions=None, in_place=False):
    """Point sources of the total image: ``DAOStarFinder`` on the background-subtracted image
    (clipped at 0), once per weight region (H7.3, H7.4; default: the footprint as one region)
    with peaks only in that region and threshold ``nsigma`` x the region's noise, kernel FWHM
    ``fwhmpsf``. Table ``ID, x, y`` with 0-based pixel positions, sorted by y then x, IDs from 1.
    ``in_place``: the subtracted image is made in ``data`` (a caller that needs the raw image no
    more saves a copy).

    HAP's first choice deconvolves with a library TinyTim PSF and falls back to this finder; we
    use the finder directly (no PSF library is shipped)."""
    empty = Table(names=("ID", "x", "y"), dtype=(np.int64, float, float))
    regions = whole_footprint(background.footprint) if regions is None else regions
    if background.kind == "empty" or background.rms_median <= 0 or not regions.count:
        return empty
    thresholds = float(pars["nsigma"]) * regions.noise(background)
    fwhm = float(pars["fwhmpsf"]) / pscale
    image = background_subtracted(data, background.level, in_place=in_place)
    np.clip(image, 0, None, out=image)
    found = []
    for label, (box, threshold) in enumerate(zip(regions.boxes(), thresholds), start=1):
        if box is None or threshold <= 0:
            continue
        # the region's box and a margin wider than the finder's kernel: the same peaks, centroids
        # and border exclusions as on the whole image, for a fraction of its cost
        box = tuple(slice(max(s.start - _MARGIN, 0), s.stop + _MARGIN) for s in box)
        finder = DAOStarFinder(threshold=threshold, fwhm=fwhm, exclude_border=True)
        table = finder(image[box], mask=regions.labels[box] != label)
        if table is not None and len(table):
            found.append((np.asarray(table["x_centroid"], float) + box[1].start,
                          np.asarray(table["y_centroid"], float) + box[0].start))
        log.info("point sources: region %d of %d (relative weight %.3g): %d above %.4g e-/s", label,
                 regions.count, regions.max_rel[label - 1], 0 if table is None else len(table), threshold)
    if not found:
        return empty
    x, y = (np.concatenate(c) for c in zip(*found))
    order = np.lexsort((x, y))
    return Table({"ID": np.arange(1, len(x) + 1), "x": x[order], "y": y[order]})


def ab_mag(flux, photflam, photplam):
    """AB magnitude of a count rate (e-/s) with the product's PHOTFLAM/PHOTPLAM; NaN where the
    flux is not positive."""
    flux = np.asarray(flux, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = -2.5 * np.log10(flux * photflam) - 21.10 - 5 * np.log10(photplam) + 18.6921
    return np.where(flux > 0, mag, np.nan)


def _sky(data, positions, pscale, pars, mask):
    r_in = float(pars["skyannulus_arcsec"]) / pscale
    sky = np.zeros((3, len(positions)))
    # ApertureStats keeps every source's cutouts until it is dropped: a few hundred sources at a
    # time bound the memory of crowded fields (each source's statistics are its own)
    for start in range(0, len(positions), _SKY_BLOCK):
        block = slice(start, start + _SKY_BLOCK)
        annulus = CircularAnnulus(positions[block], r_in, r_in + float(pars["dskyannulus_arcsec"]) / pscale)
        stats = ApertureStats(data, annulus, mask=mask, sigma_clip=SigmaClip(sigma=3.0, maxiters=3))
        # mode = 3 median - 2 mean: the sky in a crowded annulus, biased less by neighbours than a mean
        sky[:, block] = stats.mode, stats.std, stats.sum_aper_area.value
    return sky[0], sky[1], sky[2]


def aperture_photometry_table(data, positions, pscale, pars, photflam, photplam, exptime):
    """H7.6 photometry of the un-subtracted ``data`` (e-/s) at 0-based ``positions`` (N x 2):
    fluxes in the two apertures with a local sky (sigma-clipped mode in a 0.25"-0.50" annulus),
    IRAF-style errors (source Poisson noise with EXPTIME as gain, sky noise per pixel, error of
    the sky mean), AB magnitudes and CI = MagAp1 - MagAp2."""
    n = len(positions)
    columns = ("FluxAp1", "FluxErrAp1", "MagAp1", "MagErrAp1", "FluxAp2", "FluxErrAp2", "MagAp2",
               "MagErrAp2", "MSkyAp2", "StdevAp2", "CI")
    if n == 0:
        return Table(names=columns, dtype=[float] * len(columns))
    with _zeroed_where_bad(data) as (clean, mask):
        return _measured(clean, mask, positions, pscale, pars, photflam, photplam, exptime)


@contextlib.contextmanager
def _zeroed_where_bad(data):
    """``(image with 0 where data is not finite, that mask or None)``. The zeros are written into
    ``data`` itself and NaN put back on exit (a copy of a frame-sized image is what set a catalog
    job's peak); a read-only ``data`` gets a copy."""
    bad = np.empty(data.shape, bool)
    for start in range(0, data.shape[0], ROW_BLOCK):  # no frame-sized temporary
        rows = slice(start, start + ROW_BLOCK)
        np.logical_not(np.isfinite(data[rows]), out=bad[rows])
    if not bad.any():  # a product without bad pixels: no mask, same sums
        yield data, None
        return
    if not data.flags.writeable:
        yield np.where(bad, 0, data), bad
        return
    data[bad] = 0
    try:
        yield data, bad
    finally:
        data[bad] = np.nan  # a drizzled product's only non-finite value (its fill)


def _measured(clean, mask, positions, pscale, pars, photflam, photplam, exptime):
    sky, sky_std, sky_n = _sky(clean, positions, pscale, pars, mask)
    table = Table()
    for k in (1, 2):
        aperture = CircularAperture(positions, float(pars[f"aperture_{k}"]) / pscale)
        summed = aperture_photometry(clean, aperture, mask=mask)["aperture_sum"]
        area = aperture.area
        flux = np.asarray(summed, float) - sky * area
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = (np.clip(flux, 0, None) / max(exptime, 1e-9) + area * sky_std ** 2
                        + area ** 2 * sky_std ** 2 / np.where(sky_n > 0, sky_n, np.nan))
            error = np.sqrt(variance)
            table[f"FluxAp{k}"] = flux
            table[f"FluxErrAp{k}"] = error
            table[f"MagAp{k}"] = ab_mag(flux, photflam, photplam)
            table[f"MagErrAp{k}"] = np.where(flux > 0, _MAG_ERR * error / flux, np.nan)
    table["MSkyAp2"] = sky
    table["StdevAp2"] = sky_std
    # CI from the flux ratio: the same as MagAp1 - MagAp2, and still defined when the product has
    # no photometric calibration (HAP then writes -9999 for CI and flags every source)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray(table["FluxAp1"], float) / np.asarray(table["FluxAp2"], float)
        table["CI"] = np.where((table["FluxAp1"] > 0) & (table["FluxAp2"] > 0), -2.5 * np.log10(ratio), np.nan)
    if not photflam or photflam <= 0:
        log.warning("PHOTFLAM is %s: magnitudes are left empty (-9999); fluxes, their magnitude "
                    "errors and CI are kept", photflam)
        for name in ("MagAp1", "MagAp2"):
            table[name] = np.nan
    return table
