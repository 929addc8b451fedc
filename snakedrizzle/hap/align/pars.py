"""The SVM/pipeline alignment parameters (SPEC-HAP H6.1): plain data, light to import (the
workflow's planning process reads them to check overrides; the source finder that uses them
imports photutils)."""

__all__ = ["DETECTOR_PARS", "COMMON_PARS", "SOURCE_KEYS", "alignment_pars", "source_pars"]

# H6.1 per detector: box size, background estimator, search radius of the 2dhist fit (pixels).
_WIDE = {"box_size": 27, "bkg_estimator": "sextractor", "searchrad": 400.0}
_SMALL = {"box_size": 13, "bkg_estimator": "median", "searchrad": 250.0}
DETECTOR_PARS = {"acs_wfc": _WIDE, "wfc3_uvis": _WIDE, "acs_hrc": _SMALL, "acs_sbc": _SMALL,
                 "wfc3_ir": _SMALL, "wfpc2_pc": _SMALL}
# H6.1 common values (SVM = MVM), with the effective per-chip source cap of 250 (the quirk).
COMMON_PARS = {"win_size": 3, "nsigma": 3.0, "threshold_factor": 1.1, "fwhmpsf": 0.13,
               "max_sources": 250, "relative_searchrad": 125.0, "separation": 4.0, "tolerance": 2.0,
               "fitgeom": "rscale", "minobj": 12, "nclip": 1, "sigma": 3.0,
               "min_catalog": 3, "min_fit_matches": 4, "max_fit_rms": 20.0, "max_fit_limit": 150.0,
               # H6.4 match_default_fit, tried last
               "default_searchrad": 250.0, "default_separation": 0.1, "default_tolerance": 10.0,
               # SVM, not HAP: without a usable reference catalog align the exposures to each other
               "relative_fallback": True}
SOURCE_KEYS = ("box_size", "bkg_estimator", "win_size", "nsigma", "threshold_factor", "fwhmpsf", "max_sources")


def alignment_pars(detector_key, overrides=None):
    """The alignment parameters of a detector (H6.1), with the user's overrides."""
    pars = {**COMMON_PARS, **DETECTOR_PARS.get(detector_key, _SMALL)}
    pars.update(overrides or {})
    return pars


def source_pars(pars):
    return {k: pars[k] for k in SOURCE_KEYS}
