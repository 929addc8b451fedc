"""Drizzling chips onto a frame with STScI's C kernels (the ``drizzle`` package), SPEC §1.6.

This module only prepares what the kernel needs (pixel map, scale ratio, weights); the
resampling itself is ``drizzle.resample.Drizzle``.
"""
import warnings

import numpy as np
from drizzle.resample import Drizzle

KERNELS = ("square", "point", "turbo", "gaussian", "lanczos3")


def new_output(shape, kernel="square", fillval=None, n_chips=1, context=True):
    """An empty output (SCI, WHT and, if ``context``, CTX planes for ``n_chips`` chips)."""
    if kernel == "tophat":
        raise ValueError("kernel 'tophat' is not supported (AstroDrizzle 3.11 rejects it too)")
    if kernel not in KERNELS:
        raise ValueError(f"unknown drizzle kernel {kernel!r}; choose one of {KERNELS}")
    return Drizzle(kernel=kernel, fillval=fillval, out_shape=tuple(shape),
                   max_ctx_id=max(n_chips - 1, 0), disable_ctx=not context)


def add_chip(out, data, weight, pixmap, exptime, pix_ratio, pixfrac=1.0, in_units="counts",
             wt_scl=1.0):
    """Drizzle one chip: data in its own units (counts are divided by ``exptime`` in the kernel,
    so the output is a count rate), surface brightness scaled by ``pix_ratio**2``."""
    if pixfrac <= 0.001 and out.kernel != "point":
        warnings.warn("pixfrac <= 0.001: using the 'point' kernel, as AstroDrizzle does")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gaussian/lanczos flux warnings are the user's choice
        out.add_image(np.asarray(data, dtype=np.float32), exptime=exptime, pixmap=pixmap,
                      iscale=pix_ratio ** 2, pixel_scale_ratio=pix_ratio,
                      weight_map=np.asarray(weight, dtype=np.float32), wht_scale=wt_scl,
                      pixfrac=pixfrac, in_units=in_units)
    return out


def final_weight(wht_type, mask, exptime, err=None, ivm=None, pix_ratio=1.0):
    """(weight image, wt_scl) for the final drizzle (SPEC §1.11)."""
    mask = mask.astype(np.float32)
    if wht_type == "ERR" and err is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where((err > 0) & np.isfinite(err), (exptime / err) ** 2, 0.0) * mask
        return w.astype(np.float32), 1.0 / pix_ratio ** 4
    if wht_type == "IVM" and ivm is not None:
        return (np.nan_to_num(ivm) * mask).astype(np.float32), exptime ** 2 / pix_ratio ** 4
    return (exptime * mask).astype(np.float32), 1.0
