"""AstroDrizzle's ``mdriztab``: parameters from an MDRIZTAB reference table (SPEC §1.1 item 8).

The table is a FITS binary table (extension 1) with one row per filter and minimum number of
images. Which table: ``mdriztab=true`` reads the MDRIZTAB keyword of the first exposure's
primary header, where a prefix such as ``jref$`` names an environment variable holding a
folder, as DrizzlePac resolves it; ``mdriztab=<path>`` names the table itself (an extension:
for tables not named by the headers or without CRDS folders).

Which row, as DrizzlePac chooses it: the rows whose FILTER equals the exposure's filter names
(ACS: FILTER1,FILTER2; WFC3: FILTER; blank names left out, joined by commas), or, when there are
none, the rows whose FILTER is ``ANY``; of those, the last one in table order whose NUMIMAGES is
at most the number of exposures. Deviation: when no row qualifies DrizzlePac silently takes the
table's first row (whatever its filter); here that is an InputError naming the table.

Which values win: the table's replace the defaults, a user's settings win over the table
(DrizzlePac merges the caller's own keywords back after the table). A user's setting is a
product's own override, or a top-level value that differs from the default: config files
commonly list every parameter at its default (``python -m snakedrizzle.workflow.config``), and
such a file would otherwise shut the table out entirely.
"""
import logging
import math
import os
import re

from astropy.io import fits

from snakedrizzle.errors import InputError

log = logging.getLogger("snakedrizzle")

# The filter keywords DrizzlePac joins for each instrument (stsci.tools getFilterNames).
FILTER_KEYWORDS = {"ACS": ("FILTER1", "FILTER2"), "WFC3": ("FILTER", "FILTER2")}
# Columns named differently in the table, and the columns that set two parameters.
RENAMED = {"subsky": "skysub", "crbitval": "crbit", "readnoise": "rdnoise"}
BOTH_STEPS = {"refimage": ("driz_sep_refimage", "final_refimage"), "bits": ("driz_sep_bits", "final_bits"),
              "ra": ("driz_sep_ra", "final_ra"), "dec": ("driz_sep_dec", "final_dec")}
# Row selection, bookkeeping of DrizzlePac's file handling and run control: never parameters
# of the drizzle stages (staticfile and shiftfile DrizzlePac drops too).
NOT_PARAMETERS = {"filter", "numimages", "mdriztab", "shiftfile", "staticfile", "runfile", "workinplace",
                  "updatewcs", "clean", "build", "num_cores", "in_memory", "preserve", "overwrite", "restore",
                  "input", "output"}
# DrizzlePac's "no value" marker of integer columns.
INT_NULL = -2147483647


def resolve_path(spec, where):
    """A table path: ``prefix$name`` with the folder from the environment variable ``prefix``
    (as DrizzlePac's IRAF-style names), ``~`` expanded. InputError naming ``where`` when the
    variable is unset or the file is missing."""
    spec = str(spec).strip()
    match = re.match(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)\$(?P<rest>.*)$", spec)
    if match:
        folder = os.environ.get(match["var"])
        if folder is None:
            raise InputError(where, f"MDRIZTAB {spec!r}: environment variable {match['var']!r} "
                             "(the folder of the reference files) is not set")
        spec = os.path.join(folder, match["rest"])
    path = os.path.expanduser(spec)
    if not os.path.isfile(path):
        raise InputError(where, f"MDRIZTAB table {path!r} not found")
    return path


def table_path(setting, first_exposure):
    """The table ``mdriztab`` points to: a path, or (true) the first exposure's MDRIZTAB."""
    if isinstance(setting, str):
        return resolve_path(setting, "mdriztab")
    header = fits.getheader(first_exposure, 0)
    if not str(header.get("MDRIZTAB", "")).strip():
        raise InputError(first_exposure, "mdriztab=true but the primary header has no MDRIZTAB keyword "
                         "(give the table's path as mdriztab instead)")
    return resolve_path(header["MDRIZTAB"], first_exposure)


def filter_names(header):
    """The exposure's filters as MDRIZTAB rows spell them, e.g. 'F606W,CLEAR2S'."""
    keys = FILTER_KEYWORDS.get(str(header.get("INSTRUME", "")).strip().upper(), ("FILTER",))
    values = [str(header.get(k, "")).strip() for k in keys]
    return ",".join(v for v in values if v)


