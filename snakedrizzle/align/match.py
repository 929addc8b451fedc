"""Matching and fitting against a reference catalog (SPEC §3 "Matching", "Fit"), by tweakwcs.

The reference tangent plane is TweakReg's: the undistorted frame of the reference image's chips
(stwcs ``output_wcs``), in its pixels, with the origin moved to its CRPIX so that the fitted shift
is the one TweakReg reports (about the reference CRPIX). Results are reported in TweakReg's
convention: image = A . reference + (xsh, ysh), rot and scale of A.
"""
import logging

import numpy as np
from astropy import wcs as pywcs
from astropy.table import Table
from stwcs.distortion import utils as stwcs_utils
from tweakwcs.correctors import FITSWCSCorrector
from tweakwcs.matchutils import XYXYMatch
from tweakwcs.wcsimage import RefCatalog, WCSGroupCatalog, WCSImageCatalog

log = logging.getLogger(__name__)
FITGEOMETRIES = ("shift", "rscale", "general")


def reference_frame(chip_wcs_list):
    """TweakReg's reference WCS: the undistorted TAN frame over the reference image's chips."""
    out = stwcs_utils.output_wcs(list(chip_wcs_list), undistort=True)
    frame = pywcs.WCS(naxis=2)
    frame.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    frame.wcs.crval, frame.wcs.crpix, frame.wcs.cd = out.wcs.crval, out.wcs.crpix, out.wcs.cd
    frame.pixel_shape = tuple(int(n) for n in out.pixel_shape)
    frame.wcs.set()
    return frame


def frame_pscale(frame):
    return float(np.sqrt(abs(np.linalg.det(frame.wcs.cd))) * 3600.0)


def tangent_plane(frame):
    """tweakwcs corrector whose tangent-plane coordinates are ``frame`` pixels counted from CRPIX."""
    tp = frame.deepcopy()
    tp.wcs.crpix = [1.0, 1.0]   # 0-based pixel (0, 0) is then CRVAL
    tp.wcs.set()
    return FITSWCSCorrector(tp)


def tweakreg_terms(matrix, shift, fitgeometry):
    """tweakwcs's ref = M . img + s as TweakReg reports it: img = A . ref + (xsh, ysh), A = M^-1;
    rot and scales of A in TweakReg's (IRAF geomap) sense, where a positive rot turns the image
    content clockwise relative to the reference."""
    a = np.linalg.inv(np.asarray(matrix, float))
    offset = -a @ np.asarray(shift, float)
    f = a.T   # TweakReg's fit matrix
    det = np.linalg.det(f)
    sdet = 1.0 if det >= 0 else -1.0
    if fitgeometry == "general":
        sx, sy = np.hypot(f[0, 0], f[1, 0]), np.hypot(f[0, 1], f[1, 1])
    else:
        sx = sy = np.sqrt(abs(det))
    w = f / np.array([[sx], [sy]])
    rot = np.rad2deg(np.arctan2(w[1, 0] - sdet * w[0, 1], w[0, 0] + sdet * w[1, 1])) % 360.0
    skew = 0.0
    if fitgeometry == "general":
        rotx = np.rad2deg(np.arctan2(-w[0, 1], w[0, 0])) % 360.0
        roty = np.rad2deg(np.arctan2(w[1, 0], w[1, 1])) % 360.0
        skew = float(roty - rotx)
    return {"xsh": float(offset[0]), "ysh": float(offset[1]), "rot": float(rot),
            "scale": float(np.sqrt(abs(det))), "scale_x": float(sx), "scale_y": float(sy), "skew": skew}


def _search_radius(pars, frame):
    if str(pars["searchunits"]).lower().startswith("arcsec"):
        return pars["searchrad"] / frame_pscale(frame)
    return float(pars["searchrad"])


def sources_in_footprint(chip_wcs_dict, ra, dec, margin=0.0):
    """How many of the (ra, dec) fall on any chip (linear WCS, ``margin`` pixels of slack)."""
    inside = np.zeros(len(ra), dtype=bool)
    for w in chip_wcs_dict.values():
        x, y = w.wcs_world2pix(ra, dec, 1)
        nx, ny = w.pixel_shape
        inside |= (x > 0.5 - margin) & (x < nx + 0.5 + margin) & (y > 0.5 - margin) & (y < ny + 0.5 + margin)
    return int(inside.sum())


def failed(image, status, nsources=0):
    return {"image": image, "status": status, "xsh": 0.0, "ysh": 0.0, "rot": 0.0, "scale": 1.0,
            "scale_x": 1.0, "scale_y": 1.0, "skew": 0.0, "xrms": np.nan, "yrms": np.nan,
            "rmse": np.nan, "mae": np.nan, "rms_ra": np.nan, "rms_dec": np.nan, "nmatch": 0,
            "nsources": int(nsources)}


