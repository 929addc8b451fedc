"""Aligned WCSs as stwcs headerlets (SPEC §3 updatehdr/headerlets), and reading them back.

A headerlet written here is a standard stwcs headerlet (PRIMARY + one SIPWCS per chip + the
distortion lookup tables) made from an in-memory copy of the exposure's headers, so the input is
never opened for writing. Beyond the stwcs format it carries, per chip, the previous primary WCS
as an alternate (the key stwcs archiving picked) and a WCSCORR table with the WCS history, and in
PRIMARY the fit status (FITSTAT: 'SUCCESS', 'REFERENCE' or 'FAILED: why').
"""
import re
import textwrap

import numpy as np
from astropy.io import fits
from astropy.table import Table
from stwcs.wcsutil import HSTWCS, altwcs, headerlet

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import write_hdulist

# Extensions a headerlet needs from the exposure: headers, distortion lookup tables, WCS history.
_KEPT = ("PRIMARY", "SCI", "WCSDVARR", "D2IMARR")
_PRIMARY_WCS = re.compile(r"^(CRVAL[12]|CRPIX[12]|CTYPE[12]|CUNIT[12]|CD[12]_[12]|WCSNAME|ORIENTAT|"
                          r"(A|B|AP|BP)_(\d+_\d+|ORDER|DMAX))$")
_ALT_BASE = re.compile(r"^(WCSNAME|WCSAXES|CRVAL\d|CRPIX\d|CTYPE\d|CUNIT\d|CD\d_\d|PC\d_\d|CDELT\d|"
                       r"LONPOLE|LATPOLE|RADESYS|EQUINOX|MJDREF)$")


def working_copy(path):
    """The exposure's headers (and small lookup tables) as a new in-memory HDUList."""
    with fits.open(path, memmap=True) as hdul:
        return fits.HDUList([hdu.copy() for hdu in hdul if hdu.name.upper() in _KEPT])


def sci_extvers(hdul):
    return [h.ver for h in hdul if h.name.upper() == "SCI"]


def _orientat(cd):
    return float(np.rad2deg(np.arctan2(cd[0, 1], cd[1, 1])))


def _alternate_cards(header, key):
    return [card for card in header.cards
            if card.keyword.endswith(key) and _ALT_BASE.match(card.keyword[:-1])]


def wcs_history(hdul, fit):
    """WCSCORR-style table: one row per chip and WCS (alternates first, the primary last), with
    the fit statistics on the primary rows when it comes from a fit."""
    rows = []
    for v in sci_extvers(hdul):
        hdr = hdul["SCI", v].header
        keys = [k for k in altwcs.wcskeys(hdr) if k != " "] + [" "]
        for key in keys:
            k = key.strip()
            primary = key == " "
            rows.append({"WCS_ID": str(hdr.get("WCSNAME" + k, "")), "EXTVER": int(v), "WCS_key": k,
                         **{f"CRVAL{i}": float(hdr.get(f"CRVAL{i}{k}", np.nan)) for i in (1, 2)},
                         **{f"CRPIX{i}": float(hdr.get(f"CRPIX{i}{k}", np.nan)) for i in (1, 2)},
                         **{f"CD{i}_{j}": float(hdr.get(f"CD{i}_{j}{k}", np.nan)) for i in (1, 2) for j in (1, 2)},
                         "NMatch": int(fit.get("nmatch", 0)) if primary else 0,
                         "RMS_RA": _finite(fit.get("rms_ra")) if primary else 0.0,
                         "RMS_DEC": _finite(fit.get("rms_dec")) if primary else 0.0,
                         "FITNAME": str(fit.get("fitgeometry", "")) if primary else ""})
    hdu = fits.table_to_hdu(Table(rows=rows))
    hdu.name = "WCSCORR"
    return hdu


def set_primary_wcs(hdul, extver, w, wcsname):
    """Archive the chip's primary WCS as the next alternate, then write CRVAL/CD of ``w``.
    Returns the archive key (None when nothing was archived)."""
    hdr = hdul["SCI", extver].header
    before = set(altwcs.wcskeys(hdr))
    altwcs.archive_wcs(hdul, ext=[("SCI", extver)], mode=altwcs.ArchiveMode.AUTO_RENAME)
    new = sorted(set(altwcs.wcskeys(hdr)) - before)
    for i in (1, 2):
        hdr[f"CRVAL{i}"] = float(w.wcs.crval[i - 1])
        for j in (1, 2):
            hdr[f"CD{i}_{j}"] = float(w.wcs.cd[i - 1, j - 1])
    hdr["WCSNAME"] = wcsname
    hdr["ORIENTAT"] = (_orientat(w.wcs.cd), "position angle of image y axis (deg. e of n)")
    return new[0] if new else None


def _fit_cards(fit):
    return [("FITSTAT", str(fit.get("status", ""))[:68], "TweakReg fit status"),
            ("FITNAME", str(fit.get("fitgeometry", "")), "fit geometry (shift, rscale, general)"),
            ("NMATCH", int(fit.get("nmatch", 0)), "number of matched sources"),
            ("RMS_RA", _finite(fit.get("rms_ra")), "RA RMS of the fit (deg)"),
            ("RMS_DEC", _finite(fit.get("rms_dec")), "Dec RMS of the fit (deg)"),
            ("CRDER1", _finite(fit.get("rms_ra")) * 3600.0, "RA RMS of the fit (arcsec)"),
            ("CRDER2", _finite(fit.get("rms_dec")) * 3600.0, "Dec RMS of the fit (arcsec)")]


