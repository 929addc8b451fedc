"""Median (SPEC §1.8): combine the separately drizzled images pixel by pixel.

``combine_stack`` is the pure algorithm on a stack (n, rows, cols); ``median_combine`` is the
stage: it places images at offsets in the median frame and streams blocks of rows out of them
(arrays, or readers that load rows on demand), so memory stays bounded whatever the number of
exposures, optionally split between processes with the same result.
"""
import logging

import numpy as np
from scipy import ndimage

from snakedrizzle.drizzle.parallel import row_strips, run_strips, shared_array

log = logging.getLogger("snakedrizzle")

COMBINE_TYPES = ("median", "mean", "minmed", "imedian", "imean", "iminmed", "sum")


def _effective_rejection(count, nlow, nhigh):
    """Per-pixel nlow/nhigh: when rejection would leave nothing, give back nhigh, then nlow,
    alternately, until one value remains (stsci.image numcombine behaviour)."""
    nl = np.full(count.shape, nlow, dtype=np.int32)
    nh = np.full(count.shape, nhigh, dtype=np.int32)
    for turn in range(nlow + nhigh):
        short = (count - nl - nh < 1) & (nl + nh > 0)
        if not short.any():
            break
        take_high = short & (nh > 0) & ((turn % 2 == 0) | (nl == 0))
        nh -= take_high
        nl -= short & ~take_high & (nl > 0)
    return nl, nh


