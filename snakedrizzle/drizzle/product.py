"""Headers of the drizzled product (SPEC §2): merged PRIMARY, SCI WCS, HDRTAB and provenance."""
import hashlib
import json
import logging
import os

import numpy as np
from astropy.io import fits
from astropy.table import Table

from snakedrizzle import __version__
from snakedrizzle import wcs as W
from snakedrizzle.drizzle import provenance as stage_params

log = logging.getLogger("snakedrizzle")

# Keywords that describe one file's structure or one chip's geometry: never merged.
_STRUCTURAL = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "NEXTEND", "GROUPS",
               "PCOUNT", "GCOUNT", "FILENAME", "CHECKSUM", "DATASUM", "EXTNAME", "EXTVER",
               "XTENSION", "BSCALE", "BZERO", "OBJECT"}
_PHOT = ("PHOTFLAM", "PHOTPLAM", "PHOTBW", "PHOTZPT")
# Filter wheels: ACS (FILTER1/2), WFC3 (FILTER), WFPC2 (FILTNAM1/2).
_FILTER_KEYS = ("FILTER", "FILTER1", "FILTER2", "FILTNAM1", "FILTNAM2")
# Calibration that holds for one filter only (PHOTZPT, the STMAG zero point, holds for all).
_FILTER_PHOT = ("PHOTMODE", "PHOTFLAM", "PHOTFNU", "PHOTPLAM", "PHOTBW", "PHTFLAM1", "PHTFLAM2", "PHTRATIO")


def sha256(path, block=1 << 22):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def primary_header(exposures, out_name, pars, chip_records, provenance):
    """PRIMARY: first input's keywords, totals over inputs, per-chip D### blocks, provenance."""
    first = fits.getheader(exposures[0].path, 0)
    hdr = fits.Header([c for c in first.cards if c.keyword not in _STRUCTURAL and c.keyword not in ("HISTORY", "COMMENT", "")])
    starts = [fits.getheader(e.path, 0).get("EXPSTART") for e in exposures]
    ends = [fits.getheader(e.path, 0).get("EXPEND") for e in exposures]
    texptime = float(sum(e.exptime for e in exposures))
    hdr["FILENAME"] = os.path.basename(out_name)
    hdr["ROOTNAME"] = os.path.basename(out_name).rsplit("_", 1)[0]
    hdr["PROD_VER"] = (f"snakedrizzle {__version__}", "software that made this product")
    hdr["EXPTIME"] = (texptime, "total exposure time of the inputs (s)")
    hdr["TEXPTIME"] = (texptime, "total exposure time of the inputs (s)")
    if all(s is not None for s in starts):
        hdr["EXPSTART"], hdr["EXPEND"] = min(starts), max(ends)
    hdr["NCOMBINE"] = (len(exposures), "number of exposures combined")
    hdr["NDRIZIM"] = (len(chip_records), "number of chips drizzled")
    hdr["ASN_MTYP"] = "PROD-DTH"
    hdr["DRIZCORR"] = "COMPLETE"
    for k, rec in enumerate(chip_records, start=1):
        p = f"D{k:03d}"
        hdr[p + "VER"] = "snakedrizzle " + __version__
        hdr[p + "GEOM"] = "wcs"
        hdr[p + "DATA"] = f"{os.path.basename(rec['path'])}[sci,{rec['extver']}]"
        hdr[p + "DEXP"] = rec["exptime"]
        hdr[p + "MASK"] = rec["mask"]
        hdr[p + "WTSC"] = rec["wt_scl"]
        hdr[p + "KERN"] = pars["final_kernel"]
        hdr[p + "PIXF"] = pars["final_pixfrac"]
        hdr[p + "COEF"] = "SIP" if pars["coeffs"] else "none"
        hdr[p + "OUUN"] = pars["final_units"]
        hdr[p + "FVAL"] = "INDEF" if pars["final_fillval"] is None else str(pars["final_fillval"])
        hdr[p + "SCAL"] = rec["scale"]
        hdr[p + "ISCL"] = rec["iscale"]
        hdr[p + "SKY"] = rec["sky"]
    hdr["SDVERS"] = (__version__, "snakedrizzle version")
    _describe_filters(hdr, exposures)
    # Every stage's parameters, as carried by the intermediates (drizzle.provenance); a direct
    # call without them records the final drizzle's own.
    params = provenance.get("params") or stage_params.record("final_drizzle", pars)
    hdr[stage_params.KEYWORD] = (json.dumps(params, sort_keys=True, separators=(",", ":")))
    for line in stage_params.history(params):
        hdr.add_history(line)
    for path, digest in provenance.get("inputs", {}).items():
        hdr.add_history(f"input {os.path.basename(path)} sha256 {digest}")
    return hdr


