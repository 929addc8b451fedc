"""Median (SPEC §1.8): combine the separately drizzled images pixel by pixel.

``combine_stack`` is the pure algorithm on a stack (n, rows, cols); ``median_image`` streams row
blocks out of memory-mapped single images so memory stays bounded whatever the number of
exposures.
"""
import numpy as np
from scipy import ndimage

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
    """Median's bad-pixel masks: weight below ``maskpt`` × the image's mean positive weight."""
    return weights < (maskpt * np.asarray(wht_means, dtype=np.float32))[:, None, None]


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
        nsig = [float(s) for s in str(params["combine_nsigma"]).replace(",", " ").split()]
        return minmed(stack, weights, masked, readnoise, exptime, background, nsig, params["grow"])
    good = ~masked
    lo, hi = params.get("lthresh"), params.get("hthresh")
    if lo is not None:
        good &= stack >= np.asarray(lo, dtype=np.float32)[:, None, None]
    if hi is not None:
        good &= stack < np.asarray(hi, dtype=np.float32)[:, None, None]
    how = {"imedian": "median", "imean": "mean"}.get(ctype, ctype)
    return masked_combine(stack, good, how, params["combine_nlow"], params["combine_nhigh"])
