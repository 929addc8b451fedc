"""File-level stages of runastrodriz (the rules of ``rules/pipeline.smk`` call these). Inputs are
only read; every output is written atomically."""
import logging
import os
import shutil

import numpy as np
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.align.headerlet import headerlet_wcs_cards
from snakedrizzle.errors import InputError
from snakedrizzle.hap.align.stages import PIPELINE_LABELS, fit_row, fit_stage
from snakedrizzle.io.fitsio import atomic_path, read_json, write_hdulist, write_json
from snakedrizzle.pipeline import cascade
from snakedrizzle.pipeline import solutions as S
from snakedrizzle.pipeline.wcsnames import wcstype

log = logging.getLogger("snakedrizzle")


def _write_json(data, out):
    return write_json(out, data)


def _read_json(path):
    try:
        return read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read ({exc})") from None


def stage_wcs_stage(exposure, stage, wcsname, out):
    """The headerlet of the default or a priori stage: the exposure's carried WCS ``wcsname``."""
    found = [s for s in S.solutions(exposure) if s.wcsname == wcsname]
    if not found:
        raise InputError(exposure, f"carries no WCS named {wcsname!r} (the {stage} stage needs it)")
    S.write_stage_headerlet(exposure, found[0], out, stage)


def solution_from_headerlet(path):
    """A stage headerlet read back as a :class:`~snakedrizzle.pipeline.solutions.Solution`."""
    chips, name = {}, ""
    with fits.open(path) as hlet:
        name = str(hlet[0].header.get("WCSNAME", ""))
        for ext in hlet:
            if ext.name.upper() == "SIPWCS":
                v = int(ext.header.get("TG_EVER", ext.ver))
                chips[v] = fits.Header(headerlet_wcs_cards(path, v)[0])
    if not chips:
        raise InputError(path, "no SIPWCS extension: not a headerlet")
    return S.Solution(name, f"headerlet {os.path.basename(path)}", chips)


def _fitted(start, row, solutions):
    """The start solution with the fit's CRVAL/CD per chip (the fit moves only the linear part:
    CRPIX and SIP stay the start's)."""
    sel = solutions[np.asarray(solutions["rootname"]).astype(str) == str(row["rootname"])]
    chips = {v: h.copy() for v, h in start.chips.items()}
    for r in sel:
        hdr = chips[int(r["extver"])]
        hdr["CRVAL1"], hdr["CRVAL2"] = float(r["crval1"]), float(r["crval2"])
        for key in ("cd1_1", "cd1_2", "cd2_1", "cd2_2"):
            hdr[key.upper()] = float(r[key])
        hdr["WCSNAME"] = str(row["wcsname"])
    return S.Solution(str(row["wcsname"]), "a posteriori fit", chips)


def aposteriori_headerlet_stage(exposure, start_headerlet, fit_table, wcs_table, out):
    """The a posteriori headerlet of one exposure: the fitted WCS (``…-FIT_REL_<cat>`` or
    ``…-FIT_IMG_<cat>``), or, when the fit failed, the start WCS unchanged (the stage is then
    rejected by the cascade anyway)."""
    _, table, row = fit_row(fit_table, exposure)
    start = solution_from_headerlet(start_headerlet)
    chosen = _fitted(start, row, Table.read(wcs_table, format="ascii.ecsv")) if row["aligned"] else start
    fit = {"status": "SUCCESS" if row["aligned"] else f"FAILED: {row['reason']}",
           "nmatch": int(row["nmatch"]), "quality": int(row["quality"]), "method": str(row["method"]),
           "catalog": table.meta.get("catalog", "")}
    for key, column in (("fit_rms", "fit_rms_mas"), ("rms_ra", "rms_ra_mas"), ("rms_dec", "rms_dec_mas")):
        if np.isfinite(float(row[column])):   # a failed fit has none (FITS cannot hold NaN)
            fit[key] = float(row[column])
    S.write_stage_headerlet(exposure, chosen, out, "aposteriori", fit=fit)


def fit_start(stages, apriori_verdict=None):
    """The stage whose WCS the a posteriori fit starts from: a priori when it was tried and
    verified, else the default (H9: a failed a priori stage is reverted first)."""
    if "apriori" in stages and (apriori_verdict is None or _read_json(apriori_verdict).get("verified", True)):
        return "apriori"
    return "default"