def fit_exposure(image, chip_wcs_dict, catalogs, refcat, frame, pars):
    """Match the exposure's chip catalogs (1-based x, y) to ``refcat`` (RA, DEC columns) in the
    tangent plane of ``frame`` and fit ``pars['fitgeometry']``.

    Returns (result, aligned, residuals): the TweakReg-style numbers with 'status' ('SUCCESS' or
    'FAILED: why'), the aligned chip WCSs (None when the fit failed) and a table of the matched
    sources (reference, input and fitted positions in the reference frame) for plots.
    """
    nsources = sum(len(c) for c in catalogs.values())
    minobj = int(pars["minobj"])
    if refcat is None or len(refcat) == 0:
        why = (refcat.meta.get("problem") if refcat is not None else None) or "empty reference catalog"
        return failed(image, f"FAILED: {why}", nsources), None, None
    if nsources < minobj:
        return failed(image, f"FAILED: only {nsources} sources found (minobj={minobj})", nsources), None, None
    margin = _search_radius(pars, frame)
    if sources_in_footprint(chip_wcs_dict, np.asarray(refcat["RA"]), np.asarray(refcat["DEC"]), margin) == 0:
        return failed(image, "FAILED: no overlap with the reference catalog", nsources), None, None

    images = []
    for extver, w in chip_wcs_dict.items():
        cat = catalogs[extver]
        if len(cat) == 0:
            continue
        xy = Table({"id": np.asarray(cat["id"], int), "x": np.asarray(cat["x"], float) - 1.0,
                    "y": np.asarray(cat["y"], float) - 1.0})
        images.append(WCSImageCatalog(xy, FITSWCSCorrector(w.deepcopy()), name=f"{image}[SCI,{extver}]"))
    group = WCSGroupCatalog(images, name=image)
    ref = RefCatalog(Table({"RA": np.asarray(refcat["RA"], float), "DEC": np.asarray(refcat["DEC"], float)}),
                     name="reference")
    tp = tangent_plane(frame)
    match = XYXYMatch(searchrad=margin, separation=pars["separation"], use2dhist=pars["use2dhist"],
                      xoffset=pars["xoffset"], yoffset=pars["yoffset"], tolerance=pars["tolerance"])
    try:
        ok = group.align_to_ref(ref, ref_tpwcs=tp, match=match, minobj=minobj, fitgeom=pars["fitgeometry"],
                                nclip=pars["nclip"], sigma=(float(pars["sigma"]), "rmse"))
    except Exception as exc:  # tweakwcs raises plain exceptions for degenerate matches/fits
        return failed(image, f"FAILED: {type(exc).__name__}: {exc}", nsources), None, None
    info = images[0].fit_info
    if not ok or info.get("status") != "SUCCESS":
        status = info.get("status", "FAILED")
        nmatch = int(info.get("nmatches", 0) or 0)
        result = failed(image, f"{status} (minobj={minobj})", nsources)
        result["nmatch"] = nmatch
        return result, None, None
    residuals = _residuals(group, ref, info)
    result = {"image": image, "status": "SUCCESS", **tweakreg_terms(info["matrix"], info["shift"], pars["fitgeometry"]),
              "xrms": float(np.std(residuals["dx"])), "yrms": float(np.std(residuals["dy"])),
              "rmse": float(info["rmse"]), "mae": float(info["mae"]),
              "nmatch": int(info["nmatches"]), "nfit": int(len(residuals)), "nsources": int(nsources)}
    result.update(_sky_rms(tp, residuals))
    return result, {v: img.corrector.wcs for v, img in zip(chip_wcs_dict, images)}, residuals


def _residuals(group, ref, info):
    """Matched sources used in the fit, in reference-frame pixels from CRPIX: reference position,
    input position (original WCS) and input position after the fit; dx, dy = reference - fit."""
    sel = np.asarray(info["fitmask"], bool)
    iidx = np.asarray(info["matched_input_idx"])[sel]
    ridx = np.asarray(info["matched_ref_idx"])[sel]
    gcat, rcat = group.catalog, ref.catalog
    img = np.column_stack([np.asarray(gcat["TPx"])[iidx], np.asarray(gcat["TPy"])[iidx]])
    refxy = np.column_stack([np.asarray(rcat["TPx"])[ridx], np.asarray(rcat["TPy"])[ridx]])
    fit = img @ np.asarray(info["matrix"]).T + np.asarray(info["shift"])
    return Table({"ref_x": refxy[:, 0], "ref_y": refxy[:, 1], "input_x": img[:, 0], "input_y": img[:, 1],
                  "fit_x": fit[:, 0], "fit_y": fit[:, 1], "dx": refxy[:, 0] - fit[:, 0],
                  "dy": refxy[:, 1] - fit[:, 1], "ref_id": ridx, "input_id": iidx})


def _sky_rms(tp, residuals):
    """RMS_RA/RMS_DEC (degrees) of the fit residuals, as TweakReg writes them into headers."""
    ra_r, dec_r = tp.tanp_to_world(np.asarray(residuals["ref_x"]), np.asarray(residuals["ref_y"]))
    ra_f, dec_f = tp.tanp_to_world(np.asarray(residuals["fit_x"]), np.asarray(residuals["fit_y"]))
    dra = (np.asarray(ra_f) - np.asarray(ra_r)) * np.cos(np.deg2rad(np.asarray(dec_r)))
    return {"rms_ra": float(np.std(dra)), "rms_dec": float(np.std(np.asarray(dec_f) - np.asarray(dec_r)))}