def masked_combine(stack, good, how="median", nlow=0, nhigh=0):
    """Median or mean over the good values of each pixel after dropping ``nlow`` lowest and
    ``nhigh`` highest; 0 where no value is good. ``how='sum'`` sums the good values."""
    good = good.astype(bool)
    count = good.sum(axis=0)
    if how == "sum":
        return np.where(good, stack, 0).sum(axis=0, dtype=np.float64).astype(np.float32)
    v = np.where(good, stack, np.inf).astype(np.float32)
    v.sort(axis=0)
    nl, nh = _effective_rejection(count, nlow, nhigh)
    kept = np.maximum(count - nl - nh, 0)
    safe = np.maximum(kept, 1)
    if how == "mean":
        v[~np.isfinite(v)] = 0.0
        csum = np.concatenate([np.zeros((1,) + v.shape[1:], np.float64), np.cumsum(v, axis=0, dtype=np.float64)])
        total = np.take_along_axis(csum, (nl + kept)[None], 0)[0] - np.take_along_axis(csum, nl[None], 0)[0]
        result = total / safe
    else:
        lo = np.take_along_axis(v, np.minimum(nl + (safe - 1) // 2, v.shape[0] - 1)[None], 0)[0]
        hi = np.take_along_axis(v, np.minimum(nl + safe // 2, v.shape[0] - 1)[None], 0)[0]
        result = 0.5 * (lo.astype(np.float64) + hi)
    return np.where(kept > 0, result, 0.0).astype(np.float32)


def minmed(stack, weights, masked, readnoise, exptime, background, nsigma=(4.0, 3.0), grow=1):
    """AstroDrizzle's minmed (SPEC §1.8 steps 1-6): median, unless the minimum is significantly
    lower than the median given the noise expected from the median itself (then minimum).

    ``masked`` is True where an image's pixel is bad; readnoise/exptime/background per image.
    """
    n = stack.shape[0]
    good = ~masked
    count = good.sum(axis=0)
    if n == 2:
        med = masked_combine(stack, good, "mean")
    else:
        med = masked_combine(stack, good, "median", nlow=0, nhigh=1)
    if n == 1:
        med = stack[0].astype(np.float32)
    one_left = count == 1
    if n > 1 and one_left.any():  # a single good value is the median
        med = np.where(one_left, np.where(good, stack, 0).sum(axis=0), med).astype(np.float32)
    minimum = np.where(good, stack, np.inf).min(axis=0)
    minimum[count == 0] = 0.0
    wsum = weights.sum(axis=0, dtype=np.float64)
    bkg = np.tensordot(np.asarray(background) / np.asarray(exptime), weights, axes=(0, 0))
    rn2 = np.tensordot(np.asarray(readnoise, dtype=np.float64) ** 2, good.astype(np.float64), axes=(0, 0))
    med_w, min_w = med * wsum, minimum * wsum
    sigma = np.sqrt(np.maximum(med_w + bkg + rn2, 0.0))
    threshold = med_w - nsigma[0] * sigma
    if grow:
        near_low = ndimage.maximum_filter((min_w < threshold).astype(np.uint8), size=2 * grow + 1,
                                          mode="constant", cval=0) > 0
        threshold = np.where(near_low, med_w - nsigma[1] * sigma, threshold)
    result = np.where(min_w < threshold, minimum, med)
    result[count == 0] = 0.0
    return result.astype(np.float32)


def weight_masks(weights, maskpt, wht_means):
    """Median's bad-pixel masks: weight below ``maskpt`` × the image's mean positive weight, and
    every pixel of an image with no positive weight at all (whose threshold would be 0)."""
    means = np.asarray(wht_means, dtype=np.float32)
    return (weights < (maskpt * means)[:, None, None]) | (means <= 0)[:, None, None]


def mean_positive(wht):
    w = wht[wht > 1e-8]
    return float(w.mean(dtype=np.float64)) if w.size else 0.0


def combine_stack(stack, weights, params, readnoise, exptime, background):
    """Combine one block of the stack with AstroDrizzle's ``combine_*`` parameters."""
    ctype = params["combine_type"]
    masked = np.zeros(stack.shape, dtype=bool)
    if params["median_newmasks"]:
        masked |= weight_masks(weights, params["combine_maskpt"], params["wht_means"])
    masked |= params["outside"]
    if "minmed" in ctype:
        nsig = params["combine_nsigma"]  # a list of floats, or (until the config gives lists) "4 3"
        nsig = [float(v) for v in (nsig if isinstance(nsig, (list, tuple)) else str(nsig).replace(",", " ").split())]
        return minmed(stack, weights, masked, readnoise, exptime, background, nsig, params["grow"])
    good = ~masked
    lo, hi = params.get("lthresh"), params.get("hthresh")
    if lo is not None:
        good &= stack >= np.asarray(lo, dtype=np.float32)[:, None, None]
    if hi is not None:
        good &= stack < np.asarray(hi, dtype=np.float32)[:, None, None]
    how = {"imedian": "median", "imean": "mean"}.get(ctype, ctype)
    return masked_combine(stack, good, how, params["combine_nlow"], params["combine_nhigh"])


def median_combine(images, weights, offsets, shape, pars, *, readnoise, exptime, background,
                   names=None, workers=1, threshold_scale=None):
    """The combination (``pars['combine_type']`` and the other ``combine_*``/``median_newmasks``
    parameters) of ``images`` with their ``weights``, image k placed at 0-based ``offsets[k]``
    = (x0, y0) in an output of ``shape`` (ny, nx). Images and weights are 2-D arrays or objects
    with ``shape`` and row slicing (``[a0:a1]``) that read on demand. ``readnoise``, ``exptime``
    and ``background`` (electrons) are per image; ``threshold_scale`` (per image, default 1)
    multiplies ``combine_lthresh``/``combine_hthresh`` (``proc_unit``'s conversion to electrons).

    An image with no positive weight (an exposure with no usable pixel: all NaN, all flagged)
    would enter the median as zeros: it is left out, with a warning naming it (``names``). Rows
    are combined in blocks, split between ``workers`` processes; every output pixel depends only
    on its own column and ``combine_grow`` neighbouring rows, which each block reads, so the
    result does not depend on the split."""
    names = list(names or [f"image {k}" for k in range(len(images))])
    means = [mean_positive(np.asarray(w[0:w.shape[0]])) for w in weights]
    keep = [k for k, m in enumerate(means) if m > 0]
    for k in sorted(set(range(len(images))) - set(keep)):
        log.warning("%s has no usable pixels (zero weight everywhere): left out of the median", names[k])
    ny, nx = shape
    result = shared_array((ny, nx), np.float32) if workers > 1 else np.zeros((ny, nx), np.float32)
    if not keep:
        return result
    sub = dict(images=[images[k] for k in keep], weights=[weights[k] for k in keep],
               offsets=[offsets[k] for k in keep], wht_means=[means[k] for k in keep],
               readnoise=[readnoise[k] for k in keep], exptime=[exptime[k] for k in keep],
               background=[background[k] for k in keep],
               threshold_scale=[(threshold_scale or [1.0] * len(images))[k] for k in keep])
    run_strips(row_strips(ny, workers), lambda r0, r1: _combine_rows(sub, shape, pars, result, r0, r1))
    return result


def _rows_per_block(n_images, ncols, bufsize_mb, grow):
    budget = (bufsize_mb or 64) * 2 ** 20
    per_row = max(n_images, 1) * ncols * 4 * 8  # stack, weights, masks and sort buffers
    return max(int(budget // per_row), 2 * grow + 1, 1)


def _combine_rows(sub, shape, pars, result, first_row, end_row):
    """Combine output rows [first_row, end_row) into ``result``, one block of rows at a time."""
    ny, nx = shape
    n = len(sub["images"])
    grow = int(pars["combine_grow"]) if "minmed" in pars["combine_type"] else 0
    rows = _rows_per_block(n, nx, pars["combine_bufsize"], grow)
    lt, ht = pars.get("combine_lthresh"), pars.get("combine_hthresh")
    scale = sub["threshold_scale"]
    block_pars = dict(pars, wht_means=sub["wht_means"], grow=grow,
                      lthresh=None if lt is None else [lt * f for f in scale],
                      hthresh=None if ht is None else [ht * f for f in scale])
    for r0 in range(first_row, end_row, rows):
        r1 = min(r0 + rows, end_row)
        e0, e1 = max(r0 - grow, 0), min(r1 + grow, ny)  # overlap rows so 'grow' sees neighbours
        stack, wstack, outside = _stack_block(sub, nx, e0, e1)
        combined = combine_stack(stack, wstack, dict(block_pars, outside=outside), sub["readnoise"],
                                 sub["exptime"], sub["background"])
        result[r0:r1] = combined[r0 - e0:r1 - e0]


def _stack_block(sub, nx, e0, e1):
    """(images, weights, outside-mask) stacks of output rows [e0, e1)."""
    n = len(sub["images"])
    stack = np.zeros((n, e1 - e0, nx), dtype=np.float32)
    wstack = np.zeros_like(stack)
    outside = np.ones(stack.shape, dtype=bool)
    for k, (img, wht, (x0, y0)) in enumerate(zip(sub["images"], sub["weights"], sub["offsets"])):
        h, w = img.shape
        a0, a1 = max(e0 - y0, 0), min(e1 - y0, h)
        if a1 <= a0:
            continue
        dst = (k, slice(a0 + y0 - e0, a1 + y0 - e0), slice(x0, x0 + w))
        stack[dst] = img[a0:a1]
        wstack[dst] = wht[a0:a1]
        outside[dst] = False
    return stack, wstack, outside
