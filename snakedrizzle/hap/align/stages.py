"""File-level stages of the SVM alignment (the rules of ``rules/hap.smk`` call these). Inputs are
only read; every output is written atomically."""
import logging
import os

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from snakedrizzle.align.headerlet import build_headerlet, sci_extvers
from snakedrizzle.errors import InputError
from snakedrizzle.hap.align import refcat as R
from snakedrizzle.hap.align.fit import RELATIVE_ONLY
from snakedrizzle.hap.align.search import pipeline_search, svm_search
from snakedrizzle.hap.align.sources import exposure_sources
from snakedrizzle.io.exposure import rootname_of
from snakedrizzle.io.fitsio import atomic_path, write_hdulist
from snakedrizzle.wcs import chip_wcs

log = logging.getLogger("snakedrizzle")
FIT_COLUMNS = ("rootname", "epoch", "method", "catalog", "nmatch", "fit_rms_mas", "rms_ra_mas", "rms_dec_mas",
               "offset_arcsec", "quality", "compromised", "aligned", "wcsname", "reason")


def _write_table(table, out):
    with atomic_path(out) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return out


def _extvers(path):
    try:
        with fits.open(path) as hdul:
            return sci_extvers(hdul)
    except OSError as exc:
        raise InputError(path, f"cannot read the exposure ({exc})") from None


def sources_stage(exposure, out, pars):
    """The exposure's source list for the visit fit (ECSV, x/y 1-based, one row per source)."""
    _write_table(exposure_sources(exposure, _extvers(exposure), pars), out)


def exposure_epoch(path):
    try:
        return R.decimal_year(float(fits.getval(path, "EXPSTART", 0)))
    except (KeyError, OSError) as exc:
        raise InputError(path, f"no EXPSTART for the epoch the reference is propagated to ({exc})") from None


def refcat_stage(exposures, out, refcat="", catalog_name="GAIAeDR3", timeout=R.QUERY_TIMEOUT):
    """One reference catalog of the visit (a local table, else its service: refcat.from_service),
    cut to the cone of every exposure's chips, as ECSV; an empty table with ``meta['reason']``
    when there is none."""
    cone = R.footprint_cone([chip_wcs(p, v) for p in exposures for v in _extvers(p)])
    table = R.from_file(refcat, cone, catalog_name) if refcat else R.from_service(cone, catalog_name, timeout)
    table.meta["epochs"] = [exposure_epoch(p) for p in exposures]
    log.info("reference catalog %s: %d sources in the cone (%s)", catalog_name, len(table),
             table.meta.get("reason") or table.meta.get("source"))
    _write_table(table, out)


def new_wcsname(prior, catalog_name, label="SVM"):
    """H6.7: the part of the current name before the first '-', then FIT_<label>_<catalog>."""
    base = str(prior or "").split("-")[0].strip()
    return f"{base}-FIT_{label}_{catalog_name}" if base else f"FIT_{label}_{catalog_name}"


# runastrodriz names its fits by method (H6.7): relative -> FIT_REL, image by image -> FIT_IMG.
PIPELINE_LABELS = {"relative": "REL", "2dhist": "IMG", "default": "IMG"}


def _prior_wcsname(path, headerlet=None):
    if headerlet:
        return str(fits.getval(headerlet, "WCSNAME", 0, default="") or "")
    return fits.getval(path, "WCSNAME", ("SCI", _extvers(path)[0]), default="")


def fitted_wcsname(method, prior, catalog_name, label):
    """H6.7's name of a fit; a visit aligned only internally (no catalog) gets
    ``<prior>-<label>_RELATIVE``: not FIT_*, which archive tools read as absolute astrometry."""
    if method == RELATIVE_ONLY:
        base = str(prior or "").split("-")[0].strip() or "NONE"
        return f"{base}-{label if isinstance(label, str) else 'REL'}_RELATIVE"
    return new_wcsname(prior, catalog_name, label.get(method, "IMG") if isinstance(label, dict) else label)


def _as_list(value):
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def _reference_catalogs(refcat_files, catalog_names):
    """[(name, table)] in the order to try; names pair with files (one name per file)."""
    files, names = _as_list(refcat_files), _as_list(catalog_names)
    if len(files) != len(names):
        raise InputError(", ".join(map(str, files)), f"{len(files)} reference catalogs for {len(names)} names {names}")
    return [(str(n), Table.read(f, format="ascii.ecsv")) for n, f in zip(names, files)]


