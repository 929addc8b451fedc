"""Sky (SPEC §1.5): a clipped statistic per chip, then one of AstroDrizzle's ways of turning
chip statistics into the MDRIZSKY value each chip subtracts. Inputs are never changed: the
values travel in small JSON files."""
import logging

import numpy as np

from snakedrizzle.drizzle.stats import clipped_stats, histogram_mode

log = logging.getLogger("snakedrizzle")

METHODS = ("localmin", "globalmin", "match", "globalmin+match")
MATCH_METHODS = ("match", "globalmin+match")


def local_sky(pars):
    """True when an exposure's MDRIZSKY depends on that exposure alone (a skyfile, header values,
    no subtraction, or localmin): then it is computed with the exposure's own statistics and no
    job has to wait for the other exposures."""
    return bool(pars["skyfile"]) or not pars["skysub"] or pars["skymethod"] == "localmin"


def chip_sky(sci, good, skystat="median", skywidth=0.1, skylower=None, skyupper=None,
             skyclip=5, skylsigma=4.0, skyusigma=4.0):
    """Sky of one chip in its data units, from the ``good`` pixels; None if none is usable."""
    return sky_statistic(sci[good], skystat, skywidth, skylower, skyupper, skyclip, skylsigma, skyusigma)[0]


def sky_statistic(values, skystat="median", skywidth=0.1, skylower=None, skyupper=None,
                  skyclip=5, skylsigma=4.0, skyusigma=4.0):
    """(sky, number of pixels inside the final clip limits) of ``values``; (None, 0) if fewer
    than two pixels or none survives the clipping. The count weighs a sky in sky matching."""
    if values.size < 2:
        return None, 0
    try:
        stats = clipped_stats(values, skylower, skyupper, skyclip, skylsigma, skyusigma)
    except ValueError:
        return None, 0
    if skystat == "mean":
        return stats.mean, stats.npix
    inside = values[(values >= stats.lower) & (values <= stats.upper)]
    if skystat == "mode":
        return histogram_mode(inside, stats, skywidth)[0], stats.npix
    return float(np.median(inside)), stats.npix


def to_brightness(value, pscale, exptime, in_units):
    """Data units -> surface brightness (per arcsec², per second), comparable across chips."""
    rate = value if in_units == "cps" else value / exptime
    return rate / pscale ** 2


def from_brightness(b, pscale, exptime, in_units):
    value = b * pscale ** 2
    return value if in_units == "cps" else value * exptime


def minimum_sky(chip_stats):
    """``localmin``/``globalmin`` core: the smallest brightness among ``chip_stats`` (a list of
    dicts with value, pscale, exptime, in_units), or None if no chip had a usable sky."""
    b = [to_brightness(c["value"], c["pscale"], c["exptime"], c["in_units"])
         for c in chip_stats if c["value"] is not None]
    return min(b) if b else None


def parse_skyfile(path):
    """``skyfile``: lines 'file value [value per chip...]'; a comment containing 'applied = yes'
    means the values were already subtracted. Returns ({rootname or basename: [values]}, applied)."""
    values, applied = {}, False
    with open(path) as f:
        for line in f:
            text = line.strip()
            if text.startswith("#"):
                if "applied" in text.lower() and "yes" in text.lower().split("applied", 1)[1]:
                    applied = True
                continue
            words = text.split()
            if len(words) >= 2:
                values[words[0]] = [float(w) for w in words[1:]]
    return values, applied


def sky_values(own, pool, method="localmin", name="exposure", matched=None):
    """AstroDrizzle's measured sky (MDRIZSKY) of one exposure, {chip: value in the chip's data
    units}. ``own``: {chip: statistics} of the exposure (dicts with value, pscale, exptime,
    in_units, as ``minimum_sky`` takes); ``pool``: the statistics of every exposure of the
    product, for globalmin. For 'match' and 'globalmin+match', ``matched`` is the exposure's sky
    in brightness units from the sky-matching solve (``skymatch.solve_skies``). With no usable sky
    anywhere the sky is 0 (logged, naming ``name``)."""
    if method in MATCH_METHODS:
        if matched is None:
            raise ValueError(f"skymethod={method} needs the sky-matching solution for {name}")
        b = matched
    else:
        b = minimum_sky(list(own.values()) if method == "localmin" else pool)
    if b is None:
        log.warning("%s: no usable sky pixels; sky set to 0", name)
        b = 0.0
    return {k: from_brightness(b, c["pscale"], c["exptime"], c["in_units"]) for k, c in own.items()}
