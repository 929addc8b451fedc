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
             wt_scl=1.0, rows=None):
    """Drizzle one chip: data in its own units (counts are divided by ``exptime`` in the kernel,
    so the output is a count rate), surface brightness scaled by ``pix_ratio**2``. ``rows``
    (first, last, inclusive) limits the input rows drizzled; the others only lend their map."""
    if pixfrac <= 0.001 and out.kernel != "point":
        warnings.warn("pixfrac <= 0.001: using the 'point' kernel, as AstroDrizzle does")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gaussian/lanczos flux warnings are the user's choice
        out.add_image(np.asarray(data, dtype=np.float32), exptime=exptime, pixmap=pixmap,
                      iscale=pix_ratio ** 2, pixel_scale_ratio=pix_ratio,
                      weight_map=np.asarray(weight, dtype=np.float32), wht_scale=wt_scl,
                      pixfrac=pixfrac, in_units=in_units,
                      ymin=rows[0] if rows else None, ymax=rows[1] if rows else None)
    return out


def skip_chip(out):
    """Account for a chip that reaches nothing of this output, so that the next chips keep their
    context bits (the kernel numbers images by the order they are added)."""
    if out.out_ctx is not None:
        out._increment_ctx_id()  # drizzle has no public way to skip an image id


def final_weight(wht_type, mask, exptime, err=None, ivm=None):
    """Weight image of the final drizzle (SPEC §1.11): EXPTIME, (EXPTIME/ERR)² or the IVM, times
    the good-pixel mask."""
    mask = mask.astype(np.float32)
    if wht_type == "ERR" and err is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where((err > 0) & np.isfinite(err), (exptime / err) ** 2, 0.0) * mask
        return w.astype(np.float32)
    if wht_type == "IVM" and ivm is not None:
        return (np.nan_to_num(ivm) * mask).astype(np.float32)
    mask *= np.float32(exptime)
    return mask


def final_wt_scl(wht_type, wt_scl, exptime, pix_ratio):
    """The weight scale of the final drizzle: a number given by the user, else what the weight
    type implies ('exptime'/'expsq' resolve to 1: the weights already hold EXPTIME)."""
    if wt_scl not in (None, "exptime", "expsq", ""):
        return float(wt_scl)
    if wht_type == "ERR":
        return 1.0 / pix_ratio ** 4
    if wht_type == "IVM":
        return exptime ** 2 / pix_ratio ** 4
    return 1.0


def drizzle_strips(shape, add_chips, workers=1, margin=12, kernel="square", fillval=None, n_chips=1,
                   context=True):
    """(SCI, WHT, CTX planes or None) of an output of ``shape``: ``add_chips(out, y0, y1)`` drizzles
    what reaches rows [y0, y1) of the whole into ``out``, an output of those rows. With ``workers`` > 1
    each process drizzles a horizontal strip grown by ``margin`` rows (so input pixels that
    straddle the strip edge are drizzled in full) and keeps the strip's own rows: bit-identical
    to one process up to float rounding (coordinates are relative to the strip)."""
    from snakedrizzle.drizzle.parallel import row_strips, run_strips, shared_array

    ny, nx = shape
    strips = row_strips(ny, workers, min_rows=4 * margin)
    n_planes = (max(n_chips - 1, 0)) // 32 + 1
    fill = np.nan if fillval is None or str(fillval).upper() in ("INDEF", "NAN") else float(fillval)
    if len(strips) == 1:
        out = new_output(shape, kernel, fillval, n_chips, context)
        add_chips(out, 0, ny)
        return out.out_img, out.out_wht, out.out_ctx if context else None
    sci = shared_array(shape, np.float32, fill)
    wht = shared_array(shape, np.float32)
    ctx = shared_array((n_planes, ny, nx), np.int32) if context else None

    def work(start, stop):
        lo, hi = max(start - margin, 0), min(stop + margin, ny)
        out = new_output((hi - lo, nx), kernel, fillval, n_chips, context)
        add_chips(out, lo, hi)
        sci[start:stop] = out.out_img[start - lo:stop - lo]
        wht[start:stop] = out.out_wht[start - lo:stop - lo]
        if context:
            ctx[:, start:stop] = out.out_ctx[:, start - lo:stop - lo]

    run_strips(strips, work)
    return sci, wht, ctx
