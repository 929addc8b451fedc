"""The configuration boundary: every parameter of a run passes here once, before any job.

``config.schema.json`` (beside the Snakefile) is the one place where parameters, their defaults
and their allowed values are written. This module reads it, turns command-line spellings into
typed values (``'INDEF'`` -> None, ``'true'`` -> True, ``'3.5 3.0'`` -> ``[3.5, 3.0]``), checks
them against the schema and fills in the defaults. A bad value ends the run with one line naming
the parameter, the value and what is allowed, e.g. ``config: final_outnx=-5: must be >= 1``.

``python -m snakedrizzle.workflow.config`` prints every parameter with its default as YAML: a
complete config file to edit.
"""
import copy
import difflib
import json
import math
import sys
from pathlib import Path

import jsonschema

from snakedrizzle.errors import InputError

# What a run sets besides the parameters: which products to make.
RUN_KEYS = ("input", "output", "products", "poller", "svm_pars", "svm_by_obset", "refcat_name",
            "svm_catalog_pars", "align_pars", "runastrodriz", "pipeline_force", "pipeline_apriori",
            "pipeline_aposteriori", "pipeline_headerlets")


def _schema_file():
    """config.schema.json sits beside the Snakefile: in the wheel's package data
    (snakedrizzle/workflow/files/, as snakedrizzle.workflow.runner.workflow_dir finds it), else
    in the checkout's root."""
    here = Path(__file__).resolve()
    candidates = (here.parent / "files" / "config.schema.json", here.parents[2] / "config.schema.json")
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"config.schema.json not found in {[str(p) for p in candidates]}")


SCHEMA_FILE = _schema_file()
SCHEMA = json.loads(SCHEMA_FILE.read_text())
PROPERTIES = SCHEMA["properties"]
# AstroDrizzle's and TweakReg's parameters with their defaults, in the schema's order.
DEFAULTS = {k: p["default"] for k, p in PROPERTIES.items() if k not in RUN_KEYS}
# Run keys that are switches (true/false words on the command line).
RUN_SWITCHES = tuple(k for k in RUN_KEYS if isinstance(PROPERTIES[k]["default"], bool))
# Parameters that hold a list of numbers (DrizzlePac writes them as one string, '3.5 3.0').
MULTI_VALUE = tuple(k for k, p in PROPERTIES.items()
                    if p.get("type") == "array" and p.get("items", {}).get("type") == "number")

# A product of the ``products:`` list: input and output, and any parameter as an override.
PRODUCT_SCHEMA = {
    "type": "object",
    "required": ["input", "output"],
    "properties": {k: {**p, "minLength": 1} if k in ("input", "output") else p
                   for k, p in PROPERTIES.items() if k != "products"},
    "additionalProperties": False,
}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
_PARAMS_VALIDATOR = jsonschema.Draft202012Validator(
    {"type": "object", "properties": {k: PROPERTIES[k] for k in DEFAULTS}, "additionalProperties": False})
_PRODUCT_VALIDATOR = jsonschema.Draft202012Validator(PRODUCT_SCHEMA)

# Command-line spellings of "no value" (for parameters whose default is None) and of switches.
_NONE_WORDS = {"", "none", "indef", "null"}
_BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _numbers(value):
    """'3.5 3.0', '3.5,3.0', [3.5, '3.0'] -> [3.5, 3.0]; anything else (a word, a switch, a
    non-finite number) is returned unchanged for validation to refuse with its own message."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or any(isinstance(v, bool) for v in items):
        return value
    try:
        numbers = [float(v) for v in items]
    except (TypeError, ValueError):
        return value
    return numbers if all(math.isfinite(v) for v in numbers) else value


def normalise(params):
    """Command-line spellings to one typed form: 'None'/'INDEF'/'' -> None for parameters that
    default to None, 'true'/'false' -> booleans for switches, multi-value strings -> lists of
    floats. Unknown keys and values that do not parse are left for validation to report."""
    out = dict(params)
    for key, value in params.items():
        if key not in DEFAULTS and key not in RUN_SWITCHES:
            continue
        default = PROPERTIES[key]["default"]
        if key in MULTI_VALUE:
            out[key] = _numbers(value)
        elif isinstance(value, str):
            word = value.strip().lower()
            if default is None and word in _NONE_WORDS:
                out[key] = None
            elif isinstance(default, bool) and word in _BOOL_WORDS:
                out[key] = _BOOL_WORDS[word]
    return out


_TYPE_WORDS = {"number": "a number", "integer": "an integer", "boolean": "true or false",
               "string": "a string", "null": "null (None/INDEF)", "array": "a list",
               "object": "a mapping"}
_BOUND_WORDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _show(value):
    """A value as the user would write it: strings quoted, numbers/lists/null as in YAML."""
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _unknown(names, known):
    """One line for unknown parameters, with the nearest known name as a hint."""
    name = names[0]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    more = f" (and {', '.join(names[1:])})" if names[1:] else ""
    return f"unknown parameter {name!r}{hint}{more}"


def _allowed(prop, error, value):
    """What the schema allows, in words, for the property whose value failed."""
    if value in prop.get("x-not-implemented", ()):
        return f"{value} is not implemented yet; allowed: {', '.join(map(str, prop['enum']))}"
    if "x-allowed" in prop:
        return "must be " + prop["x-allowed"]
    if error.validator == "enum":
        return "must be one of " + ", ".join(map(str, error.validator_value))
    if error.validator in _BOUND_WORDS:
        return f"must be {_BOUND_WORDS[error.validator]} {error.validator_value}"
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in types)
    if error.validator == "minLength":
        return "must not be empty"
    return error.message[:200]


def describe(error, raw):
    """One line for a jsonschema error: 'name=value: what is allowed'. ``raw`` holds the values
    as the user spelled them (before normalisation), which the message repeats."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        names = sorted(set(error.instance) - set(error.schema["properties"]))
        return _unknown(names, list(error.schema["properties"]))
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if not path:
        return "must be a mapping of parameter names to values"
    name = path[0]
    prop = PROPERTIES.get(name, {})
    value = raw.get(name, error.instance) if isinstance(raw, dict) else error.instance
    return f"{name}={_show(value)}: {_allowed(prop, error, error.instance if len(path) == 1 else value)}"