def filters_of(exposures):
    """{filter: [rootname, ...]} in input order. An exposure's filter is its filter keywords
    that are not CLEAR joined by '+' (ACS 'F606W', 'F555W+POL0V'; WFC3 'F140W')."""
    by_filter = {}
    for exp in exposures:
        hdr = fits.getheader(exp.path, 0)
        names = [str(hdr[k]).strip() for k in _FILTER_KEYS if k in hdr]
        real = [n for n in names if n and not n.upper().startswith("CLEAR") and n.upper() != "N/A"]
        by_filter.setdefault("+".join(real or names) or "unknown", []).append(exp.rootname)
    return by_filter


def warn_mixed_filters(exposures, consequence):
    """Log (on the 'snakedrizzle' logger) which exposures have which filter when they differ;
    ``consequence``: what that means for the stage. True if they differ."""
    by_filter = filters_of(exposures)
    if len(by_filter) > 1:
        log.warning("exposures of %d filters combined into one product: %s. %s", len(by_filter),
                    "; ".join(f"{f}: {', '.join(roots)}" for f, roots in by_filter.items()), consequence)
    return len(by_filter) > 1


def _describe_filters(hdr, exposures):
    """With exposures of several filters: each filter keyword that differs between them says
    MULTI, FILTERS lists them, HISTORY says which exposure has which, and the first file's
    single-filter calibration (PHOTFLAM, PHOTMODE, ...) is removed rather than kept as if it held
    for all. Per-exposure values stay in HDRTAB."""
    by_filter = filters_of(exposures)
    if len(by_filter) == 1:
        return
    primaries = [fits.getheader(e.path, 0) for e in exposures]
    for key in _FILTER_KEYS:
        if len({str(h.get(key, "")).strip() for h in primaries}) > 1:
            hdr[key] = ("MULTI", "exposures of several filters: see FILTERS")
    hdr["FILTERS"] = (",".join(by_filter), "filters of the combined exposures")
    hdr["NFILTERS"] = (len(by_filter), "number of different filters combined")
    for key in _FILTER_PHOT:
        hdr.remove(key, ignore_missing=True)
    for name, roots in by_filter.items():
        hdr.add_history(f"filter {name}: {', '.join(roots)}")
    hdr.add_history("no PHOTFLAM/PHOTPLAM/PHOTBW/PHOTMODE: the product combines several filters; "
                    "each input's values are in HDRTAB")


def sci_header(frame, exposures, bunit, wcsname):
    hdr = W.frame_to_header(frame)
    hdr["BUNIT"] = bunit
    hdr["VAFACTOR"] = 1.0
    hdr["WCSNAME"] = wcsname or "DRZWCS"
    hdr["CCDCHIP"] = "-999"
    hdr["NCOMBINE"] = len(exposures)
    # With several filters no PHOTFLAM holds for the product; the STMAG zero point still does.
    mixed = len(filters_of(exposures)) > 1
    for key in (k for k in _PHOT if not (mixed and k in _FILTER_PHOT)):
        values = [fits.getheader(e.path, ("SCI", e.chips[0])).get(key, fits.getheader(e.path, 0).get(key))
                  for e in exposures]
        values = [float(v) for v in values if v is not None]
        if values:
            hdr[key] = (float(np.mean(values)), "mean over inputs")
    return hdr


def header_table(exposures, skies):
    """HDRTAB: one row per input chip with its primary and SCI keywords."""
    rows = []
    for exp in exposures:
        primary = fits.getheader(exp.path, 0)
        for ver in exp.chips:
            row = {}
            for hdr in (primary, fits.getheader(exp.path, ("SCI", ver))):
                for card in hdr.cards:
                    if card.keyword and card.keyword not in ("HISTORY", "COMMENT") and not isinstance(card.value, fits.card.Undefined):
                        row.setdefault(card.keyword, card.value)
            row["EXTVER"] = ver
            row["MDRIZSKY"] = skies.get((exp.rootname, ver), 0.0)
            rows.append(row)
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
            columns[name] = np.array(values, dtype=float)
        else:
            columns[name] = np.array(["" if v is None else str(v) for v in values])
    hdu = fits.BinTableHDU(Table(columns), name="HDRTAB")
    return hdu