def pipeline_fit_stage(exposures, source_files, refcat_file, start_files, stages, apriori_verdict,
                       out_table, out_wcs, pars, catalog_name):
    """The a posteriori fit (relative, then image by image; WCSNAMEs ``…-FIT_REL_<cat>`` /
    ``…-FIT_IMG_<cat>``) from the a priori WCS when that stage was verified, else the default.
    ``start_files``: the default stage's headerlets, then the a priori stage's if it ran;
    ``refcat_file``/``catalog_name``: one catalog or lists of them (H6.6's pipeline loop: every
    method against every catalog, the best fit kept; hap.align.search)."""
    stage = fit_start(stages, apriori_verdict)
    n = len(exposures)
    start = start_files[n:2 * n] if stage == "apriori" else start_files[:n]
    log.info("a posteriori fit starts from the %s WCS", stage)
    fit_stage(exposures, source_files, refcat_file, out_table, out_wcs, pars, catalog_name,
              headerlets=start, label=PIPELINE_LABELS, meta={"start_stage": stage}, search="pipeline")


def start_headerlet(start_files, fit_table, root):
    """The headerlet exposure ``root``'s fit started from (the fit table's ``start_stage``)."""
    stage = Table.read(fit_table, format="ascii.ecsv").meta.get("start_stage", "default")
    wanted = os.path.join(stage, f"{root}_hlet.fits")
    for path in start_files:
        if path.endswith(os.sep + wanted):
            return path
    raise InputError(fit_table, f"no {stage} headerlet of {root} among the fit's inputs")


def verify_files(product, singles, detector, out, reference=None, fit_table=None):
    """The stage's verification (snakedrizzle.pipeline.verify). For the a posteriori stage the
    fit's matches decide whether the focus test counts (DrizzlePac: fewer than 10 matches or
    under 10% of the reference matched)."""
    from snakedrizzle.pipeline.verify import verify_stage_files

    fit = {}
    if fit_table:
        table = Table.read(fit_table, format="ascii.ecsv")
        ok, line = _fit_summary(table)
        if not ok:   # nothing was drizzled: the stage fails on its fit
            log.info("a posteriori stage not drizzled: %s", line)
            return _write_json({"verified": False, "quality": 5, "reason": line, "metrics": {}}, out)
        nmatch = min((int(n) for n in table["nmatch"]), default=0)
        fit = {"num_matches": nmatch, "fraction_matched": nmatch / max(int(table.meta.get("nref", 0)), 1)}
    return verify_stage_files(product, singles, detector, out, reference=reference, **fit)


def _fit_summary(table):
    return cascade.fit_summary([dict(zip(table.colnames, r)) for r in table])


def fit_succeeded(fit_table):
    """(ok, line) of an a posteriori fit table (snakedrizzle.pipeline.cascade.fit_summary)."""
    return _fit_summary(Table.read(fit_table, format="ascii.ecsv"))


def select_stage(stages, verify_files, fit_table, out):
    """The cascade's decision (snakedrizzle.pipeline.cascade) as JSON."""
    verdicts = {s: _read_json(f) for s, f in verify_files.items()}
    fit = fit_succeeded(fit_table) if fit_table else None
    decision = cascade.decide(list(stages), verdicts, fit)
    decision["verdicts"] = verdicts
    for line in decision["lines"]:
        log.info("runastrodriz: %s", line)
    _write_json(decision, out)


def final_wcs_stage(cascade_file, stage_headerlets, out):
    """The chosen stage's headerlet of one exposure (``stage_headerlets``: {stage: file})."""
    chosen = _read_json(cascade_file)["chosen"]
    if chosen not in stage_headerlets:
        raise InputError(cascade_file, f"chose stage {chosen!r}, which has no headerlet here")
    with atomic_path(out) as tmp:
        shutil.copyfile(stage_headerlets[chosen], tmp)


def public_headerlet_stage(final_headerlet, out):
    """``<exp>_flt_hlet.fits``: the chosen WCS as the pipeline publishes it (author OPUS,
    description = WCSTYPE)."""
    with fits.open(final_headerlet) as hlet:
        hdul = fits.HDUList([h.copy() for h in hlet])
    name = str(hdul[0].header.get("WCSNAME", ""))
    hdul[0].header["AUTHOR"] = ("OPUS", "who made the headerlet (the pipeline's name)")
    hdul[0].header["DESCRIP"] = (wcstype(name).strip() or "pipeline WCS", "WCSTYPE of the WCS")
    write_hdulist(hdul, out)
