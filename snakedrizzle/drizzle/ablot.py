"""Blot (SPEC §1.9): resample the median back onto a chip, with the ``drizzle`` C interpolators."""
import warnings

import numpy as np
from drizzle.resample import blot_image

# drizzle has no plain sinc: its windowed sinc (Lanczos) stands in for AstroDrizzle's 'sinc'.
INTERPOLATORS = {"nearest": "nearest", "linear": "linear", "poly3": "poly3", "poly5": "poly5",
                 "sinc": "lanczos5", "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


def blot(median, pixmap, exptime, pix_ratio, interp="poly5"):
    """The median (count rate, frame pixels) seen by a chip, in counts per chip pixel:
    interp × exptime / pix_ratio², 0 where the chip pixel falls outside the median."""
    if interp not in INTERPOLATORS:
        raise ValueError(f"unknown blot_interp {interp!r}; choose one of {sorted(INTERPOLATORS)}")
    if interp == "sinc":
        warnings.warn("blot_interp='sinc' uses the drizzle package's lanczos5 (windowed sinc)")
    return blot_image(np.asarray(median, dtype=np.float32), pixmap, fillval=0.0,
                      iscale=exptime / pix_ratio ** 2, interp=INTERPOLATORS[interp])


def blot_chip(median, median_frame, chip_wcs, shape, *, exptime, conversion=1.0, sky=0.0,
              interp="poly5", stepsize=10):
    """The median (count rate in ``median_frame``) as a chip of ``shape`` with ``chip_wcs`` would
    see it, in the chip's data units: counts per chip pixel divided by ``conversion`` (the chip's
    data-to-electrons factor), plus ``sky`` (data units). float32."""
    from snakedrizzle import wcs as W

    pix_ratio = W.frame_pscale(median_frame) / W.linear_pscale(chip_wcs)
    pm = W.pixmap(chip_wcs, median_frame, shape, stepsize)
    blotted = blot(np.asarray(median, dtype=np.float32), pm, exptime, pix_ratio, interp)
    blotted /= np.float32(conversion)
    blotted += np.float32(sky)
    return blotted.astype(np.float32)
