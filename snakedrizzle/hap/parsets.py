"""HAP's AstroDrizzle parameter sets: which set a product gets, its values, and user overrides.

The values are data, in ``snakedrizzle/hap/parameter_sets/`` (package data, shipped in the wheel):

``common.yaml``
    ``hap_common``: every AstroDrizzle parameter HAP sets, with the value most of HAP's sets share;
    ``sets``: the detector-independent sets (``single``, ``filter``, ``n1``).
``<instrument>_<detector>.yaml`` (acs_wfc, acs_hrc, acs_sbc, wfc3_uvis, wfc3_ir, wfpc2_pc)
    one section per mode (``svm``, ``mvm``, ``pipeline``), each with
    ``select``: per product level, rules tried in order; the first rule whose conditions all hold
    names the set. Conditions: ``n`` (an exact number of exposures, or ``[min, max]`` with
    ``null`` for no upper bound), ``filters`` (list of lower-case filter names), ``epoch``
    (``pre2012``/``post2012``: the product's first EXPSTART before/after the WFC3/UVIS change of
    2012-11-08T02:59:15 UTC). A level ``any`` serves every level.
    ``sets``: named sets, each listing only where it differs from ``hap_common``. A rule's set is
    looked up in the mode's own sets, then (for ``pipeline``) the file's ``svm`` sets, then
    ``common.yaml``'s sets. A detector without a ``pipeline`` section (all but WFPC2) gives
    ``runastrodriz`` its SVM filter-level set for the same number of exposures: the stand-in
    for the MDRIZTAB row when the user names no MDRIZTAB.

The values are DrizzlePac 3.11.0's ``pars/hap_pars`` tables under snakedrizzle's parameter names
(SPEC-HAP H5.2, H5.3, H5.4). HAP's names that snakedrizzle has no parameter for are listed in
``HAP_ONLY_NAMES`` with what stands in for them. After the set, HAP's own code fixes a few values
(SPEC-HAP H5.1), applied here too: ``resetbits='0'`` for exposure and total products and for a
filter product of one exposure; ``context=False`` for MVM.

``n_exposures``: SVM exposure products count the exposures of their filter (``n == 1`` is HAP's
singleton), filter and total products their own members; MVM layers pass ``round(MEANNEXP)``.

User overrides (``overrides=``: a mapping or a YAML file, e.g. ``--config svm_pars=my.yaml``)::

    final_pixfrac: 0.9          # every product
    filter:                     # every filter product
      driz_cr_snr: [4.0, 3.0]
    total.final_bits: 336       # dotted names mean the same as nesting
    acs_wfc:                    # ACS/WFC products only
      filter: {combine_type: median}
    acs_wfc.exposure.final_bits: 0

A scope is a level (``exposure``, ``filter``, ``total``; ``layer`` = ``filter``) and/or an
``<instrument>_<detector>``. The more specific scope wins: plain < level < detector <
detector and level. Every entry is checked before any product is built, whether or not it
applies to this product: an unknown scope, an unknown or non-AstroDrizzle parameter, a value the
schema refuses or an entry given twice raise InputError naming the source and the entry.
"""
import copy
import functools
from pathlib import Path

import yaml

from snakedrizzle.errors import InputError
from snakedrizzle.workflow import config as _config
from snakedrizzle.workflow.params import ALIGN_DEFAULTS, DEFAULTS

DATA_DIR = Path(__file__).resolve().parent / "parameter_sets"
MODES = ("svm", "mvm", "pipeline")
LEVELS = ("exposure", "filter", "total")
LEVEL_ALIASES = {"layer": "filter"}
DETECTORS = ("acs_wfc", "acs_hrc", "acs_sbc", "wfc3_uvis", "wfc3_ir", "wfpc2_pc")
# AstroDrizzle's parameters (TweakReg's share the configuration but not these sets).
ASTRODRIZZLE_NAMES = tuple(k for k in DEFAULTS if k not in ALIGN_DEFAULTS)
# Parameters holding a DQ bit expression: one spelling (a string), so 336 and '336' are the same
# value for provenance and for Snakemake's parameter-change detection.
_BIT_NAMES = tuple(k for k in ASTRODRIZZLE_NAMES if "DQ bit" in _config.PROPERTIES[k].get("x-allowed", ""))

# MJD of 2012-11-08T02:59:15 UTC: HAP chooses WFC3/UVIS sets by the first exposure's EXPSTART.
UVIS_EPOCH_MJD = 56239.12447916667

