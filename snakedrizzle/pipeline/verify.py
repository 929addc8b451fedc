"""Verification of one runastrodriz cascade stage (SPEC-HAP H9 ``verify_alignment``): is the
stage's drizzled product consistent with its exposures drizzled one by one?

Inputs, as the workflow makes them: the stage's product ``results/<name>/<name>_drz.fits`` (SCI
extension with the WCS) and per exposure ``results/<name>/<root>_single_sci.fits`` (with
``_single_wht.fits`` beside it) on the separate-drizzle frame, possibly a window of it. Every
exposure is placed on the product's grid through the two WCSs (nearest neighbour), so the two
frames need not be the same.
"""
import os

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits
from scipy import ndimage

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import write_json
from snakedrizzle.pipeline import verify_metrics as vm

OVERLAP_LIMIT = 1.0          # largest overlap distance of a verified stage
SIMILARITY_LIMIT = 1.0       # largest similarity index against the previous stage's product
FAILED_QUALITY = 3           # added once for an overlap/focus failure, once for a similarity one
BROAD_PSF_DETECTORS = {"WFC3/IR", "ACS/SBC"}   # focus LoG sigma 2.0 px; 1.5 px elsewhere


def verify_stage(product, singles, detector, reference=None, *, num_matches=None,
                 fraction_matched=None):
    """Verify a cascade stage's drizzle product against its separately drizzled exposures.

    ``product``: the stage's drizzle product; ``singles``: the ``_single_sci`` files, one per
    exposure; ``detector``: e.g. 'ACS/WFC', 'WFC3/IR' (sets the focus filter width);
    ``reference``: the previous stage's product, for the similarity index;
    ``num_matches``/``fraction_matched``: the stage's fit statistics (a posteriori stage), which
    make the focus test count when the fit is borderline (< 10 matches or < 10 % matched).

    Returns ``{"verified", "quality", "metrics", "reason"}``. Quality is 0 when verified, 3 when
    the overlap (or a required focus) test fails, and 3 more when the similarity index against
    ``reference`` exceeds 1. A similarity failure also unverifies the stage: DrizzlePac only
    raises the quality then and keeps the alignment (SPEC-HAP H12.11); here the stage is
    reverted like any other failure. Two more departures from H9, both measured in the tests:
    the overlap distance is the Hamming distance alone (see overlap_metrics), and an exposure
    covers the pixels where its weight is > 0, not where its sky-subtracted SCI is > 0 (which
    drops half the pixels to noise and leaves the eroded focus region to bright-star halos).
    """
    singles = [os.fspath(s) for s in singles]
    if len(singles) == 1:
        return {"verified": True, "quality": 0, "metrics": {"exposures": {}},
                "reason": "one exposure: nothing to verify"}
    if not singles:
        raise InputError(os.fspath(product), "no separately drizzled exposures to verify against")
    prod, prod_wcs = read_product(product)
    placed = [place_single(path, prod_wcs, prod.shape) for path in singles]
    sigma = 2.0 if detector.strip().upper() in BROAD_PSF_DETECTORS else 1.5
    metrics = {"detector": detector, "focus_sigma": sigma,
               "exposures": overlap_metrics(placed, prod),
               "focus": focus_metrics(placed, prod, sigma)}
    if reference is not None:
        ref = reference_on_grid(reference, prod_wcs, prod.shape)
        metrics["similarity"] = vm.similarity_index(prod, ref)
    return decide(metrics, num_matches, fraction_matched, reference)


def verify_stage_files(product, singles, detector, out_json, reference=None, *, num_matches=None,
                       fraction_matched=None):
    """verify_stage, its result written as JSON to ``out_json`` (atomically; non-finite numbers
    as null) and returned."""
    result = verify_stage(product, singles, detector, reference, num_matches=num_matches,
                          fraction_matched=fraction_matched)
    write_json(out_json, _finite_or_none(result))
    return result


# ---- inputs -------------------------------------------------------------------------------------

