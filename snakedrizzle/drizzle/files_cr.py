"""File-level stages of cosmic-ray rejection: median of the separately drizzled exposures, blot
of the median onto every chip, the CR masks, and cleaned copies of the exposures (``crclean``).
Each reads its files, calls the array-level function, writes its product atomically."""
import logging
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.drizzle import ablot, drizcr, median as med, provenance
from snakedrizzle.drizzle.chips import chip_wcs, nsplit, open_exposure
from snakedrizzle.drizzle.masks import good_pixels, reset_bits
from snakedrizzle.drizzle.product import warn_mixed_filters
from snakedrizzle.io import read_json, write_hdulist, write_image
from snakedrizzle.io.exposure import read_chip

log = logging.getLogger("snakedrizzle")


class _Rows:
    """Rows of a FITS image read on demand (``[a0:a1]``). Each process opens the file itself (a
    shared file offset would mix the reads of two processes) and reads rows explicitly
    (``section``) instead of memory-mapping: mapped pages of every exposure would stay resident,
    and memory would grow with the number of exposures."""

    def __init__(self, path):
        self.path = path
        hdr = fits.getheader(path)
        self.shape = (hdr["NAXIS2"], hdr["NAXIS1"])
        self._open = (None, None)

    def __getitem__(self, rows):
        pid, hdul = self._open
        if pid != os.getpid():
            hdul = fits.open(self.path, memmap=False)
            self._open = (os.getpid(), hdul)
        return hdul[0].section[rows]


def median_stage(exposure_paths, sci_files, wht_files, sky_files, out, pars, workers=1):
    """The median (or other combination) of the separately drizzled exposures, on the union of
    their windows; ``workers`` > 1 splits its rows between processes (same result)."""
    exps = [open_exposure(p, pars) for p in exposure_paths]
    warn_mixed_filters(exps, "Sources differ in brightness between filters: the median's cosmic-ray "
                       "masks will flag parts of real sources (drizzle each filter separately to avoid it)")
    headers = [fits.getheader(f) for f in sci_files]
    x0s, y0s = [h["WINX0"] for h in headers], [h["WINY0"] for h in headers]
    gx0, gy0 = min(x0s), min(y0s)
    nx = max(x + h["NAXIS1"] for x, h in zip(x0s, headers)) - gx0
    ny = max(y + h["NAXIS2"] for y, h in zip(y0s, headers)) - gy0
    frame = W.subframe(W.frame_from_header(headers[0]), gx0 - x0s[0], gy0 - y0s[0], nx, ny)
    background = []  # one value per exposure, in electrons: the smallest of its chips
    for e, f in zip(exps, sky_files):
        sky = read_json(f)["subtracted"]
        background.append(min(sky[str(v)] * e.conversion_factor for v in e.chips))
    result = med.median_combine([_Rows(f) for f in sci_files], [_Rows(f) for f in wht_files],
                                [(x - gx0, y - gy0) for x, y in zip(x0s, y0s)], (ny, nx), pars,
                                readnoise=[e.rdnoise for e in exps], exptime=[e.exptime for e in exps],
                                background=background, names=[os.path.basename(e.path) for e in exps],
                                workers=workers, threshold_scale=[threshold_scale(e, pars) for e in exps])
    hdr = W.frame_to_header(frame)
    hdr["BUNIT"] = "ELECTRONS/S"
    hdr["WINX0"], hdr["WINY0"] = gx0, gy0
    provenance.stamp(hdr, "median", pars, [provenance.of_header(h) for h in headers]
                     + [provenance.gather(sky_files)])
    write_image(out, result, hdr)


def threshold_scale(exp, pars):
    """What converts combine_lthresh/hthresh to the units the median compares them in. With
    proc_unit=native they are in the exposure's units and are converted to electrons as
    DrizzlePac converts them (x gain for counts, x EXPTIME for per-second data; DrizzlePac
    applies each exposure's factor to the running value, compounding them over the exposures,
    here each exposure gets its own); with proc_unit=electrons they are used as given. The
    single images are e-/s either way, as in DrizzlePac: ACS and WFC3/UVIS (electrons) are
    unaffected, WFC3/IR (electrons/s) thresholds grow by EXPTIME under native."""
    if pars.get("proc_unit", "native") != "native":
        return 1.0
    unit = exp.bunit.strip().lower()
    return (exp.gain if unit.startswith("counts") else 1.0) * (exp.exptime if unit.endswith("/s") else 1.0)


def blot_stage(exposure_path, ver, median_file, sky_file, out, pars, headerlets=None):
    """The median as chip ``ver`` of the exposure sees it, in its data units, sky added back."""
    exp = open_exposure(exposure_path, pars)
    ver = int(ver)
    sky = read_json(sky_file)["subtracted"][str(ver)] if pars["blot_addsky"] else pars["blot_skyval"]
    blotted = ablot.blot_chip(fits.getdata(median_file), W.frame_from_header(fits.getheader(median_file)),
                              chip_wcs(exp.path, ver, pars, headerlets), exp.shapes[exp.chips.index(ver)],
                              exptime=exp.exptime, conversion=exp.conversion_factor, sky=sky,
                              interp=pars["blot_interp"], stepsize=pars["stepsize"])
    hdr = provenance.stamp(fits.getheader(exp.path, ("SCI", ver)), "blot", pars,
                           [provenance.gather([median_file, sky_file])])
    write_image(out, blotted, hdr)


def driz_cr_stage(exposure_path, ver, blot_file, sky_file, out, pars):
    """The CR mask of one chip (uint8, 1 = good) from the chip and its blotted median."""
    exp = open_exposure(exposure_path, pars)
    ver = int(ver)
    chip = read_chip(exp.path, ver)
    c = np.float32(exp.conversion_factor)
    sky = read_json(sky_file)["mdrizsky"][str(ver)] * exp.conversion_factor
    good = drizcr.cr_mask(chip.sci * c, fits.getdata(blot_file).astype(np.float32) * c, sky,
                          exp.rdnoise, 1.0, nsplit(pars["driz_cr_snr"]), nsplit(pars["driz_cr_scale"]),
                          int(pars["driz_cr_grow"]), int(pars["driz_cr_ctegrow"]), exp.cte_direction(ver))
    log.info("%s[sci,%d]: %d cosmic-ray pixels", exp.rootname, ver, int((~good).sum()))
    hdu = fits.PrimaryHDU(good.astype(np.uint8))
    provenance.stamp(hdu.header, "driz_cr", pars, [provenance.gather([blot_file, sky_file])])
    write_hdulist(fits.HDUList([hdu]), out)


def crclean_stage(exposure_path, mask_files, blot_files, out, pars):
    """A cleaned copy of the exposure: CR pixels replaced by the blotted median, DQ |= crbit."""
    exp = open_exposure(exposure_path, pars)
    crbit = int(pars["crbit"] or 0)
    with fits.open(exp.path) as src:
        hdul = fits.HDUList([h.copy() for h in src])
    for ver, mfile, bfile in zip(exp.chips, mask_files, blot_files):
        chip = read_chip(exp.path, ver)
        good = fits.getdata(mfile).astype(bool) & good_pixels(reset_bits(chip.dq, pars["resetbits"]), crbit)
        sci, dq = drizcr.clean_cosmic_rays(chip.sci, fits.getdata(bfile), good, hdul["DQ", ver].data, crbit)
        hdul["SCI", ver].data = sci
        if dq is not None:
            hdul["DQ", ver].data = dq
    write_hdulist(hdul, out)