# Names in HAP's tables that are not snakedrizzle parameters, and what takes their place.
HAP_ONLY_NAMES = {
    "runfile": "the trailer: HAP sets it per product; snakedrizzle writes rule logs",
    "restore": "inputs are never modified here, so there is nothing to restore",
    "preserve": "idem (HAP forces False)",
    "overwrite": "idem",
    "clean": "intermediate files are Snakemake targets; temp() decides",
    "gnkeyword": "gain=None reads the detector's gain keywords (ATODGN*) from the header",
    "rnkeyword": "rdnoise=None reads the read-noise keywords (READNSE*) from the header",
    "expkeyword": "exptime=None reads EXPTIME",
    "_mdriztab_btn_": "a GUI button of TEAL",
}


@functools.lru_cache(maxsize=None)
def _read(name):
    path = DATA_DIR / f"{name}.yaml"
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "parameter table missing from the package") from None


def _detector_key(instrument, detector):
    key = f"{str(instrument).strip().lower()}_{str(detector).strip().lower()}"
    if key not in DETECTORS:
        raise InputError(f"{instrument}/{detector}",
                         f"no HAP parameter sets for this instrument/detector (known: {', '.join(DETECTORS)})")
    return key


def _level(level, mode):
    name = LEVEL_ALIASES.get(str(level).lower(), str(level).lower())
    if name not in LEVELS:
        raise InputError(f"level={level!r}", f"must be one of {', '.join(LEVELS)} (or 'layer' for MVM)")
    if mode == "mvm" and name != "filter":
        raise InputError(f"level={level!r}", "MVM makes only filter layers (level 'filter' or 'layer')")
    return name


def _in_range(n, cond):
    if isinstance(cond, (list, tuple)):
        low, high = cond
        return n >= low and (high is None or n <= high)
    return n == cond


def _rule_holds(rule, n, filter_name, expstart, where):
    if "n" in rule and not _in_range(n, rule["n"]):
        return False
    if "filters" in rule:
        if filter_name is None:
            raise InputError(where, "this product's set depends on its filter: pass filter_name")
        if str(filter_name).lower() not in rule["filters"]:
            return False
    if "epoch" in rule:
        if expstart is None:
            raise InputError(where, "this product's set depends on the date: pass expstart (MJD)")
        epoch = "pre2012" if float(expstart) < UVIS_EPOCH_MJD else "post2012"
        if epoch != rule["epoch"]:
            return False
    return True


def select_set(instrument, detector, level, n_exposures, mode="svm", *, filter_name=None, expstart=None):
    """The name of the HAP parameter set a product gets (SPEC-HAP H5.1, H5.4)."""
    key = _detector_key(instrument, detector)
    if mode not in MODES:
        raise InputError(f"mode={mode!r}", f"must be one of {', '.join(MODES)}")
    section = _read(key).get(mode)
    where = f"{key} {mode}"
    level = _level(level, mode)
    if section is None and mode == "pipeline":
        # runastrodriz reads the MDRIZTAB row (SPEC.md §5.1); without the table (no CRDS here)
        # HAP's filter-level sets for the same exposure count stand in for it (README).
        section, level = _read(key)["svm"], "filter"
    if section is None:
        raise InputError(where, "no parameter sets for this mode")
    n = int(n_exposures)
    if n < (0 if mode == "mvm" else 1):
        raise InputError(f"n_exposures={n_exposures}", "a product needs at least one exposure")
    rules = section["select"].get(level, section["select"].get("any"))
    for rule in rules or ():
        if _rule_holds(rule, n, filter_name, expstart, f"{where} {level}"):
            return rule["set"]
    raise InputError(f"{where} {level}", f"no parameter set for n_exposures={n}")


def _set_values(key, mode, name):
    table = _read(key)
    for section in (table.get(mode), table.get("svm") if mode == "pipeline" else None, _read("common")):
        sets = (section or {}).get("sets") or {}
        if name in sets:
            return sets[name] or {}
    raise InputError(f"{key}.yaml", f"{mode} rule names an unknown set {name!r}")


def _code_overrides(level, n, mode):
    """What HAP's code sets after reading the table (SPEC-HAP H5.1)."""
    fixed = {}
    if mode == "svm" and (level in ("exposure", "total") or (level == "filter" and n == 1)):
        fixed["resetbits"] = "0"
    if mode == "mvm":
        fixed["context"] = False
    return fixed