def _check(validator, params, raw, where):
    error = jsonschema.exceptions.best_match(validator.iter_errors(params))
    if error is not None:
        raise InputError(where, describe(error, raw))


def check_params(params, where="config"):
    """Normalised, validated parameters (no defaults filled, no input/output/products): the
    Python API's check. Raises InputError with one line naming the parameter, the value and
    what is allowed."""
    normal = normalise(params)
    _check(_PARAMS_VALIDATOR, normal, params, where)
    _one_refcat(normal, where)
    return normal


def _one_refcat(params, where):
    """TweakReg's refcat is one file; a list of catalogs is the SVM's and runastrodriz's."""
    if isinstance(params.get("refcat"), list):
        raise InputError(where, f"refcat={_show(params['refcat'])}: one file here (a list of catalogs, "
                                "tried in order, is for SVM (poller) and runastrodriz)")


def check_reference_catalogs(config):
    """SVM and runastrodriz: ``refcat`` and ``refcat_name`` pair up (one name per file) and every
    refcat file exists, so a mistake is one line before any job (not a missing-input error of
    one job). Plain AstroDrizzle/TweakReg runs take one refcat file, as TweakReg does."""
    if not (config.get("poller") or config.get("runastrodriz")):
        _one_refcat(config, "config")
        return
    from snakedrizzle.hap.align.refcat import catalog_list

    try:
        catalogs = catalog_list(config.get("refcat"), config.get("refcat_name"))
    except InputError as exc:
        raise InputError("config", f"{exc.path}: {exc.problem}") from None
    for name, path in catalogs:
        if path and not Path(path).expanduser().is_file():
            raise InputError(path, f"refcat file not found (the {name} reference catalog; "
                                   f"relative names are read from {Path.cwd()})")


def _product_where(index, product):
    name = product.get("output") if isinstance(product, dict) else None
    return f"config: products[{index}]" + (f" (output={name})" if name else "")


def check_config(config):
    """The whole run's configuration, normalised, validated and completed with the defaults;
    each item of ``products`` is checked like the top level (its overrides are normalised, not
    completed: the top level's values fill them). Raises InputError naming the first problem."""
    raw = dict(config)
    out = normalise(config)
    _check(_VALIDATOR, out, raw, "config")
    check_reference_catalogs(out)
    products = []
    for index, product in enumerate(out.get("products") or []):
        normal = normalise(product)
        _check(_PRODUCT_VALIDATOR, normal, product, _product_where(index, product))
        _one_refcat(normal, _product_where(index, product))
        products.append(normal)
    completed = {k: copy.deepcopy(p["default"]) for k, p in PROPERTIES.items()}
    completed.update(out)
    completed["products"] = products
    return completed


def workflow_config(config):
    """check_config for the Snakefile: a bad configuration stops Snakemake before any job with
    only the one line (no traceback into this module, no dump of the schema)."""
    from snakemake.exceptions import WorkflowError

    try:
        return check_config(config)
    except InputError as exc:
        raise WorkflowError(str(exc)) from None


def defaults_yaml():
    """Every parameter with its default, as a YAML config file."""
    import yaml

    header = "# snakedrizzle: every parameter with its default (from config.schema.json)\n"
    run = {k: PROPERTIES[k]["default"] for k in RUN_KEYS}
    return header + yaml.safe_dump({**run, **DEFAULTS}, sort_keys=False, default_flow_style=None)


if __name__ == "__main__":
    sys.stdout.write(defaults_yaml())
