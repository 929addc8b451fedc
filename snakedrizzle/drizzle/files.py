"""File-level stages: each reads its input files, calls the array-level step functions and
writes its product atomically. One function per workflow rule; users may call them directly.

This module holds the stages up to the separate drizzle; the later ones live in ``files_cr``
(median, blot, driz_cr, crclean) and ``files_final`` (final drizzle) and are importable from here.
``pars`` is always the dict of AstroDrizzle parameters the stage uses (see ``params.STAGES``).
"""
import logging
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.drizzle import adrizzle, provenance, sky as skymod, skymask, static as staticmod
from snakedrizzle.drizzle.chips import (chip_inputs, chip_wcs, exposure_wcss, open_exposure,
                                        output_frame)
from snakedrizzle.drizzle.masks import good_pixels, reset_bits
from snakedrizzle.errors import InputError
from snakedrizzle.io import read_json, write_hdulist, write_image, write_json
from snakedrizzle.io.exposure import read_chip

log = logging.getLogger("snakedrizzle")


# ---- static mask and sky ------------------------------------------------------------------------

def prepare_stage(exposure_path, out_static, out_stats, pars):
    """Everything that needs one pass over an exposure's own pixels: per-chip static masks (one
    uint8 extension per chip, 1 = good) and sky statistics. When the exposure's sky depends on it
    alone (``local_sky``), the statistics file also carries its MDRIZSKY values."""
    exp = open_exposure(exposure_path, pars)
    hdus, stats = [fits.PrimaryHDU(header=provenance.stamp(fits.Header(), "prepare", pars))], {}
    user = skymask.user_masks(pars.get("skymask_cat"), exp.path, exp.chips, exp.shapes)
    for ver in exp.chips:
        chip = read_chip(exp.path, ver)
        static_good = (staticmod.static_mask(chip.sci, pars["static_sig"]) if pars["static"]
                       else np.ones(chip.sci.shape, bool))
        hdus.append(fits.ImageHDU(static_good.astype(np.uint8), name="MASK", ver=ver))
        log.info("%s[sci,%d]: static mask flags %d pixels", exp.rootname, ver, int((~static_good).sum()))
        stats[str(ver)] = _chip_sky_stats(exp, ver, chip, static_good, pars, user.get(ver))
    write_hdulist(fits.HDUList(hdus), out_static)
    record = {"rootname": exp.rootname, "chips": stats, "params": provenance.record("prepare", pars)}
    if skymod.local_sky(pars):
        record.update(_sky_record(exp, stats, [], pars))
    write_json(out_stats, record)


def _chip_sky_stats(exp, ver, chip, static_good, pars, user_mask=None):
    """Sky statistic of one chip, in data units, plus what converts it to surface brightness.
    ``user_mask``: the chip's ``skymask_cat`` mask (True = usable), if it has one."""
    good = chip.finite & good_pixels(reset_bits(chip.dq, pars["resetbits"]), pars["sky_bits"])
    if pars["use_static"]:
        good &= static_good
    if user_mask is not None:
        good &= user_mask
    value = skymod.chip_sky(chip.sci, good, pars["skystat"], pars["skywidth"], pars["skylower"],
                            pars["skyupper"], pars["skyclip"], pars["skylsigma"], pars["skyusigma"])
    return {"value": value, "pscale": W.linear_pscale(W.chip_wcs(exp.path, ver)),
            "exptime": exp.exptime, "in_units": exp.in_units}


def combine_static_stage(exposure_paths, mask_files, out, pars):
    """The product's static mask: for each (shape, chip) signature, bad if bad in any exposure."""
    combined = {}
    for path, mfile in zip(exposure_paths, mask_files):
        exp = open_exposure(path, pars)
        with fits.open(mfile) as hdul:
            for ver, shape in zip(exp.chips, exp.shapes):
                key = (shape, ver)
                m = hdul["MASK", ver].data.astype(bool)
                combined[key] = combined[key] & m if key in combined else m
    carried = [provenance.gather(mask_files)]
    hdus = [fits.PrimaryHDU(header=provenance.stamp(fits.Header(), "static", pars, carried))]
    for (shape, ver), m in combined.items():
        hdu = fits.ImageHDU(m.astype(np.uint8), name="MASK", ver=ver)
        hdu.header["SIGNATUR"] = (f"{shape[0]}x{shape[1]}_{ver}", "shape and chip the mask applies to")
        hdus.append(hdu)
    write_hdulist(fits.HDUList(hdus), out)


def sky_stage(exposure_path, stats_files, out, pars, solve_file=None):
    """MDRIZSKY per chip of one exposure for the methods that compare exposures: from the
    statistics of every exposure of the product (``stats_files``: its own first) for globalmin,
    from the sky-matching solve (``solve_file``, ``files_sky.sky_match_stage``) for match and
    globalmin+match."""
    exp = open_exposure(exposure_path, pars)
    own = read_json(stats_files[0])["chips"]
    pool = [c for f in stats_files for c in read_json(f)["chips"].values()]
    matched, carried = None, list(stats_files)
    if solve_file:
        matched = read_json(solve_file)["skies"].get(exp.rootname)
        if matched is None:
            raise InputError(solve_file, f"no matched sky for {exp.rootname}")
        carried.append(solve_file)
    write_json(out, {"rootname": exp.rootname, **_sky_record(exp, own, pool, pars, matched),
                     "params": provenance.record("sky", pars, [provenance.gather(carried)])})