def _one_spelling(pars):
    return {k: (str(v) if k in _BIT_NAMES and isinstance(v, int) and not isinstance(v, bool) else v)
            for k, v in pars.items()}


def astrodrizzle_pars(instrument, detector, level, n_exposures, mode="svm", overrides=None, *,
                      filter_name=None, expstart=None):
    """AstroDrizzle's parameters (snakedrizzle names, every one of them) for one HAP product:
    the selected set over ``hap_common`` and AstroDrizzle's defaults, HAP's code overrides, then
    the user's ``overrides`` (mapping or YAML path; see the module docstring). The output frame
    (final_ra/dec/crpix/outnx/ny) is the caller's: the visit meta-WCS (snakedrizzle.hap.metawcs)."""
    key = _detector_key(instrument, detector)
    name = select_set(instrument, detector, level, n_exposures, mode,
                      filter_name=filter_name, expstart=expstart)
    level = _level(level, mode)
    pars = {k: copy.deepcopy(DEFAULTS[k]) for k in ASTRODRIZZLE_NAMES}
    pars.update(copy.deepcopy(_read("common")["hap_common"]))
    pars.update(copy.deepcopy(_set_values(key, mode, name)))
    pars.update(_code_overrides(level, int(n_exposures), mode))
    if overrides is not None:
        pars = merge_overrides(pars, overrides, key, level)
    return _one_spelling(_config.check_params(pars, where=f"HAP {key} {mode} {level} set {name!r}"))


def load_overrides(source):
    """(overrides mapping, where it came from for messages) from a mapping or a YAML file (an
    empty file means none)."""
    if isinstance(source, dict):
        return source, "overrides"
    path = Path(source)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputError(str(path), f"cannot read the parameter overrides ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}, str(path)
    if not isinstance(data, dict):
        raise InputError(str(path), "must be a mapping of parameter names (optionally scoped) to values")
    return data, str(path)


def _scope_of(parts, entry, where):
    """(detector or None, level or None) from the scope words of one entry."""
    detector = level = None
    for word in parts:
        word_l = str(word).lower()
        if LEVEL_ALIASES.get(word_l, word_l) in LEVELS and level is None:
            level = LEVEL_ALIASES.get(word_l, word_l)
        elif word_l in DETECTORS and detector is None:
            detector = word_l
        else:
            raise InputError(where, f"{entry}: unknown or repeated scope {word!r} (scopes: "
                                    f"{', '.join(LEVELS)}, or one of {', '.join(DETECTORS)})")
    return detector, level


def _flatten(data, prefix=()):
    for key, value in data.items():
        parts = prefix + tuple(str(key).split("."))
        if isinstance(value, dict):
            yield from _flatten(value, parts)
        else:
            yield parts, value


def parse_overrides(source):
    """Checked overrides: {(detector or None, level or None): {parameter: value}}. Raises
    InputError naming the source and the entry for any problem (module docstring)."""
    data, where = load_overrides(source)
    scoped = {}
    for parts, value in _flatten(data):
        entry = ".".join(parts)
        name = parts[-1]
        scope = _scope_of(parts[:-1], entry, where)
        if name not in ASTRODRIZZLE_NAMES:
            if name not in DEFAULTS:
                # the configuration's own message: unknown parameter, with the nearest name
                _config.check_params({name: value}, where=f"{where} [{entry}]")
            raise InputError(where, f"{entry}: not an AstroDrizzle parameter (a TweakReg parameter; "
                                    "HAP sets hold AstroDrizzle's)")
        checked = _config.check_params({name: value}, where=f"{where} [{entry}]")
        bucket = scoped.setdefault(scope, {})
        if name in bucket:
            raise InputError(where, f"{entry}: given twice for the same products")
        bucket[name] = checked[name]
    return scoped


def merge_overrides(pars, overrides, detector_key, level):
    """``pars`` with the overrides that apply to a product of ``detector_key`` at ``level``,
    the most specific scope last (module docstring). ``overrides``: mapping, YAML path, or the
    result of parse_overrides."""
    scoped = overrides if _is_parsed(overrides) else parse_overrides(overrides)
    merged = dict(pars)
    for scope in ((None, None), (None, level), (detector_key, None), (detector_key, level)):
        merged.update(scoped.get(scope, {}))
    return merged


def _is_parsed(overrides):
    return isinstance(overrides, dict) and all(isinstance(k, tuple) for k in overrides) and bool(overrides)