def fit_stage(exposures, source_files, refcat_file, out_table, out_wcs, pars, catalog_name,
              headerlets=None, label="SVM", meta=None, relative_fallback=False, search="svm"):
    """One visit fit of a detector's exposures: the fit table (per exposure: matches, RMS,
    quality, the catalog, why it failed; its meta ``tried``: every catalog tried and why it was
    not used) and the aligned chip WCSs (CRVAL, CD per chip) the headerlets take.
    ``refcat_file``/``catalog_name``: one reference catalog file and its name, or lists of them
    in the order to try (H6.6); ``search``: ``svm`` (catalogs outer, first good fit wins) or
    ``pipeline`` (methods outer, best kept); ``headerlets`` (one per exposure): the WCSs the fit
    starts from instead of the exposures' own (runastrodriz: the a priori or default stage's);
    ``label``: the FIT_<label> of the new WCSNAMEs, or a mapping from fit method to label;
    ``meta``: more entries for the table's meta; ``relative_fallback``: without a usable
    catalog, align the exposures to each other (SVM)."""
    catalogs = _reference_catalogs(refcat_file, catalog_name)
    roots = [rootname_of(p)[0] for p in exposures]
    hlets = list(headerlets) if headerlets else [None] * len(exposures)
    chips = [(r, {v: chip_wcs(p, v, headerlet=h) for v in _extvers(p)})
             for r, p, h in zip(roots, exposures, hlets)]
    sources = [Table.read(f, format="ascii.ecsv") for f in source_files]
    epochs = [exposure_epoch(p) for p in exposures]
    if search == "pipeline":
        found = pipeline_search(chips, sources, epochs, catalogs, pars)
    else:
        found = svm_search(chips, sources, epochs, catalogs, pars, relative_fallback)
    rows, wcs_rows = [], []
    for path, fit, hlet in zip(exposures, found.fits, hlets):
        prior = _prior_wcsname(path, hlet)
        aligned = bool(fit.wcs)
        name = fitted_wcsname(found.method, prior, found.catalog, label) if aligned else prior
        why = fit.reason if found.method == RELATIVE_ONLY or not aligned else ""
        rows.append((fit.root, fit.epoch, found.method, found.catalog if aligned else "", fit.nmatch, fit.fit_rms,
                     fit.rms_ra, fit.rms_dec, fit.offset, fit.quality, fit.compromised, aligned, name,
                     why or ("" if aligned else found.reason or "no good fit")))
        for v, w in fit.wcs.items():
            wcs_rows.append((fit.root, v, *w.wcs.crval, *w.wcs.cd.ravel(), *w.wcs.crpix))
    table = Table(rows=rows, names=FIT_COLUMNS) if rows else Table(names=FIT_COLUMNS)
    used = found.catalog or catalogs[0][0]
    refcat = dict(catalogs)[used]
    table.meta.update({"catalog": used, "catalogs": [n for n, _ in catalogs],
                       "refcat": str(refcat.meta.get("source", "")), "nref": len(refcat), "method": found.method,
                       "total_rms_mas": float(found.total), "reason": found.reason, "tried": found.tried,
                       "pars": dict(pars), **(meta or {})})
    names = ("rootname", "extver", "crval1", "crval2", "cd1_1", "cd1_2", "cd2_1", "cd2_2", "crpix1", "crpix2")
    solutions = Table(rows=wcs_rows, names=names) if wcs_rows else Table(names=names)
    _write_table(table, out_table)
    _write_table(solutions, out_wcs)


def solution_wcs(solutions, root):
    """{extver: WCS with the CRVAL and CD the fit gave exposure ``root``} from a fit's WCS table."""
    out = {}
    for row in solutions[np.asarray(solutions["rootname"]).astype(str) == root]:
        w = WCS(naxis=2)
        w.wcs.crval = [row["crval1"], row["crval2"]]
        w.wcs.cd = [[row["cd1_1"], row["cd1_2"]], [row["cd2_1"], row["cd2_2"]]]
        out[int(row["extver"])] = w
    return out


def fit_record(row, status):
    """The fit numbers a headerlet records, from a row of the fit table."""
    return {"status": status, "fitgeometry": "rscale", "nmatch": int(row["nmatch"]),
            "rms_ra": float(row["rms_ra_mas"]) / 3.6e6, "rms_dec": float(row["rms_dec_mas"]) / 3.6e6}


def fit_row(fit_table, exposure):
    """(root, the fit table, the exposure's row of it)."""
    root = rootname_of(exposure)[0]
    table = Table.read(fit_table, format="ascii.ecsv")
    rows = table[np.asarray(table["rootname"]).astype(str) == root]
    if len(rows) != 1:
        raise InputError(fit_table, f"has no row for exposure {root}")
    return root, table, rows[0]


def headerlet_stage(exposure, fit_table, wcs_table, out, catalog_name):
    """The exposure's headerlet (H6.7): the fitted WCS under ``<prior>-FIT_SVM_<catalog>`` with
    the previous one kept as an alternate, or the unchanged a priori WCS with the reason."""
    root, table, row = fit_row(fit_table, exposure)
    # the catalog the fit used (a catalog list: the one that won), else the one asked for
    catalog_name = str(row["catalog"]) if "catalog" in row.colnames and row["catalog"] else \
        str(table.meta.get("catalog") or catalog_name)
    aligned = solution_wcs(Table.read(wcs_table, format="ascii.ecsv"), root) if row["aligned"] else None
    fit = fit_record(row, "SUCCESS" if aligned else f"FAILED: {row['reason']}")
    hlet = build_headerlet(exposure, aligned, str(row["wcsname"]), fit, root, catalog=catalog_name,
                           meta={"hdrname": f"{root}_{row['wcsname']}",
                                 "descrip": ("SVM: exposures aligned to each other, no catalog (snakedrizzle)"
                                             if row["method"] == RELATIVE_ONLY
                                             else f"SVM alignment to {catalog_name} (snakedrizzle)")})
    primary = hlet[0].header
    primary["CATALOG"] = (catalog_name, "astrometric reference catalog")
    primary["FITMETH"] = (str(row["method"]) or "none", "SVM fit method")
    primary["FIT_RMS"] = (_finite(row["fit_rms_mas"]), "RMS of the fit (mas)")
    primary["FITQUAL"] = (int(row["quality"]), "1 best .. 5 failed (a priori WCS kept)")
    primary["RMS_RA"] = (_finite(row["rms_ra_mas"]), "RA RMS of the fit (mas)")
    primary["RMS_DEC"] = (_finite(row["rms_dec_mas"]), "Dec RMS of the fit (mas)")
    primary["NMATCH"] = (int(row["nmatch"]), "matches with the reference catalog")
    write_hdulist(hlet, out)


def _finite(value):
    value = float(value)
    return value if np.isfinite(value) else 0.0
