"""What the file-level stages share: opening exposures with the stage's overrides, chip WCSs
(read once per process, aligned by the align stages' headerlets when there are any), the
good-pixel mask of a chip's rows, and the output frame of a set of exposures."""
import functools
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.drizzle.frame_bounds import check_frame_size
from snakedrizzle.drizzle.masks import good_pixels, reset_bits
from snakedrizzle.io.exposure import read_chip, read_exposure, rootname_of


def open_exposure(path, pars):
    """The exposure with the stage's instrument overrides; only the chips of ``group`` (every
    stage that reads chips has it among its parameters)."""
    return read_exposure(path, exptime=pars.get("exptime"), gain=pars.get("gain"),
                         rdnoise=pars.get("rdnoise"), group=pars.get("group"))


@functools.lru_cache(maxsize=64)
def _cached_wcs(path, ver, coeffs, headerlet, wcskey, mtimes):
    return W.chip_wcs(path, ver, coeffs, headerlet=headerlet, wcskey=wcskey)


def chip_wcs(path, ver, pars, headerlets=None):
    """A chip's full-distortion WCS (read once per process): the aligned one from the exposure's
    headerlet when ``headerlets`` ({rootname: headerlet file}, from the align stages) has one,
    else the alternate WCS ``wcskey`` names (blank: the primary)."""
    hlet = (headerlets or {}).get(rootname_of(path)[0])
    mtimes = tuple(os.path.getmtime(f) for f in (path, hlet) if f)
    return _cached_wcs(path, int(ver), bool(pars["coeffs"]), hlet, pars.get("wcskey") or "", mtimes)


def exposure_wcss(exp, pars, headerlets=None):
    return [chip_wcs(exp.path, v, pars, headerlets) for v in exp.chips]


def nsplit(value):
    """A multi-value parameter (list/tuple of numbers, or a string like "3.5 3.0") as floats."""
    if isinstance(value, (list, tuple)):
        return tuple(float(v) for v in value)
    return tuple(float(v) for v in str(value).replace(",", " ").split())


def static_for(static_file, shape, ver):
    """The product's static mask for a chip of ``shape`` and extver ``ver`` (True if none)."""
    if not static_file:
        return True
    with fits.open(static_file) as hdul:
        for hdu in hdul[1:]:
            if hdu.ver == ver and hdu.data.shape == tuple(shape):
                return hdu.data.astype(bool)
    return True


def chip_inputs(exp, ver, pars, bits, static_file, crmask_file=None, rows=None, with_err=True):
    """(good-pixel mask, chip arrays) for drizzling one chip (rows ``rows=(r0, r1)`` only, if
    given): DQ (after resetbits), static mask, CR mask and non-finite pixels combined."""
    chip = read_chip(exp.path, ver, with_err=with_err, rows=rows)
    cut = slice(*rows) if rows else slice(None)
    dq = reset_bits(chip.dq, pars["resetbits"])
    static = static_for(static_file, exp.shapes[exp.chips.index(ver)], ver)
    good = chip.finite & good_pixels(dq, bits) & (static[cut] if isinstance(static, np.ndarray) else static)
    if crmask_file:
        good &= fits.getdata(crmask_file)[cut].astype(bool)
    return good, chip


def _frame_pars(pars, prefix):
    keys = ("ra", "dec", "scale", "rot", "outnx", "outny", "crpix1", "crpix2")
    return {k: pars.get(prefix + k) for k in keys}


def output_frame(exposure_paths, pars, prefix="final_", headerlets=None):
    """The default frame of all chips, customised by the ``final_*`` (or ``driz_sep_*``) values.
    InputError if it is implausibly large for the inputs (``frame_bounds``): nothing the size of
    the frame has been allocated yet."""
    exps = [open_exposure(path, pars) for path in exposure_paths]
    wcss = [w for exp in exps for w in exposure_wcss(exp, pars, headerlets)]
    custom = bool(pars.get(prefix + "wcs"))
    from_image = custom and bool(pars.get(prefix + "refimage"))
    base = W.frame_from_image(pars[prefix + "refimage"]) if from_image else W.default_frame(wcss)
    frame = W.custom_frame(base, **_frame_pars(pars, prefix)) if custom else base
    sized_by_user = from_image or (custom and pars.get(prefix + "outnx") is not None
                                   and pars.get(prefix + "outny") is not None)
    check_frame_size(frame, wcss, [s for exp in exps for s in exp.shapes], prefix, sized_by_user,
                     exposures=[(exp.path, exp.chips) for exp in exps])
    return frame
