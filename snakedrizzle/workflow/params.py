"""Which stage uses which of AstroDrizzle's and TweakReg's parameters (DrizzlePac 3.11.0 names,
SPEC §1; their defaults are written once, in config.schema.json). A rule gets exactly its stage's
parameters through ``params:``, so changing one parameter reruns exactly the stages that use it."""
from snakedrizzle.workflow import config as _config

# Every parameter's default comes from config.schema.json, the one place they are written
# (snakedrizzle.workflow.config reads it); this module says only which stage uses which.
DEFAULTS = dict(_config.DEFAULTS)

_INSTRUMENT = ("exptime", "gain", "rdnoise")
_SEP_FRAME = ("driz_sep_wcs", "driz_sep_refimage", "driz_sep_rot", "driz_sep_scale", "driz_sep_outnx",
              "driz_sep_outny", "driz_sep_ra", "driz_sep_dec", "driz_sep_crpix1", "driz_sep_crpix2")

STAGES = {
    "static": ("static", "static_sig"),
    "sky_stats": ("skystat", "skywidth", "skylower", "skyupper", "skyclip", "skylsigma", "skyusigma",
                  "use_static", "sky_bits", "resetbits", "exptime", "skymask_cat"),
    "sky": ("skysub", "skymethod", "skyfile", "skyuser", "exptime"),
    # Sky matching: each pair's overlap statistics (the chip statistic's parameters, and the
    # distortion that shapes the footprints), then one solve that depends on the method.
    "sky_pair": ("skystat", "skywidth", "skylower", "skyupper", "skyclip", "skylsigma", "skyusigma",
                 "use_static", "sky_bits", "resetbits", "exptime", "coeffs", "skymask_cat"),
    "sky_match": ("skymethod",),
    "separate_frame": _SEP_FRAME + ("coeffs",),
    "driz_separate": ("driz_sep_kernel", "driz_sep_wt_scl", "driz_sep_pixfrac", "driz_sep_fillval",
                      "driz_sep_bits", "resetbits", "coeffs", "stepsize", "exptime"),
    "median": ("median_newmasks", "combine_maskpt", "combine_type", "combine_nsigma", "combine_nlow",
               "combine_nhigh", "combine_lthresh", "combine_hthresh", "combine_grow", "combine_bufsize",
               "proc_unit") + _INSTRUMENT,
    "blot": ("blot_interp", "blot_sinscl", "blot_addsky", "blot_skyval", "coeffs", "stepsize", "exptime"),
    "driz_cr": ("driz_cr_snr", "driz_cr_scale", "driz_cr_grow", "driz_cr_ctegrow") + _INSTRUMENT,
    "crclean": ("crbit", "resetbits", "exptime"),
    "final_drizzle": ("final_wht_type", "final_kernel", "final_wt_scl", "final_pixfrac", "final_fillval",
                      "final_maskval", "final_bits", "final_units", "final_wcs", "final_refimage",
                      "final_rot", "final_scale", "final_outnx", "final_outny", "final_ra", "final_dec",
                      "final_crpix1", "final_crpix2", "resetbits", "coeffs", "stepsize", "context",
                      "crbit") + _INSTRUMENT,
}

# AstroDrizzle's global parameters (SPEC §1.1) reach the stages that read what they choose:
# ``group`` the chips (every stage that opens an exposure: the chips it loops over, the per-chip
# jobs), ``wcskey`` the chip WCSs (frames, footprints, drizzle and blot). ``mdriztab`` is
# resolved into the other parameters when the DAG is built (snakedrizzle.workflow.mdriztab) and
# ``in_memory`` changes nothing (intermediates are always files): neither is any stage's.
_READS_CHIPS = ("static", "sky_stats", "sky", "sky_pair", "sky_match", "separate_frame", "driz_separate",
                "median", "blot", "driz_cr", "crclean", "final_drizzle")
_READS_WCS = ("sky_pair", "separate_frame", "driz_separate", "blot", "final_drizzle")
for _stage in _READS_CHIPS:
    STAGES[_stage] += ("group",) + (("wcskey",) if _stage in _READS_WCS else ())