def _sky_record(exp, own, pool, pars, matched=None):
    """{'method', 'mdrizsky', 'subtracted'} of one exposure: from a ``skyfile``, from the
    ``skyuser`` header keyword (not subtracted), or measured (``sky.sky_values``; ``matched``:
    the exposure's sky from sky matching)."""
    sky = {str(v): 0.0 for v in exp.chips}
    subtract = bool(pars["skysub"])
    if pars["skyfile"]:
        values, applied = skymod.parse_skyfile(pars["skyfile"])
        row = values.get(os.path.basename(exp.path)) or values.get(exp.rootname)
        if row is None:
            raise InputError(pars["skyfile"], f"no sky value for {os.path.basename(exp.path)}")
        sky = {str(v): row[min(i, len(row) - 1)] for i, v in enumerate(exp.chips)}
        subtract = subtract and not applied
    elif not subtract:
        if pars["skyuser"]:
            hdr = fits.getheader(exp.path, ("SCI", exp.chips[0]))
            if pars["skyuser"] not in hdr:
                raise InputError(exp.path, f"skyuser keyword {pars['skyuser']} not in the SCI header")
            sky = {str(v): float(fits.getheader(exp.path, ("SCI", v)).get(pars["skyuser"], 0.0)) for v in exp.chips}
    else:
        sky = skymod.sky_values(own, pool, pars["skymethod"], name=exp.rootname, matched=matched)
    return {"method": pars["skymethod"], "mdrizsky": sky,
            "subtracted": {k: (v if subtract else 0.0) for k, v in sky.items()}}


# ---- separate drizzle --------------------------------------------------------------------------

def separate_frame_stage(exposure_paths, out, pars, headerlets=None):
    """The plane of the separate drizzle: DrizzlePac's default frame of ``exposure_paths`` (or the
    ``driz_sep_*`` custom frame). Each exposure is drizzled onto its own window of it, so an
    exposure added later only needs a window of its own; with ``driz_sep_wcs`` windows are
    clipped to the user's frame."""
    frame = output_frame(exposure_paths, pars, prefix="driz_sep_", headerlets=headerlets)
    hdr = W.frame_to_header(frame)
    hdr["BOUNDED"] = (bool(pars.get("driz_sep_wcs")), "windows are clipped to NAXIS1/2")
    provenance.stamp(hdr, "separate_frame", pars)
    write_hdulist(fits.HDUList([fits.PrimaryHDU(header=hdr)]), out)


def single_drizzle_stage(exposure_path, static_file, sky_file, plane_file, out_sci, out_wht, pars,
                         headerlets=None):
    """One exposure drizzled alone onto its window of the separate-drizzle plane (SCI and WHT)."""
    exp = open_exposure(exposure_path, pars)
    plane_hdr = fits.getheader(plane_file)
    plane = W.frame_from_header(plane_hdr)
    try:
        x0, y0, nx, ny = adrizzle.separate_window(exposure_wcss(exp, pars, headerlets), exp.shapes, plane,
                                                  plane_hdr.get("BOUNDED", False))
    except ValueError as err:
        raise InputError(exp.path, str(err)) from None
    frame = W.subframe(plane, x0, y0, nx, ny)
    subtracted = read_json(sky_file)["subtracted"]
    chips = [adrizzle.DrizzleChip(chip_wcs(exp.path, ver, pars, headerlets), shape, exp.exptime,
                                  _separate_reader(exp, ver, pars, static_file, subtracted[str(ver)]),
                                  exp.in_units, wt_scl(pars["driz_sep_wt_scl"]))
             for ver, shape in zip(exp.chips, exp.shapes)]
    sci, wht, _ = adrizzle.drizzle(chips, frame, kernel=pars["driz_sep_kernel"], pixfrac=pars["driz_sep_pixfrac"],
                                   fillval=pars["driz_sep_fillval"], context=False, stepsize=pars["stepsize"],
                                   whole_chips=True)
    if pars["driz_sep_fillval"] is None:  # AstroDrizzle's separate images start (and stay) at 0
        sci = np.where(wht > 0, sci, 0.0).astype(np.float32)
    hdr = W.frame_to_header(frame)
    hdr["WINX0"], hdr["WINY0"] = (x0, "window origin in the separate-drizzle plane (0-based)"), (y0, "")
    hdr["EXPTIME"] = exp.exptime
    hdr["BUNIT"] = "ELECTRONS/S"
    hdr["ROOTNAME"] = exp.rootname
    provenance.stamp(hdr, "driz_separate", pars, [provenance.of_header(plane_hdr),
                                                   provenance.gather([static_file, sky_file])])
    write_image(out_sci, sci, hdr)
    write_image(out_wht, wht, hdr)


def _separate_reader(exp, ver, pars, static_file, subtracted):
    def read(r0, r1):
        good, chip = chip_inputs(exp, ver, pars, pars["driz_sep_bits"], static_file, rows=(r0, r1), with_err=False)
        return chip.sci - np.float32(subtracted), exp.exptime * good
    return read


def wt_scl(value):
    """The separate drizzle's weight scale: 'exptime'/'expsq' resolve to 1, as the weight image
    already holds EXPTIME (SPEC §1.7 quirk)."""
    if value is None or str(value).strip().lower() in ("exptime", "expsq", ""):
        return 1.0
    return float(value)