def select_row(table, filters, n_images, path="MDRIZTAB"):
    """0-based index of the row DrizzlePac uses (see the module's docstring)."""
    names = [str(f).strip() for f in table["FILTER"]]
    rows = [i for i, f in enumerate(names) if f == filters] or [i for i, f in enumerate(names) if f == "ANY"]
    chosen = [i for i in rows if n_images >= int(table["NUMIMAGES"][i])]
    if not chosen:
        raise InputError(path, f"no row for filter {filters!r} (or ANY) with NUMIMAGES <= {n_images}")
    return chosen[-1]


def _value(column, value):
    """A table cell as a parameter value: blank strings '' (then normalised like the command
    line, so 'INDEF' is None), NaN None, the integer null None, logical columns booleans."""
    fmt = column.format.upper()
    if "A" in fmt:
        return str(value).strip()
    if "L" in fmt:
        return bool(value)
    if any(c in fmt for c in "IJK"):
        return None if int(value) == INT_NULL else int(value)
    number = float(value)
    return None if math.isnan(number) else number


def row_parameters(table_file, row):
    """{parameter: value} of one row, under AstroDrizzle's parameter names."""
    with fits.open(table_file) as hdul:
        data, columns = hdul[1].data, hdul[1].columns
        out = {}
        for column in columns:
            name = column.name.lower()
            if name in NOT_PARAMETERS:
                continue
            value = _value(column, data[row][column.name])
            if name == "coeffs":  # DrizzlePac: a blank or INDEF entry switches distortion off
                value = str(value).strip().upper() not in ("", "INDEF", "NONE", "FALSE")
            if name in ("bits", "driz_sep_bits", "final_bits") and value is not None:
                value = str(value)
            for target in BOTH_STEPS.get(name, (RENAMED.get(name, name),)):
                out[target] = value
    return out


def table_parameters(setting, exposure_files):
    """(table file, 1-based row, {parameter: value}) for a product's exposures."""
    path = table_path(setting, exposure_files[0])
    try:
        with fits.open(path) as hdul:
            table = hdul[1].data
            columns = {c.upper() for c in hdul[1].columns.names}
            if not {"FILTER", "NUMIMAGES"} <= columns:
                raise InputError(path, "not an MDRIZTAB table: it needs FILTER and NUMIMAGES columns")
            row = select_row(table, filter_names(fits.getheader(exposure_files[0], 0)), len(exposure_files), path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(path, f"not a readable MDRIZTAB table ({exc})") from None
    return path, row + 1, row_parameters(path, row)


def resolve(params, exposure_files, explicit=()):
    """A product's parameters as its stages get them: with the MDRIZTAB row's values when
    ``mdriztab`` is set (``exposure_files()`` gives the product's files; ``explicit`` the names a
    product sets itself). ``align`` drizzles with the WCS it fits to the primary one, so an
    alternate ``wcskey`` would be silently ignored: the two are refused together."""
    from snakedrizzle.workflow.params import DEFAULTS

    if params["mdriztab"]:
        params = apply(params, exposure_files(), DEFAULTS, explicit)
    if params["align"] and (params["wcskey"] or "").strip():
        raise InputError("wcskey", f"wcskey={params['wcskey']!r} with align=true: the aligned WCS "
                         "replaces the inputs' WCS; use one or the other")
    return params


def apply(params, exposure_files, defaults, explicit=()):
    """``params`` with the table's values for every parameter the user left at its default
    (``explicit``: names set by the user even where they equal the default). The table's
    values pass the same checks as the config's; columns that are no parameter here are
    logged and left out."""
    from snakedrizzle.workflow.config import check_params

    path, row, values = table_parameters(params["mdriztab"], exposure_files)
    unknown = sorted(k for k in values if k not in defaults)
    if unknown:
        log.info("MDRIZTAB %s: columns without a parameter here, not used: %s", path, ", ".join(unknown))
    # An empty cell (NaN, blank, the integer null) of a parameter that cannot be None says
    # nothing: the parameter keeps its value.
    chosen = {k: v for k, v in values.items() if k in defaults and k not in explicit
              and _same(params.get(k), defaults[k]) and (v is not None or defaults[k] is None)}
    checked = check_params(chosen, where=f"{path} row {row}")
    log.info("MDRIZTAB %s: parameters read from row %d", path, row)
    return {**params, **checked}


def _same(value, default):
    """Whether a parameter still has its default (True is not 1; a tuple equals its list)."""
    def plain(v):
        return list(v) if isinstance(v, tuple) else v
    return plain(value) == plain(default) and isinstance(value, bool) == isinstance(default, bool)
