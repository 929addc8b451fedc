"""Which exposures of a poller HAP uses (SPEC-HAP H2), each decision with its reason.

Each exposure gets a :class:`Verdict`:

- ``DIRECT``: drizzled into the products of its filter and detector;
- ``GRISM``: a grism or prism exposure; SVM keeps it so that its WCS can be reconciled with the
  direct images of its detector (H6.8), but it is never drizzled and joins no product;
- ``EXCLUDED``: not used; ``reason`` says why (``OBSTYPE=CAL: not an imaging exposure``).

The rules are read from the primary header; the first one that applies decides, as in HAP:
OBSTYPE, DRIZCORR, MTFLAG, SCAN_TYP, calibration targets, EXPTIME = 0, CHINJECT, all-zero SCI
arrays, blocking filters; grism/prism exposures (EXPTIME > 0) are kept in SVM whatever OBSTYPE or
DRIZCORR say. Guiding: ``FGSLOCK`` with GY or COARSE keeps the exposure with a warning; the
``QUALITY`` test (GSFAIL, TDF-DOWN) excludes only when asked (``verify_guiding``; MVM does it,
SVM does not). One deliberate difference from HAP: a gyro-guided exposure is still checked for
charge injection and all-zero data (HAP's rule chain stops at FGSLOCK and skips them).

Every exclusion and every warning is one log line on the ``snakedrizzle`` logger naming the file.
"""
import logging
import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from snakedrizzle.errors import InputError

__all__ = ["DIRECT", "GRISM", "EXCLUDED", "Verdict", "screen_exposure", "screen_exposures",
           "CALIBRATION_TARGETS", "WFPC2_CALIBRATION_TARGETS"]

log = logging.getLogger(__name__)

DIRECT, GRISM, EXCLUDED = "direct", "grism", "excluded"

# Target names of calibration exposures (substrings of TARGNAME, upper case).
CALIBRATION_TARGETS = ("DARK", "TUNG", "BIAS", "FLAT", "DEUT", "EARTH-CAL")
WFPC2_CALIBRATION_TARGETS = ("INTFLAT", "UVFLAT", "VISFLAT", "KSPOTS", "DARK", "BIAS",
                             "EARTH-CALIB")
ZERO_EXPTIME = 1e-5   # |EXPTIME| at or below this is no exposure at all


@dataclass(frozen=True)
class Verdict:
    """What HAP does with one exposure, and why."""

    row: object            # the PollerRow
    use: str               # DIRECT, GRISM or EXCLUDED
    reason: str = ""       # why excluded or kept for the WCS only; "" for a plain direct image
    warning: str = ""      # kept, but worth a look (compromised guiding)

    @property
    def path(self):
        return self.row.path


def screen_exposures(rows, mode="svm", verify_guiding=False, check_data=True):
    """Verdicts of poller rows, in their order, with one log line per exclusion or warning."""
    verdicts = []
    for row in rows:
        verdict = screen_exposure(row, mode, verify_guiding, check_data)
        if verdict.use == EXCLUDED:
            log.warning("%s excluded: %s", row.path, verdict.reason)
        elif verdict.use == GRISM:
            log.info("%s kept for WCS reconciliation only: %s", row.path, verdict.reason)
        if verdict.warning:
            log.warning("%s used, but %s", row.path, verdict.warning)
        verdicts.append(verdict)
    return verdicts


def screen_exposure(row, mode="svm", verify_guiding=False, check_data=True):
    """The verdict on one poller row (``mode`` is ``"svm"`` or ``"mvm"``)."""
    if mode not in ("svm", "mvm"):
        raise ValueError(f"mode must be 'svm' or 'mvm', not {mode!r}")
    header = _header(row.path)
    facts = _facts(row, header)
    reason = _keyword_reason(facts)
    tokens = facts["filter_tokens"]
    grism = [t for t in tokens if t.startswith(("G", "PR"))]
    use = EXCLUDED if reason else DIRECT
    if grism:
        use, reason = _grism_verdict(grism[0], facts["exptime"], mode, reason)
    blocking = [t for t in tokens if t.startswith("BLOCK")]
    if blocking:
        use, reason = EXCLUDED, f"filter {blocking[0]}: a blocking filter, no science light"
    elif mode == "mvm" and any(t.startswith("FR") for t in tokens):
        use, reason = EXCLUDED, "ramp filter: MVM does not use ramp-filter exposures"
    if use != EXCLUDED and verify_guiding:
        quality = str(header.get("QUALITY", "")).upper()
        if "GSFAIL" in quality or "TDF-DOWN" in quality:
            use, reason = EXCLUDED, f"QUALITY={quality.strip()}: guide-star failure"
    if use != EXCLUDED and check_data:
        empty = _empty_science(row.path)
        if empty:
            use, reason = EXCLUDED, empty
    fgslock = facts["fgslock"]
    warning = ""
    if use != EXCLUDED and ("GY" in fgslock or "COARSE" in fgslock):
        warning = f"FGSLOCK={fgslock}: guiding may be compromised"
    return Verdict(row, use, reason if use != DIRECT else "", warning)


