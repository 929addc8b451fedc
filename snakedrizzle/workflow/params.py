"""AstroDrizzle's parameters (names and defaults of DrizzlePac 3.11.0, SPEC §1) and which stage
uses which. A rule gets exactly its stage's parameters through ``params:``, so changing one
parameter reruns exactly the stages that use it."""

DEFAULTS = {
    # global
    "wcskey": "", "proc_unit": "native", "coeffs": True, "context": True, "group": "",
    "build": True, "crbit": 4096, "stepsize": 10, "resetbits": "4096", "num_cores": None,
    "in_memory": False, "gain": None, "rdnoise": None, "exptime": None,
    # 1 static mask
    "static": True, "static_sig": 4.0,
    # 2 sky
    "skysub": True, "skymethod": "localmin", "skystat": "median", "skywidth": 0.1,
    "skylower": None, "skyupper": None, "skyclip": 5, "skylsigma": 4.0, "skyusigma": 4.0,
    "skymask_cat": "", "use_static": True, "sky_bits": "0", "skyfile": "", "skyuser": "",
    # 3 separate drizzle
    "driz_separate": True, "driz_sep_kernel": "turbo", "driz_sep_wt_scl": "exptime",
    "driz_sep_pixfrac": 1.0, "driz_sep_fillval": None, "driz_sep_bits": "0",
    "driz_sep_compress": False, "driz_sep_wcs": False, "driz_sep_refimage": "",
    "driz_sep_rot": None, "driz_sep_scale": None, "driz_sep_outnx": None, "driz_sep_outny": None,
    "driz_sep_ra": None, "driz_sep_dec": None, "driz_sep_crpix1": None, "driz_sep_crpix2": None,
    # 4 median
    "median": True, "median_newmasks": True, "combine_maskpt": 0.3, "combine_type": "minmed",
    "combine_nsigma": "4 3", "combine_nlow": 0, "combine_nhigh": 0, "combine_lthresh": None,
    "combine_hthresh": None, "combine_grow": 1, "combine_bufsize": None,
    # 5 blot
    "blot": True, "blot_interp": "poly5", "blot_sinscl": 1.0, "blot_addsky": True, "blot_skyval": 0.0,
    # 6 driz_cr
    "driz_cr": True, "driz_cr_corr": False, "driz_cr_snr": "3.5 3.0", "driz_cr_grow": 1,
    "driz_cr_ctegrow": 0, "driz_cr_scale": "1.2 0.7",
    # 7 final drizzle
    "driz_combine": True, "final_wht_type": "EXP", "final_kernel": "square",
    "final_wt_scl": "exptime", "final_pixfrac": 1.0, "final_fillval": None, "final_maskval": None,
    "final_bits": "0", "final_units": "cps", "final_wcs": False, "final_refimage": "",
    "final_rot": None, "final_scale": None, "final_outnx": None, "final_outny": None,
    "final_ra": None, "final_dec": None, "final_crpix1": None, "final_crpix2": None,
}

_INSTRUMENT = ("exptime", "gain", "rdnoise")
_SEP_FRAME = ("driz_sep_wcs", "driz_sep_refimage", "driz_sep_rot", "driz_sep_scale", "driz_sep_outnx",
              "driz_sep_outny", "driz_sep_ra", "driz_sep_dec", "driz_sep_crpix1", "driz_sep_crpix2")

STAGES = {
    "static": ("static", "static_sig"),
    "sky_stats": ("skystat", "skywidth", "skylower", "skyupper", "skyclip", "skylsigma", "skyusigma",
                  "use_static", "sky_bits", "resetbits", "exptime"),
    "sky": ("skysub", "skymethod", "skyfile", "skyuser", "exptime"),
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

# TweakReg (SPEC §3): its own, imagefindpars and refimagefindpars parameters by their DrizzlePac
# names and defaults. refimagefindpars share their names with imagefindpars, so they carry the
# prefix ``ref_`` (``ref_threshold`` is refimagefindpars.threshold). ``align`` switches the drizzle
# stages to the aligned WCS. Deviation: ``refxcol``/``refycol`` default to None (find the RA/Dec
# columns by name) instead of the column numbers 1/2.
IMAGEFINDPARS = {
    "computesig": True, "skysigma": 0.0, "conv_width": 3.5, "peakmin": None, "peakmax": None,
    "threshold": 4.0, "nsigma": 1.5, "ratio": 1.0, "theta": 0.0, "fluxmin": None, "fluxmax": None,
    "dqbits": "", "use_sharp_round": False, "sharplo": 0.2, "sharphi": 1.0, "roundlo": -1.0,
    "roundhi": 1.0,
}
REF_PREFIX = "ref_"
# Where sources come from instead of (or besides) the finder: TweakReg's ``exclusions`` (per-chip
# DS9 regions or FITS masks) and its COORDINATE FILE DESCRIPTION (``catfile``: user catalogs per
# chip). Extension: ``nbright`` also trims the finder's catalogs (DrizzlePac: user catalogs only).
USERCATPARS = {
    "exclusions": "", "catfile": "", "xcol": 1, "ycol": 2, "fluxcol": None, "maxflux": None,
    "minflux": None, "fluxunits": "counts", "xyunits": "pixels", "nbright": None,
}
ALIGN_DEFAULTS = {
    "align": False, "refimage": "", "refcat": "",
    "refxcol": None, "refycol": None, "rfluxcol": None, "rfluxunits": "mag", "rmaxflux": None,
    "rminflux": None, "refnbright": None,
    "minobj": 15, "searchrad": 1.0, "searchunits": "arcseconds", "use2dhist": True,
    "separation": 0.5, "tolerance": 1.0, "xoffset": 0.0, "yoffset": 0.0,
    "fitgeometry": "rscale", "nclip": 3, "sigma": 3.0, "wcsname": "TWEAK", "reusename": False,
    "residplot": "both", "ylimit": None, "labelsize": 8,
    "expand_refcat": False, "enforce_user_order": True, "refxyunits": "degrees",
    **USERCATPARS,
    "hdrname": "", "author": "", "descrip": "", "catalog": "", "history": "",
    **IMAGEFINDPARS,
    **{REF_PREFIX + k: v for k, v in IMAGEFINDPARS.items()},
}
DEFAULTS.update(ALIGN_DEFAULTS)

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


# Command-line spellings of "no value" for parameters whose default is None.
_NONE_WORDS = {"", "none", "indef", "null"}


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def normalise(params):
    """Command-line spellings to one form before validation: 'None'/'INDEF'/'' -> None for
    parameters that default to None, 'true'/'false' -> booleans for switches."""
    out = dict(params)
    for key, default in DEFAULTS.items():
        value = out.get(key)
        if not isinstance(value, str):
            continue
        word = value.strip().lower()
        if default is None and word in _NONE_WORDS:
            out[key] = None
        elif isinstance(default, bool) and word in _BOOL_WORDS:
            out[key] = _BOOL_WORDS[word]
    return out


def stage_params(stage, params):
    """The parameters one stage uses, with defaults filled in."""
    merged = {**DEFAULTS, **params}
    return {key: merged[key] for key in STAGES[stage]}
