"""Catalog parameters of a detector (SPEC-HAP H7.1) and the CI limits of a filter."""
import functools
from pathlib import Path

import yaml

from snakedrizzle.errors import InputError

__all__ = ["catalog_pars", "ci_limits", "PARAMETER_FILE", "CI_TABLE"]

DATA_DIR = Path(__file__).resolve().parent.parent / "parameter_sets"
PARAMETER_FILE = DATA_DIR / "catalogs.yaml"
# HAP's concentration-index table (name, eff. wavelength, ci_lower, ci_peak, ci_upper, ap_corr).
CI_TABLE = DATA_DIR / "ci_ap_cor_table_ap_20_2016.txt"


@functools.lru_cache(maxsize=None)
def _load():
    with open(PARAMETER_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def catalog_pars(instrument, detector, overrides=None):
    """The H7.1 parameters of ``<instrument>_<detector>`` (lower case) with ``overrides`` on top
    (a mapping; unknown keys are an InputError so a typo never passes silently)."""
    data = _load()
    key = f"{instrument}_{detector}".lower()
    if key not in data["detectors"]:
        raise InputError(key, f"no HAP catalog parameters for this detector (known: "
                              f"{', '.join(data['detectors'])})")
    pars = {**data["common"], **data["detectors"][key]}
    for name, value in (overrides or {}).items():
        if name not in pars:
            raise InputError(f"catalog parameter {name!r}", f"is not one of {', '.join(sorted(pars))}")
        pars[name] = value
    return pars


@functools.lru_cache(maxsize=None)
def _ci_table():
    rows = {}
    for line in CI_TABLE.read_text().splitlines():
        parts = line.split()
        if parts and not line.startswith("#") and len(parts) >= 6:
            rows[parts[0].upper()] = tuple(float(v) for v in parts[1:6])
    return rows


def ci_limits(instrument, detector, filter_name, pars):
    """``(ci_lower, ci_upper, ap_corr)``: HAP looks ``INST_DET_FILTER`` up in its table; a filter
    it does not list (totals, SBC, combined filters) takes the detector's defaults and no
    aperture correction (None)."""
    det = detector[:2] if instrument.lower() == "wfpc2" else detector
    row = _ci_table().get(f"{instrument}_{det}_{filter_name}".upper())
    if row is None:
        return float(pars["ci_lower"]), float(pars["ci_upper"]), None
    return row[1], row[3], row[4]
