"""Flag bit 4 of the filter catalogs (SPEC-HAP H7.7): sources near a saturated input pixel.

Every pixel whose DQ has the full-well saturation bit (256; WFPC2: 8) in any chip of the filter
product's input exposures is carried to the sky through that chip's aligned WCS (distortion
included) and on to product pixels; a source within ``round(aperture_2/pscale + 0.5) * 2`` pixels
of one is saturated. WFC3/IR gets no bit 4 (HAP skips IR; ACS/SBC it does read, and so here).

Unlike HAP, positions are 0-based on both sides: HAP passes 0-based array indices to a 1-based
transform and compares its 1-based result with 0-based catalog positions, which cancels only
when the exposure and the product share an orientation."""
import logging
import os

import numpy as np
from astropy.io import fits
from scipy.spatial import cKDTree

from snakedrizzle.errors import InputError

__all__ = ["saturation_bit", "saturation_radius", "saturated_positions", "near_saturation",
           "pair_headerlets", "saturated_sources"]

log = logging.getLogger("snakedrizzle")

# DQ rows read at a time: the flagged pixels are found block by block, never a whole-chip mask.
_ROW_BLOCK = 256


def saturation_bit(instrument, detector):
    """The DQ bit HAP reads as saturation for a detector, or None when it sets no bit 4 (IR)."""
    if str(detector).lower() == "ir":
        return None
    return 8 if str(instrument).lower() == "wfpc2" else 256


def saturation_radius(aperture_2, pscale):
    """HAP's match radius in product pixels, ``round(aperture_2/pscale + 0.5) * 2`` (Python's
    round: halves go to even). The ratio is an integer for HAP's own scales (0.125"/0.025",
    0.15"/0.05"), which puts HAP's result on a knife edge: the last bit of the product's CD decides
    between 10 and 12 px (HRC) or 6 and 8 px (WFC, UVIS). Here the ratio is first rounded to
    1e-6, so the radius is 12 px for HRC and 8 px for WFC and UVIS whatever that bit is."""
    return round(round(float(aperture_2) / float(pscale), 6) + 0.5) * 2.0


def _flagged_pixels(dq_hdu, bit):
    """(x, y) 0-based of the chip's pixels with ``bit`` set, read in row blocks (memory-mapped)."""
    data = dq_hdu.data
    if data is None:  # a constant DQ (no pixel array): nothing flagged pixel by pixel
        return np.zeros(0, int), np.zeros(0, int)
    xs, ys = [], []
    for start in range(0, data.shape[0], _ROW_BLOCK):
        rows, cols = np.nonzero(np.asarray(data[start:start + _ROW_BLOCK]) & bit)
        ys.append(rows + start)
        xs.append(cols)
    return np.concatenate(xs), np.concatenate(ys)


def _chip_positions(path, headerlet, bit, product_wcs):
    """Product (x, y) of ``path``'s flagged pixels, every SCI chip with a DQ of the same EXTVER."""
    from snakedrizzle.wcs import chip_wcs

    found = []
    try:
        with fits.open(path, memmap=True) as hdul:
            chips = [(h.ver, hdul["DQ", h.ver]) for h in hdul if h.name.upper() == "SCI" and ("DQ", h.ver) in hdul]
            if not chips:
                log.warning("%s: no DQ extension, no saturation flags from it", path)
            for extver, dq_hdu in chips:
                x, y = _flagged_pixels(dq_hdu, bit)
                if len(x):
                    found.append((extver, x, y))
    except OSError as exc:
        raise InputError(path, f"cannot read the exposure's DQ ({exc})") from None
    positions = []
    for extver, x, y in found:
        wcs = chip_wcs(path, extver, headerlet=headerlet)
        ra, dec = wcs.all_pix2world(x.astype(float), y.astype(float), 0)
        px, py = product_wcs.all_world2pix(ra, dec, 0)
        positions.append(np.column_stack([px, py]))
    return positions


def saturated_positions(exposures, headerlets, product_wcs, bit=256):
    """Product pixel (x, y), 0-based, of every input pixel with DQ ``bit``: an (N, 2) array.
    ``headerlets``: each exposure's aligned-WCS headerlet (None or a missing file: the
    exposure's own WCS)."""
    headerlets = list(headerlets) if headerlets is not None else []
    headerlets += [None] * (len(exposures) - len(headerlets))
    positions = []
    for path, hlet in zip(exposures, headerlets):
        hlet = hlet if hlet and os.path.exists(hlet) else None
        positions += _chip_positions(path, hlet, bit, product_wcs)
    return np.concatenate(positions) if positions else np.zeros((0, 2))


def near_saturation(x, y, positions, radius):
    """True for each source within ``radius`` (inclusive, as HAP's match) of a saturated position."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    near = np.zeros(len(x), bool)
    good = np.isfinite(x) & np.isfinite(y)
    if not len(positions) or not good.any():
        return near
    tree = cKDTree(positions)
    # cKDTree's bound is strict; the next float above the radius makes it inclusive
    distance, _ = tree.query(np.column_stack([x[good], y[good]]), k=1,
                             distance_upper_bound=np.nextafter(radius, np.inf))
    near[good] = np.isfinite(distance)
    return near


def pair_headerlets(exposures, headerlets):
    """Each exposure's headerlet (``<root>_hlet.fits``) from an unordered list, or None."""
    from snakedrizzle.io.exposure import rootname_of

    by_root = {os.path.basename(str(h)).rsplit("_hlet", 1)[0]: str(h) for h in headerlets or ()}
    return [by_root.get(rootname_of(p)[0]) for p in exposures]


def saturated_sources(image, x, y, aperture_2, exposures, headerlets=()):
    """Bit-4 mask of sources at 0-based ``x, y`` of ``image`` (a CatalogImage) from its input
    ``exposures``; all False without exposures or for IR."""
    bit = saturation_bit(image.instrument, image.detector)
    if bit is None or not exposures or not len(x):
        return np.zeros(len(x), bool)
    positions = saturated_positions(list(exposures), pair_headerlets(exposures, headerlets), image.wcs, bit)
    radius = saturation_radius(aperture_2, image.pscale)
    near = near_saturation(x, y, positions, radius)
    log.info("%s: %d saturated input pixels, %d of %d sources within %.0f px (flag 4)",
             os.path.basename(image.path), len(positions), near.sum(), len(near), radius)
    return near