def _finite(value):
    value = float(value) if value is not None else 0.0
    return value if np.isfinite(value) else 0.0


def build_headerlet(path, aligned, wcsname, fit, rootname, catalog="", meta=None):
    """stwcs headerlet for exposure ``path``: the WCSs of ``aligned`` ({extver: WCS}) under the
    new ``wcsname`` with the old ones kept as alternates; ``aligned=None`` (failed fit) keeps the
    exposure's WCS and name. ``fit`` is the fit result (status, numbers) recorded in the headers;
    ``meta`` holds TweakReg's headerlet keywords (hdrname, author, descrip, catalog, history: a
    text file whose lines become HISTORY cards)."""
    meta = meta or {}
    work = working_copy(path)
    extvers = sci_extvers(work)
    name = wcsname if aligned is not None else work["SCI", extvers[0]].header.get("WCSNAME", "")
    archived = {}
    if aligned is not None:
        for v in extvers:
            archived[v] = set_primary_wcs(work, v, aligned[v], wcsname)
    hlet = headerlet.create_headerlet(work, hdrname=meta.get("hdrname") or f"{rootname}_{name}",
                                      wcsname=name or None, author=meta.get("author") or "snakedrizzle",
                                      descrip=meta.get("descrip") or "TweakReg alignment (snakedrizzle)",
                                      nmatch=int(fit.get("nmatch", 0)), catalog=meta.get("catalog") or catalog or "",
                                      logging=False)  # else stwcs writes headerlet.log into the cwd
    for card in _fit_cards(fit):
        hlet[0].header[card[0]] = card[1:]
    for line in _history_lines(meta.get("history")):
        hlet[0].header.add_history(line)
    for ext in hlet:
        if ext.name.upper() == "SIPWCS":
            v = ext.header.get("TG_EVER", ext.ver)
            for card in _fit_cards(fit):
                ext.header[card[0]] = card[1:]
            if archived.get(v):
                for card in _alternate_cards(work["SCI", v].header, archived[v]):
                    ext.header.append(card, end=True)
    hlet.append(wcs_history(work, fit if aligned is not None else {}))
    return hlet


def _history_lines(history_file, width=70):
    """TweakReg's ``history``: a text file, re-wrapped to FITS HISTORY cards."""
    if not history_file:
        return []
    try:
        with open(history_file) as f:
            text = f.read()
    except OSError as exc:
        raise InputError(history_file, f"cannot read the headerlet history file ({exc})") from None
    return [chunk for line in text.splitlines() for chunk in textwrap.wrap(line, width) or [""]]


def existing_wcsnames(path):
    """Every WCS name (primary and alternates) in the SCI headers of an exposure."""
    with fits.open(path, memmap=True) as hdul:
        return {str(h.header[k]).strip() for h in hdul if h.name.upper() == "SCI"
                for k in h.header if re.match(r"^WCSNAME[A-Z]?$", k)}


def write_headerlet(path, out_path, aligned, wcsname, fit, rootname, catalog="", meta=None):
    return write_hdulist(build_headerlet(path, aligned, wcsname, fit, rootname, catalog, meta), out_path)


def _sipwcs(hlet, extver):
    for ext in hlet:
        if ext.name.upper() == "SIPWCS" and ext.header.get("TG_EVER", ext.ver) == extver:
            return ext.header
    return None


def headerlet_wcs_cards(hlet_path, extver):
    """Primary WCS keywords of chip ``extver`` in a headerlet."""
    try:
        with fits.open(hlet_path) as hlet:
            hdr = _sipwcs(hlet, extver)
            status = hlet[0].header.get("FITSTAT", "")
    except OSError as exc:
        raise InputError(hlet_path, f"cannot read the headerlet ({exc})") from None
    if hdr is None:
        raise InputError(hlet_path, f"no SIPWCS extension for SCI,{extver}")
    return [card for card in hdr.cards if _PRIMARY_WCS.match(card.keyword)], status


def aligned_chip_wcs(path, extver, hlet_path):
    """HSTWCS of chip SCI,``extver`` of exposure ``path`` with the headerlet's WCS (CRVAL, CD,
    CRPIX, SIP) and the exposure's lookup-table distortion (NPOL, D2IM), which alignment does
    not change. The exposure file is only read."""
    cards, _ = headerlet_wcs_cards(hlet_path, extver)
    # The header is changed in memory only: a file opened read-only is never written back.
    with fits.open(path, mode="readonly", memmap=True) as hdul:
        hdr = hdul["SCI", extver].header
        for key in [k for k in hdr if re.match(r"^(A|B|AP|BP)_", k)]:
            del hdr[key]   # the headerlet's SIP replaces the exposure's, whatever its order
        for card in cards:
            hdr[card.keyword] = (card.value, card.comment)
        return HSTWCS(hdul, ext=("SCI", extver))


def headerlet_status(hlet_path):
    with fits.open(hlet_path) as hlet:
        return str(hlet[0].header.get("FITSTAT", ""))