# TweakReg (SPEC §3): its own, imagefindpars and refimagefindpars parameters by their DrizzlePac
# names and defaults. refimagefindpars share their names with imagefindpars, so they carry the
# prefix ``ref_`` (``ref_threshold`` is refimagefindpars.threshold). ``align`` switches the drizzle
# stages to the aligned WCS. Deviation: ``refxcol``/``refycol`` default to None (find the RA/Dec
# columns by name) instead of the column numbers 1/2.
IMAGEFINDPARS = {k: DEFAULTS[k] for k in (
    "computesig", "skysigma", "conv_width", "peakmin", "peakmax", "threshold", "nsigma", "ratio", "theta",
    "fluxmin", "fluxmax", "dqbits", "use_sharp_round", "sharplo", "sharphi", "roundlo", "roundhi")}
REF_PREFIX = "ref_"
# Where sources come from instead of (or besides) the finder: TweakReg's ``exclusions`` (per-chip
# DS9 regions or FITS masks) and its COORDINATE FILE DESCRIPTION (``catfile``: user catalogs per
# chip). Extension: ``nbright`` also trims the finder's catalogs (DrizzlePac: user catalogs only).
USERCATPARS = {k: DEFAULTS[k] for k in (
    "exclusions", "catfile", "xcol", "ycol", "fluxcol", "maxflux", "minflux", "fluxunits", "xyunits",
    "nbright")}
_ALIGN_OWN = (
    "align", "refimage", "refcat", "refxcol", "refycol", "rfluxcol", "rfluxunits", "rmaxflux", "rminflux",
    "refnbright", "minobj", "searchrad", "searchunits", "use2dhist", "separation", "tolerance", "xoffset",
    "yoffset", "fitgeometry", "nclip", "sigma", "wcsname", "reusename", "residplot", "ylimit", "labelsize",
    "expand_refcat", "enforce_user_order", "refxyunits", "hdrname", "author", "descrip", "catalog",
    "history")
ALIGN_DEFAULTS = {
    **{k: DEFAULTS[k] for k in _ALIGN_OWN},
    **USERCATPARS,
    **IMAGEFINDPARS,
    **{REF_PREFIX + k: DEFAULTS[REF_PREFIX + k] for k in IMAGEFINDPARS},
}

_REFCAT = ("refimage", "refcat", "refxcol", "refycol", "refxyunits", "rfluxcol", "rfluxunits", "rmaxflux",
           "rminflux", "refnbright")
ALIGN_STAGES = {
    "align_catalog": tuple(IMAGEFINDPARS) + tuple(USERCATPARS),
    "align_refcat": _REFCAT + tuple(REF_PREFIX + k for k in IMAGEFINDPARS),
    "align_fit": ("minobj", "searchrad", "searchunits", "use2dhist", "separation", "tolerance",
                  "xoffset", "yoffset", "fitgeometry", "nclip", "sigma", "wcsname", "reusename",
                  "hdrname", "author", "descrip", "catalog", "history"),
    "align_expand": ("tolerance",),
    "align_shifts": ("residplot", "ylimit", "labelsize"),
}
STAGES.update(ALIGN_STAGES)
# One job per exposure computes its static mask, sky statistics and (localmin) sky values.
STAGES["prepare"] = tuple(dict.fromkeys(STAGES["static"] + STAGES["sky_stats"] + STAGES["sky"]))


def findpars(params, prefix=""):
    """imagefindpars (prefix '') or refimagefindpars (prefix 'ref_') under their DrizzlePac names."""
    return {k: params.get(prefix + k, v) for k, v in IMAGEFINDPARS.items()}


# Command-line spellings to typed values (kept here for the callers that import it from params).
normalise = _config.normalise


def stage_params(stage, params):
    """The parameters one stage uses, with defaults filled in."""
    merged = {**DEFAULTS, **params}
    return {key: merged[key] for key in STAGES[stage]}
