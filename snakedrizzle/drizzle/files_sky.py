"""File-level stages of sky matching (``skymethod=match`` and ``globalmin+match``).

``sky_pair_stage`` measures one pair of exposures (rule ``sky_pair``: a job per pair whose
footprints can overlap, so a new exposure adds only its own pairs); ``sky_match_stage`` solves
every exposure's sky from all pair files (rule ``sky_match``, one small job per product). The
per-exposure ``sky`` rule (``files.sky_stage``) then turns the solved brightness into MDRIZSKY
per chip in each chip's data units, in ``<root>_sky.json`` as for the other methods.
"""
import logging

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.drizzle import provenance, skymask, skymatch
from snakedrizzle.drizzle.chips import chip_wcs, open_exposure
from snakedrizzle.drizzle.masks import good_pixels, reset_bits
from snakedrizzle.drizzle.sky import to_brightness
from snakedrizzle.io import read_json, write_json
from snakedrizzle.io.exposure import read_chip

log = logging.getLogger("snakedrizzle")


def stat_pars(pars):
    """The ``sky.sky_statistic`` keywords from AstroDrizzle's sky parameters."""
    return {"skystat": pars["skystat"], "skywidth": pars["skywidth"], "skylower": pars["skylower"],
            "skyupper": pars["skyupper"], "skyclip": pars["skyclip"], "skylsigma": pars["skylsigma"],
            "skyusigma": pars["skyusigma"]}


def sky_chips(exposure_path, static_file, pars, headerlets=None):
    """(rootname, [SkyChip per chip]): good pixels as for the exposure's own sky statistics
    (finite, DQ after resetbits against sky_bits, its own static mask when use_static, and the
    ``skymask_cat`` user mask), and the chip's full-distortion WCS (the aligned one when there are
    headerlets)."""
    exp = open_exposure(exposure_path, pars)
    chips = []
    user = skymask.user_masks(pars.get("skymask_cat"), exp.path, exp.chips, exp.shapes)
    with fits.open(static_file) as static:
        for ver in exp.chips:
            chip = read_chip(exp.path, ver)
            good = chip.finite & good_pixels(reset_bits(chip.dq, pars["resetbits"]), pars["sky_bits"])
            if pars["use_static"]:
                good &= static["MASK", ver].data.astype(bool)
            if ver in user:
                good &= user[ver]
            wcs = chip_wcs(exp.path, ver, pars, headerlets)
            chips.append(skymatch.SkyChip(chip.sci, good, wcs, W.linear_pscale(W.chip_wcs(exp.path, ver)),
                                          exp.exptime, exp.in_units))
    return exp.rootname, chips


def sky_pair_stage(exposure_paths, static_files, out, pars, headerlets=None):
    """Each of two exposures' sky (brightness) inside their overlap, with the pixel counts that
    weigh it in the solve; ``sky`` is null when they do not overlap (or one side has no usable
    pixel there)."""
    (ra, chips_a), (rb, chips_b) = (sky_chips(p, s, pars, headerlets) for p, s in zip(exposure_paths, static_files))
    pair = skymatch.pair_sky(chips_a, chips_b, stat_pars(pars), labels=(ra, rb))
    if pair.sky is None:
        log.info("%s x %s: no usable overlap (%.1f arcsec²)", ra, rb, pair.area_arcsec2)
    else:
        log.info("%s x %s: overlap %.1f arcsec², sky %.6g / %.6g (from %d / %d pixels)", ra, rb,
                 pair.area_arcsec2, pair.sky[0], pair.sky[1], *pair.npix)
    write_json(out, {
        "roots": [ra, rb], "area_arcsec2": pair.area_arcsec2,
        "sky": None if pair.sky is None else {ra: pair.sky[0], rb: pair.sky[1]},
        "npix": {ra: pair.npix[0], rb: pair.npix[1]}, "chip_pairs": pair.chip_pairs,
        "params": provenance.record("sky_pair", pars, [provenance.gather(static_files)])})


def sky_match_stage(pair_files, stats_files, out, pars):
    """Every exposure's matched sky (brightness units) from the pair files. ``stats_files``: each
    exposure's ``_skystats.json`` in input order (its rootname, and its chips' own skies for the
    global minimum of globalmin+match)."""
    stats = [read_json(f) for f in stats_files]
    names = [s["rootname"] for s in stats]
    chip_skies = {s["rootname"]: [None if c["value"] is None else
                                  to_brightness(c["value"], c["pscale"], c["exptime"], c["in_units"])
                                  for c in s["chips"].values()] for s in stats}
    pairs = []
    for f in sorted(pair_files, key=str):
        p = read_json(f)
        a, b = p["roots"]
        if p["sky"] is not None and a in chip_skies and b in chip_skies:
            pairs.append((a, b, p["sky"][a], p["sky"][b], 0.5 * (p["npix"][a] + p["npix"][b])))
    solution = skymatch.solve_skies(names, pairs, pars["skymethod"], chip_skies)
    for n in names:
        log.info("%s: matched sky %.6g (offset %.6g) brightness units", n, solution.skies[n], solution.offsets[n])
    write_json(out, {"method": pars["skymethod"], "skies": solution.skies, "offsets": solution.offsets,
                     "groups": solution.groups, "globalmin": solution.globalmin,
                     "pairs_used": len(pairs), "finite": bool(np.isfinite(list(solution.skies.values())).all()),
                     "params": provenance.record("sky_match", pars,
                                                 [provenance.gather(list(pair_files) + list(stats_files))])})
