"""What a WCSNAME says (SPEC.md §5.1, SPEC-HAP.md H6.7, H9): its WCSTYPE text, its place in the
pipeline's preference order, and the IDCTAB it was built on. Pure string logic, no I/O.

Names follow the HST pipeline convention ``<base>[-<solution>]``: base ``IDC_<idctab root>``
(distortion-only WCS from the IDCTAB) or ``OPUS`` (the WCS from the telescope's pointing), then
an a priori token (``GSC240``, ``HSC30``: pre-computed corrections to a catalog frame) or an a
posteriori fit ``FIT_<label>_<catalog>`` (label REL, IMG, EVM, SVM, MVM).
"""
from __future__ import annotations

import datetime
import os
import re

# WCSNAME of a WCS that has none: the pipeline treats it as the telescope's own (H9 step 8).
MISSING_WCSNAME = "OPUS"

_BASES = {"IDC": "undistorted ", "OPU": "pipeline default "}
_FIT_LABELS = {"REL": "relatively aligned to {}",
               "IMG": "aligned image-by-image to {}",
               "EVM": "aligned by visit-exposures to {}",
               "SVM": "aligned by visit to {}",
               # DrizzlePac has no entry for MVM and raises KeyError on a FIT_MVM name (H6.7
               # quirk); multi-visit mosaics are named like this here so such a WCS has a type.
               "MVM": "aligned by multi-visit to {}"}

# Pipeline preference among the solutions built on the current IDCTAB, best first (runastrodriz
# wcs_preference, #1187, with the a priori HSC30 placed before GSC240 as H9 step 6 prefers HSC
# over GSC). DrizzlePac matches with fnmatch, where '*' also matches '-'; '\w*' here keeps the
# de-duplicated names stwcs makes (``...-GSC240-1``) out, as fnmatch does for all but GAIA*3.
PREFERENCE = (r"-FIT_REL_GAIA\w*3", r"-FIT_IMG_GAIA\w*3",
              r"-FIT_REL_GAIADR2", r"-FIT_IMG_GAIADR2",
              r"-FIT_REL_GAIADR1", r"-FIT_IMG_GAIADR1",
              r"-HSC30", r"-GSC240", r"")
DEFAULT_RANK = len(PREFERENCE) - 1          # the bare IDC_<root>: distortion only, no a priori

# DrizzlePac renames a bare IDC WCS ``-GSC240`` for data taken after this date: guide stars
# (hence pointings) were already in the GSC 2.4 frame then (verify_gaia_wcsnames).
GSC240_DATE = datetime.date(2017, 10, 1)


def normalized(wcsname) -> str:
    """The WCSNAME as the pipeline reads it: stripped, missing or blank -> 'OPUS'."""
    name = "" if wcsname is None else str(wcsname).strip()
    return name or MISSING_WCSNAME


def wcstype(wcsname) -> str:
    """WCSTYPE text for a WCSNAME, as DrizzlePac writes it (tokens upper-cased, as in archive
    headers: 'undistorted a posteriori solution relatively aligned to GAIAEDR3')."""
    parts = normalized(wcsname).upper().split("-")
    base = _BASES.get(parts[0][:3])
    if base is None:
        return "user-defined"
    if len(parts) == 1:
        return base + "not aligned"
    token = parts[1]
    if "FIT" not in token:
        return base + f"a priori solution based on {token}"
    return base + "a posteriori solution " + _fit_phrase(token)


def _fit_phrase(token):
    """'FIT_REL_GAIAEDR3' -> 'relatively aligned to GAIAEDR3'. DrizzlePac fails (KeyError,
    IndexError) on an unknown label or a missing catalog; those get a plain phrase instead."""
    fields = token.split("_")
    label = fields[1] if len(fields) > 1 else ""
    catalog = "_".join(fields[2:]) or "an unnamed catalog"
    phrase = _FIT_LABELS.get(label)
    return phrase.format(catalog) if phrase else f"fitted ({token}) to {catalog}"


def idctab_root(idctab_keyword) -> str | None:
    """Rootname of an IDCTAB reference: 'jref$n721640fj_idc.fits' -> 'n721640fj'. None for
    'N/A', blank or missing (no IDCTAB: simulated or non-HST data)."""
    text = "" if idctab_keyword is None else str(idctab_keyword).strip()
    if not text or text.upper() in ("N/A", "NONE"):
        return None
    name = os.path.basename(text.split("$")[-1])
    root = name.split("_")[0].split(".")[0]
    return root or None


def wcsname_idc_root(wcsname) -> str | None:
    """The IDCTAB root a name is built on: 'IDC_n721640fj-GSC240' -> 'n721640fj'; None when the
    name is not an IDC_ name."""
    match = re.match(r"^IDC_([^-]+)", normalized(wcsname))
    return match.group(1) if match else None


def default_wcsname(root) -> str:
    """The distortion-only pipeline default name for IDCTAB root ``root``."""
    return f"IDC_{root}"


def preference_rank(wcsname, idctab_root) -> int | None:
    """Place of ``wcsname`` in the pipeline preference order (0 best, DEFAULT_RANK for the bare
    ``IDC_<idctab_root>``), or None for a name the pipeline never picks: another IDCTAB,
    user-defined names, SVM/MVM or other catalogs' fits, de-duplicated copies."""
    if not idctab_root or wcsname is None:
        return None
    prefix = re.escape(default_wcsname(idctab_root))
    for rank, suffix in enumerate(PREFERENCE):
        if re.fullmatch(prefix + suffix, str(wcsname).strip()):
            return rank
    return None


def is_aposteriori(wcsname) -> bool:
    return "-FIT" in normalized(wcsname).upper()


def gsc240_name(wcsname, date_obs) -> str:
    """The name DrizzlePac gives a bare IDC WCS of an exposure taken after GSC240_DATE
    (``IDC_xxx`` -> ``IDC_xxx-GSC240``); other names and older data are unchanged."""
    name = normalized(wcsname)
    try:
        taken = datetime.date.fromisoformat(str(date_obs).strip()[:10])
    except ValueError:
        return name
    if name.startswith("IDC_") and "-" not in name and taken > GSC240_DATE:
        return f"{name}-GSC240"
    return name