def read_product(path):
    """(SCI array, WCS) of a drizzle product; the SCI extension, else the primary image."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "drizzle product not found")
    with fits.open(path) as hdul:
        hdu = hdul["SCI"] if "SCI" in hdul else hdul[0]
        if hdu.data is None or hdu.data.ndim != 2:
            raise InputError(path, "no 2-D SCI image in the drizzle product")
        data = hdu.data.astype(np.float64)
        wcs = pywcs.WCS(hdu.header, naxis=2, relax=True)
    if not np.isfinite(data).any() or not np.any(np.nan_to_num(data)):
        raise InputError(path, "the drizzle product holds no data (all NaN or zero)")
    return data, wcs


def place_single(path, prod_wcs, prod_shape):
    """A ``_single_sci`` file placed on the product grid (vm.Placed). Covered pixels are those
    with weight > 0 in the ``_single_wht`` beside it (else the non-zero finite ones)."""
    if not os.path.exists(path):
        raise InputError(path, "separately drizzled exposure not found")
    with fits.open(path) as hdul:
        hdr = hdul[0].header
        sci = hdul[0].data
        if sci is None or sci.ndim != 2:
            raise InputError(path, "no 2-D image in the separately drizzled exposure")
        sci = sci.astype(np.float64)
    valid = np.isfinite(sci)
    wht_path = path.replace("_single_sci", "_single_wht")
    if wht_path != path and os.path.exists(wht_path):
        valid &= fits.getdata(wht_path) > 0
    else:
        valid &= sci != 0
    if not valid.any():
        raise InputError(path, "the separately drizzled exposure holds no data (all NaN or no weight)")
    src_wcs = pywcs.WCS(hdr, naxis=2, relax=True)
    box = vm.footprint_box(src_wcs, sci.shape, prod_wcs, prod_shape)
    if box is not None:
        sci_p, mask_p = vm.resample_nearest(sci, valid, src_wcs, prod_wcs, box)
    if box is None or not mask_p.any():
        raise InputError(path, "the exposure does not overlap the drizzle product")
    return vm.Placed(_exposure_name(path, hdr), float(hdr.get("EXPTIME", 1.0)), box[0], box[1], sci_p, mask_p)


def reference_on_grid(path, prod_wcs, prod_shape):
    """The previous stage's product resampled onto this product's grid (0 where it has none)."""
    ref, ref_wcs = read_product(path)
    box = vm.footprint_box(ref_wcs, ref.shape, prod_wcs, prod_shape)
    out = np.zeros(prod_shape)
    if box is None:
        raise InputError(os.fspath(path), "the reference product does not overlap the product")
    out[box], _ = vm.resample_nearest(ref, np.isfinite(ref), ref_wcs, prod_wcs, box)
    return out


def _exposure_name(path, hdr):
    """The exposure's rootname: from the file name (``<root>_single_sci.fits``), else ROOTNAME
    (DrizzlePac's own single images carry the file name there)."""
    base = os.path.basename(path)
    if "_single_sci" in base:
        return base.split("_single_sci")[0]
    return str(hdr.get("ROOTNAME") or os.path.splitext(base)[0]).strip()


# ---- measures ----------------------------------------------------------------------------------

def overlap_metrics(placed, prod):
    """Per exposure: the overlap distance from the product in the region where the most exposures
    overlap (else where it overlaps at least one other).

    The distance is the Hamming distance of the source-core maps. H9 takes min(Hamming,
    2 x similarity index), and the similarity index only compares total fluxes, so an exposure
    misregistered by arcseconds passes whenever the product keeps its flux (measured on a
    synthetic field: Hamming 2.0, 2 x similarity 0.09). H9's value is kept as ``h9_distance``."""
    coverage = np.zeros(prod.shape, dtype=np.int16)
    for p in placed:
        coverage[p.rows, p.cols] += p.mask
    most, several = coverage == coverage.max(), coverage > 1
    max_exptime = max(p.exptime for p in placed) or 1.0
    out = {}
    for p in placed:
        mask = p.full(prod.shape, "mask")
        region = mask & most
        if not region.any():
            region = mask & several
        if not region.any():
            out[p.name] = {"distance": None, "note": "overlaps no other exposure"}
            continue
        m = vm.overlap_distance(p.full(prod.shape), prod, region, p.exptime / max_exptime)
        m["distance"] = m["hamming"]
        m["h9_distance"] = min(m["hamming"], 2.0 * m["similarity"])
        out[p.name] = m
    return out


def focus_metrics(placed, prod, sigma):
    """Focus index of every exposure and of the product inside the region all exposures cover,
    eroded by 8 px (edges and chip gaps make spurious LoG peaks), and the window of H9."""
    common = np.ones(prod.shape, dtype=bool)
    for p in placed:
        common &= ndimage.binary_erosion(p.full(prod.shape, "mask"), iterations=vm.FOCUS_EROSION)
    if not common.any():
        return {"note": "no region common to all exposures after erosion"}
    exposures = {p.name: vm.masked_focus(p.full(prod.shape), common, sigma)[0] for p in placed}
    value, pos = vm.masked_focus(np.nan_to_num(prod, nan=0.0), common, sigma)
    window = vm.focus_window(list(exposures.values()))
    return {"exposures": exposures, "product": value, "product_pos": pos, **window,
            "ok": vm.focus_ok(value, window)}


# ---- decision ----------------------------------------------------------------------------------

def decide(metrics, num_matches, fraction_matched, reference):
    """verified/quality/reason from the measures (the rules of SPEC-HAP H9, H12.11 fixed)."""
    measured = {k: v["distance"] for k, v in metrics["exposures"].items() if v["distance"] is not None}
    if not measured:
        return {"verified": True, "quality": 0, "metrics": metrics,
                "reason": "no two exposures overlap: nothing to verify"}
    worst = max(measured, key=measured.get)
    metrics["max_distance"] = measured[worst]
    failures = []
    if measured[worst] > OVERLAP_LIMIT:
        failures.append(f"overlap difference {measured[worst]:.3g} > {OVERLAP_LIMIT:g} for {worst}")
    focus = metrics["focus"]
    borderline = (fraction_matched is not None and fraction_matched < 0.1) or \
                 (num_matches is not None and 0 <= num_matches < 10)
    focus["required"] = bool(borderline)
    if borderline and not focus.get("ok", True):
        failures.append(f"product focus {focus['product']:.3g} outside the exposures' "
                        f"[{focus['low']:.3g}, {focus['high']:.3g}] (std {focus['std']:.3g}, "
                        f"fit: {num_matches} matches)")
    quality = FAILED_QUALITY if failures else 0
    similarity = metrics.get("similarity")
    if similarity is not None and similarity > SIMILARITY_LIMIT:
        quality += FAILED_QUALITY
        failures.append(f"similarity {similarity:.3g} > {SIMILARITY_LIMIT:g} against "
                        f"{os.path.basename(os.fspath(reference))}")
    if failures:
        return {"verified": False, "quality": quality, "metrics": metrics, "reason": "; ".join(failures)}
    reason = f"overlap difference {measured[worst]:.3g} <= {OVERLAP_LIMIT:g} (largest: {worst})"
    if similarity is not None:
        reason += f", similarity {similarity:.3g} <= {SIMILARITY_LIMIT:g}"
    return {"verified": True, "quality": 0, "metrics": metrics, "reason": reason}


def _finite_or_none(value):
    """JSON without Infinity/NaN: non-finite numbers become null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value
