"""runastrodriz's AstroDrizzle parameters and switches (SPEC-HAP H5.4, H9 steps 4 and 8, H1).

Final products: the MDRIZTAB row when the user names the table (config ``mdriztab``: a path, or
true for the table the exposures' MDRIZTAB keyword names), else HAP's filter-level set for the
detector and number of exposures (snakedrizzle.hap.parsets, mode 'pipeline'), with the values the
pipeline fixes (``resetbits 4096``; DrizzlePac's in_memory/stepsize/preserve/clean have no effect
on the pixels here).

Verification drizzles (H9 step 4): the same set with ``final_fillval INDEF``, ``driz_sep_kernel
turbo``, ``driz_sep_fillval 0`` and, when the longest exposure is more than twice the shortest,
``combine_type median`` with ``combine_nhigh 0``. The default stage finds the cosmic rays; the later
stages reuse its CR masks (the masks live in input pixels, which no WCS change moves), as
DrizzlePac's "CR flags already verified" runs do, and keep the separate drizzle for the checks.
"""
import os

from snakedrizzle.hap import parsets

__all__ = ["final_pars", "verification_pars", "later_stage_pars", "switch", "FINAL_FIXED"]

FINAL_FIXED = {"resetbits": "4096"}
VERIFY_FIXED = {"final_fillval": None, "driz_sep_kernel": "turbo", "driz_sep_fillval": 0.0,
                "resetbits": "0"}
_SWITCH_WORDS = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}


def switch(name, default):
    """DrizzlePac's environment switches (H1): on/yes/true, off/no/false; unset -> default."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word not in _SWITCH_WORDS:
        raise ValueError(f"environment variable {name}={value!r}: must be on/yes/true or off/no/false")
    return _SWITCH_WORDS[word]


def final_pars(instrument, detector, n_exposures, mdriztab=False, expstart=None, filter_name=None):
    """Parameter overrides of a final product: ``{'mdriztab': ...}`` plus the fixed values when
    the user names an MDRIZTAB (the plan's params() then fills the rest from its row), else the
    whole built-in set."""
    if mdriztab:
        return {"mdriztab": mdriztab, **FINAL_FIXED}
    pars = parsets.astrodrizzle_pars(instrument, detector, "filter", n_exposures, "pipeline",
                                     expstart=expstart, filter_name=filter_name)
    return {**pars, **FINAL_FIXED}


def verification_pars(final, exptimes):
    """The verification drizzles' overrides, from the final product's."""
    pars = {**final, **VERIFY_FIXED}
    if exptimes and min(exptimes) > 0 and max(exptimes) / min(exptimes) > 2:
        pars.update(combine_type="median", combine_nhigh=0)
    return pars


def later_stage_pars(verification):
    """A priori / a posteriori verification: no CR search of its own (the default stage's masks
    are read instead), the separate drizzle kept for the overlap and focus checks."""
    return {**verification, "static": False, "median": False, "blot": False, "driz_cr": False,
            "driz_separate": True}
