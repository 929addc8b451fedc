"""The user's alignment-parameter overrides (``--config align_pars=FILE``), for the SVM visit fit
and runastrodriz's a posteriori fit.

The file is YAML: ``name: value`` for every detector, or under an ``<instrument>_<detector>`` key
for one (the detector's entry wins)::

    searchrad: 100          # pixels, the 2dhist fit's search radius
    max_fit_rms: 30         # mas
    acs_hrc:
      max_sources: 400

Names are those of snakedrizzle.hap.align.pars (COMMON_PARS, DETECTOR_PARS); an unknown name,
scope or a value of the wrong type is an InputError naming the file and the entry. The values
reach only the alignment rules' params, so changing one reruns the alignment and what follows.
"""
import yaml

from snakedrizzle.errors import InputError
from snakedrizzle.hap.align.pars import COMMON_PARS, DETECTOR_PARS

__all__ = ["alignment_overrides"]

KNOWN = {**COMMON_PARS, **next(iter(DETECTOR_PARS.values()))}


def _load(source):
    if isinstance(source, dict):
        return source, "align_pars"
    try:
        with open(source) as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise InputError(source, f"cannot read the alignment overrides ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(source, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is not None and not isinstance(data, dict):
        raise InputError(source, "must be a mapping of alignment parameter names to values")
    return data or {}, source


def _checked(entries, where):
    out = {}
    for name, value in entries.items():
        if name not in KNOWN:
            raise InputError(where, f"unknown alignment parameter {name!r} (known: {', '.join(sorted(KNOWN))})")
        want = type(KNOWN[name])
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or isinstance(value, bool) != (want is bool):
            raise InputError(where, f"{name}={value!r}: must be {want.__name__}")
        out[name] = value
    return out


def alignment_overrides(source, detector_key):
    """The overrides for one detector (``acs_wfc``, ...) from a file or mapping; {} for none."""
    if not source:
        return {}
    data, where = _load(source)
    plain = {k: v for k, v in data.items() if k not in DETECTOR_PARS}
    for key, entries in data.items():
        if key in DETECTOR_PARS and not isinstance(entries, dict):
            raise InputError(where, f"{key}: must map parameter names to values")
    scoped = {key: _checked(entries, f"{where} [{key}]") for key, entries in data.items() if key in DETECTOR_PARS}
    return {**_checked(plain, where), **scoped.get(detector_key, {})}