def _keyword_reason(f):
    """The first of HAP's header rules (H2, 1-7 and 9) that excludes the exposure, or ""."""
    rules = [
        (f["obstype"] != "IMAGING", f"OBSTYPE={f['obstype']}: not an imaging exposure"),
        (f["drizcorr"] in ("OMIT", "SKIPPED"), f"DRIZCORR={f['drizcorr']}: not to be drizzled"),
        (f["mtflag"] == "T", "MTFLAG=T: moving target"),
        (f["scan_typ"] in ("C", "D"), f"SCAN_TYP={f['scan_typ']}: spatial scan"),
        (f["calibration_target"], f"TARGNAME={f['targname']}: a calibration target"),
        (math.isclose(f["exptime"], 0.0, abs_tol=ZERO_EXPTIME),
         f"EXPTIME={f['exptime']:g}: no exposure time"),
        (f["chinject"] != "NONE", f"CHINJECT={f['chinject']}: charge injection"),
    ]
    return next((reason for applies, reason in rules if applies), "")


def _grism_verdict(token, exptime, mode, reason):
    """SVM keeps grism/prism exposures with time on sky, whatever the header rules said."""
    if math.isclose(exptime, 0.0, abs_tol=ZERO_EXPTIME):
        return EXCLUDED, f"grism/prism {token} with EXPTIME={exptime:g}"
    if mode == "mvm":
        return EXCLUDED, f"grism/prism {token}: MVM does not use grism/prism exposures"
    return GRISM, (f"grism/prism {token}: its WCS follows the direct images of the visit; "
                   "not drizzled")


def _facts(row, header):
    """The header values the rules read, upper case; WFPC2 has its own keywords."""
    def text(key, default=""):
        return str(header.get(key, default)).strip().upper()

    instrument = row.instrument
    targname = text("TARGNAME")
    if instrument == "wfpc2":
        imagetyp = text("IMAGETYP")
        obstype = "IMAGING" if imagetyp == "EXT" else "CAL"
        mtflag = "T" if header.get("MTFLAG") in (True, "T") else "F"
        calibration = imagetyp != "EXT" and any(t in targname for t in WFPC2_CALIBRATION_TARGETS)
        tokens = [text("FILTNAM1"), text("FILTNAM2")]
    else:
        obstype, mtflag = text("OBSTYPE"), text("MTFLAG")
        calibration = any(t in targname for t in CALIBRATION_TARGETS)
        tokens = [text("FILTER1"), text("FILTER2")] if instrument == "acs" else [text("FILTER")]
    detector = text("DETECTOR")
    try:
        exptime = float(header["EXPTIME"])
    except (KeyError, TypeError, ValueError):
        raise InputError(row.path, "no usable EXPTIME in the primary header") from None
    return {
        "obstype": obstype, "drizcorr": text("DRIZCORR"), "mtflag": mtflag,
        "scan_typ": text("SCAN_TYP") if instrument == "wfc3" else "",
        "targname": targname, "calibration_target": calibration, "exptime": exptime,
        "fgslock": text("FGSLOCK"),
        "chinject": text("CHINJECT", "NONE") if (instrument, detector) == ("wfc3", "UVIS")
        else "NONE",
        "filter_tokens": [t for t in tokens if t],
    }


def _header(path):
    try:
        return fits.getheader(path, 0)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the primary header ({exc})") from None


def _empty_science(path):
    """Why the file holds no science (no SCI array, or every one all zeros: HAP rule 10), or ""."""
    with fits.open(path, memmap=True) as hdul:
        arrays = [h.data for h in hdul if h.name == "SCI" and h.data is not None]
        if not arrays:
            return "no SCI extension with data"
        return "" if any(np.any(a) for a in arrays) else "every SCI array is all zeros"
