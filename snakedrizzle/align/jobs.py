"""File-level alignment steps: what each rule of rules/align.smk (and TweakReg()) runs.

Inputs are only read; every output is written atomically. Problems with one exposure or with the
reference never stop the run: the exposure keeps its WCS, its fit status says why, and a warning
names it (SPEC §3, issue 4 point 5)."""
import logging
import os

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits
from astropy.table import Table

from ..errors import InputError
from ..io.fitsio import read_json, write_hdulist, write_json
from ..params import REF_PREFIX, findpars
from ..wcs import chip_wcs, frame_to_header
from . import catalogs, headerlet, plots, refcat, shifts
from .match import fit_exposure, reference_frame

log = logging.getLogger(__name__)


def catalog_job(exposure_path, extver, out_ecsv, out_coo, out_reg, pars):
    table = catalogs.chip_catalog(exposure_path, int(extver), findpars(pars))
    catalogs.write_ecsv(table, out_ecsv)
    catalogs.write_coo(table, out_coo, os.path.basename(exposure_path))
    catalogs.write_regions(table, out_reg)
    return table


def _reference(first_exposure, first_catalogs, pars):
    """(table, frame, description) of the reference chosen by refcat/refimage/first image."""
    if pars.get("refimage"):
        table, frame = refcat.from_image(pars["refimage"], findpars(pars, REF_PREFIX))
        return table, frame, f"refimage {pars['refimage']}"
    with fits.open(first_exposure, memmap=True) as hdul:
        extvers = [h.ver for h in hdul if h.name.upper() == "SCI"]
    frame = reference_frame([chip_wcs(first_exposure, v) for v in extvers])
    if pars.get("refcat"):
        return refcat.read_user_catalog(pars["refcat"], pars), frame, f"refcat {pars['refcat']}"
    tables = [catalogs.read_catalog(p) for p in first_catalogs]
    return refcat.from_exposure_catalogs(tables), frame, f"first image {os.path.basename(first_exposure)}"


def refcat_job(first_exposure, first_catalogs, out_ecsv, out_wcs, pars):
    """The reference catalog (RA, DEC) and TweakReg's reference frame (``outwcs``). An unusable
    reference catalog gives an empty table whose ``problem`` every fit reports."""
    problem = ""
    try:
        table, frame, what = _reference(first_exposure, first_catalogs, pars)
    except InputError as exc:
        log.warning("alignment reference unusable, no exposure will be aligned: %s", exc)
        problem, what = str(exc), "unusable"
        table = Table({"RA": np.zeros(0), "DEC": np.zeros(0)})
        frame = reference_frame([chip_wcs(first_exposure, 1)])
    table.meta.update({"reference": what, "problem": problem})
    catalogs.write_ecsv(table, out_ecsv)
    write_hdulist(fits.HDUList([fits.PrimaryHDU(header=frame_to_header(frame))]), out_wcs)
    log.info("reference: %s, %d sources", what, len(table))
    return table


def read_frame(path):
    hdr = fits.getheader(path)
    frame = pywcs.WCS(hdr, naxis=2)
    frame.pixel_shape = (int(hdr["FRAMENX"]), int(hdr["FRAMENY"]))
    return frame


def _reference_result(image, nsources):
    return {"image": image, "status": "REFERENCE", "xsh": 0.0, "ysh": 0.0, "rot": 0.0, "scale": 1.0,
            "skew": 0.0, "xrms": 0.0, "yrms": 0.0, "rmse": 0.0, "mae": 0.0, "rms_ra": 0.0,
            "rms_dec": 0.0, "nmatch": 0, "nsources": int(nsources)}


def fit_job(exposure_path, rootname, catalog_paths, refcat_path, refwcs_path, out_hlet, out_json,
            out_match, pars, is_reference=False):
    """Fit one exposure to the reference; write its headerlet (always), fit result and matches."""
    tables = [catalogs.read_catalog(p) for p in catalog_paths]
    cats = {int(t.meta["extver"]): t for t in tables}
    wcs_dict = {v: chip_wcs(exposure_path, v) for v in sorted(cats)}
    image = os.path.basename(exposure_path)
    nsources = sum(len(t) for t in tables)
    residuals = None
    if is_reference:
        result, aligned = _reference_result(image, nsources), wcs_dict
    else:
        ref = catalogs.read_catalog(refcat_path)
        result, aligned, residuals = fit_exposure(image, wcs_dict, cats, ref, read_frame(refwcs_path), pars)
        if aligned is None:
            log.warning("%s: not aligned, keeps its WCS: %s", exposure_path, result["status"])
    result.update({"rootname": rootname, "fitgeometry": pars["fitgeometry"], "wcsname": pars["wcsname"]})
    headerlet.write_headerlet(exposure_path, out_hlet, aligned, pars["wcsname"], result, rootname,
                              catalog=os.path.basename(refcat_path or ""))
    if residuals is None:
        residuals = Table({c: np.zeros(0) for c in ("ref_x", "ref_y", "input_x", "input_y", "fit_x", "fit_y",
                                                   "dx", "dy", "ref_id", "input_id")})
    residuals.meta.update({k: v for k, v in result.items() if np.isscalar(v)})
    catalogs.write_ecsv(residuals, out_match)
    write_json(out_json, result)
    return result


def shifts_job(fit_jsons, match_paths, out_ecsv, out_txt, out_resid_png, out_vector_png, refwcs_path, pars):
    """Gather the fits: the shifts table (ECSV + TweakReg shiftfile) and the plots."""
    results = [read_json(p) for p in fit_jsons]
    fitgeometry = results[0].get("fitgeometry", "") if results else ""
    table = shifts.shifts_table(results, reference=os.path.basename(refwcs_path), fitgeometry=fitgeometry)
    catalogs.write_ecsv(table, out_ecsv)
    shifts.write_shiftfile(table, out_txt, os.path.basename(refwcs_path))
    items = [(r["image"], catalogs.read_catalog(m)) for r, m in zip(results, match_paths)]
    plots.residual_plot(items, out_resid_png, pars["labelsize"])
    plots.vector_plot(items, out_vector_png, pars["labelsize"])
    return table
