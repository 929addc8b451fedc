"""File-level alignment steps: what each rule of rules/align.smk (and TweakReg()) runs.

Inputs are only read; every output is written atomically. Problems with one exposure or with the
reference never stop the run: the exposure keeps its WCS, its fit status says why, and a warning
names it (SPEC §3, issue 4 point 5)."""
import logging
import os

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits
from astropy.table import Table, vstack

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import atomic_path, read_json, write_hdulist, write_json
from snakedrizzle.workflow.params import REF_PREFIX, findpars
from snakedrizzle.wcs import chip_wcs, frame_to_header
from snakedrizzle.align import catalogs, headerlet, plots, refcat, shifts
from snakedrizzle.align.match import fit_exposure, reference_frame

log = logging.getLogger(__name__)


def catalog_job(exposure_path, extver, out_ecsv, out_coo, out_reg, pars, usercat=None, region=None):
    """One chip's source catalog: found on the chip, or read from ``usercat`` (catfile); sources
    only where ``region`` (exclusions: DS9 regions or a FITS mask) allows."""
    table = catalogs.chip_catalog(exposure_path, int(extver), {**pars, **findpars(pars)}, usercat, region)
    catalogs.write_ecsv(table, out_ecsv)
    catalogs.write_coo(table, out_coo, os.path.basename(exposure_path))
    catalogs.write_regions(table, out_reg)
    return table


def _reference(first_exposure, first_catalogs, pars):
    """(table, frame, description) of the reference: ``refcat`` placed in the frame of
    ``refimage`` (else of the first exposure), else the sources of ``refimage``, else those of the
    first exposure."""
    if pars.get("refimage") and not pars.get("refcat"):
        table, frame = refcat.from_image(pars["refimage"], findpars(pars, REF_PREFIX))
        return table, frame, f"refimage {pars['refimage']}"
    frame = refcat.image_frame(pars["refimage"]) if pars.get("refimage") else exposure_frame(first_exposure)
    if pars.get("refcat"):
        return refcat.read_user_catalog(pars["refcat"], pars, frame), frame, f"refcat {pars['refcat']}"
    tables = [catalogs.read_catalog(p) for p in first_catalogs]
    return refcat.from_exposure_catalogs(tables), frame, f"first image {os.path.basename(first_exposure)}"


def exposure_frame(path):
    """TweakReg's reference frame of an exposure: the undistorted frame over its chips."""
    with fits.open(path, memmap=True) as hdul:
        extvers = headerlet.sci_extvers(hdul)
    return reference_frame([chip_wcs(path, v) for v in extvers])


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
    if not pars.get("reusename") and pars["wcsname"] in headerlet.existing_wcsnames(exposure_path):
        raise InputError(exposure_path, f"already has a WCS named {pars['wcsname']!r}: choose another wcsname "
                         "or set reusename=true")
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
    meta = {k: pars.get(k) for k in ("hdrname", "author", "descrip", "catalog", "history")}
    headerlet.write_headerlet(exposure_path, out_hlet, aligned, pars["wcsname"], result, rootname,
                              catalog=os.path.basename(refcat_path or ""), meta=meta)
    if residuals is None:
        residuals = Table({c: np.zeros(0) for c in ("ref_x", "ref_y", "input_x", "input_y", "fit_x", "fit_y",
                                                   "dx", "dy", "ref_id", "input_id")})
    residuals.meta.update({k: v for k, v in result.items() if np.isscalar(v)})
    catalogs.write_ecsv(residuals, out_match)
    write_json(out_json, result)
    return result


def expand_job(previous_path, exposure_path, catalog_paths, hlet_path, refwcs_path, out_path, pars):
    """``expand_refcat``: the reference catalog grown by this exposure's sources (placed with its
    aligned WCS) that match no reference source within ``tolerance`` reference-frame pixels. An
    exposure that was not aligned adds nothing."""
    previous = catalogs.read_catalog(previous_path)
    status = headerlet.headerlet_status(hlet_path)
    added = Table({"RA": np.zeros(0), "DEC": np.zeros(0), "flux": np.zeros(0)})
    if status in ("SUCCESS", "REFERENCE"):
        sky = [_aligned_sky(exposure_path, catalogs.read_catalog(p), hlet_path) for p in catalog_paths]
        added = refcat.unmatched(vstack(sky), previous, read_frame(refwcs_path), float(pars["tolerance"]))
    grown = vstack([previous, added], metadata_conflicts="silent") if len(added) else previous
    grown.meta.update({"added_by": os.path.basename(exposure_path), "n_added": int(len(added))})
    catalogs.write_ecsv(grown, out_path)
    log.info("%s: %d sources added to the reference catalog (%d now)", exposure_path, len(added), len(grown))
    return grown


def _aligned_sky(exposure_path, table, hlet_path):
    w = headerlet.aligned_chip_wcs(exposure_path, int(table.meta["extver"]), hlet_path)
    ra, dec = w.all_pix2world(np.asarray(table["x"], float), np.asarray(table["y"], float), 1)
    return Table({"RA": ra, "DEC": dec, "flux": np.asarray(table["flux"], float)})


def write_sky_coo(catalog_path, out_path):
    """TweakReg's ``cumulative_sky_refcat_<name>.coo``: RA Dec (degrees) of the grown catalog."""
    table = catalogs.read_catalog(catalog_path)
    with atomic_path(out_path) as tmp, open(tmp, "w") as f:
        f.write("# RA  Dec (degrees): reference catalog grown with expand_refcat\n")
        for ra, dec in zip(table["RA"], table["DEC"]):
            f.write(f"{ra:.10f}  {dec:.10f}\n")
    return out_path


def shifts_job(fit_jsons, match_paths, out_ecsv, out_txt, out_resid_png, out_vector_png, refwcs_path, pars):
    """Gather the fits: the shifts table (ECSV + TweakReg shiftfile) and the plots."""
    results = [read_json(p) for p in fit_jsons]
    fitgeometry = results[0].get("fitgeometry", "") if results else ""
    table = shifts.shifts_table(results, reference=os.path.basename(refwcs_path), fitgeometry=fitgeometry)
    catalogs.write_ecsv(table, out_ecsv)
    shifts.write_shiftfile(table, out_txt, os.path.basename(refwcs_path))
    items = [(r["image"], catalogs.read_catalog(m)) for r, m in zip(results, match_paths)]
    residplot = pars.get("residplot", "both")
    if residplot in ("both", "residuals"):
        plots.residual_plot(items, out_resid_png, pars["labelsize"], pars.get("ylimit"))
    else:
        plots.not_drawn(out_resid_png, residplot)
    if residplot in ("both", "vector"):
        plots.vector_plot(items, out_vector_png, pars["labelsize"])
    else:
        plots.not_drawn(out_vector_png, residplot)
    return table
