"""Weight regions of a total image and their detection thresholds (SPEC-HAP H7.3).

A total image is deeper where more exposures overlap. HAP splits its footprint into regions of
similar weight and gives each its own noise, ``rms_r = bkg_rms / sqrt(max relative weight in
r)``: the noise map scaled up where fewer exposures reach. Each region is a label in one uint8
image (0 outside the footprint), so regions cost a quarter of a float32 image however many
there are."""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from snakedrizzle.errors import InputError

__all__ = ["WeightRegions", "weight_regions", "whole_footprint", "region_scale", "product_regions"]


@dataclass
class WeightRegions:
    labels: np.ndarray    # uint8: 0 outside the footprint, k + 1 in region k
    max_rel: np.ndarray   # per region: its largest relative (maximum-filtered) weight

    @property
    def count(self):
        return len(self.max_rel)

    def boxes(self):
        """The bounding slices of each region (None for a region without pixels)."""
        return ndimage.find_objects(self.labels, max_label=self.count)

    def noise(self, background):
        """Per region: median over its pixels of ``bkg_rms * sqrt(1 / max_rel)`` where the noise
        is positive (H7.3), 0 for a region without noise."""
        if not self.count:
            return np.zeros(0)
        if background.constant:  # one rms value: the median is that value
            rms = float(background.rms[(0,) * background.rms.ndim])
            medians = np.full(self.count, rms if rms > 0 else 0.0)
        else:
            positive = np.where(background.rms > 0, self.labels, np.uint8(0))
            medians = np.nan_to_num(np.asarray(
                ndimage.median(background.rms, positive, np.arange(1, self.count + 1)), float))
        return medians / np.sqrt(self.max_rel)

    def threshold(self, background, nsigma):
        """``nsigma`` x each region's noise over its pixels, 0 outside them: a scalar when there is
        one region (pixels outside the footprint are masked by every caller), else a float32
        image (the H7.5 threshold image)."""
        values = float(nsigma) * self.noise(background)
        if self.count == 1:
            return float(values[0])
        return np.concatenate([[0.0], values]).astype(np.float32)[self.labels]


def whole_footprint(footprint):
    """The footprint as one region of relative weight 1 (a total without weight structure)."""
    return WeightRegions(footprint.astype(np.uint8), np.ones(1 if footprint.any() else 0))


def region_scale(pars, ndrizim):
    """Weight ratio between successive regions: ``max(scale, (NDRIZIM - 1) / 2)`` (H7.3)."""
    scale = max(float(pars["scale"]), (float(ndrizim) - 1) / 2)
    if scale <= 1:
        raise InputError(f"catalog parameter scale={pars['scale']}", "must be above 1")
    return scale


def _maximum_filter_in_place(image, size, band=512):
    """``image[...] = ndimage.maximum_filter(image, size)``, the same values, band by band of
    rows: each band is filtered with ``size // 2`` original rows either side (the ones above
    kept from before the previous band was overwritten), so no second frame-sized image exists."""
    half = int(size) // 2
    above = image[:0].copy()
    for r0 in range(0, image.shape[0], band):
        r1 = min(r0 + band, image.shape[0])
        block = np.concatenate([above, image[r0:r1 + half]])
        filtered = ndimage.maximum_filter(block, size=int(size))
        above = image[max(r1 - half, r0):r1].copy()
        image[r0:r1] = filtered[len(block) - len(image[r0:r1 + half]):][:r1 - r0]
    return image


def weight_regions(wht, footprint, scale, sensitivity=0.95, size=11, in_place=False):
    """Regions of the ``footprint`` by relative weight (H7.3): the ``size`` x ``size`` maximum
    filter of ``wht`` over its maximum; starting at limit ``1/scale``, the unused pixels above the
    limit form a region if they are all that is left, or if both they and the rest hold more than
    ``1 - sensitivity`` of the footprint; the limit drops by ``scale`` each pass (to 0 when only
    a sliver would be left). ``in_place``: a float32 ``wht`` the caller needs no more becomes the
    relative weight (one frame-sized image less)."""
    wht = np.asarray(wht, np.float32)
    if not (in_place and wht.flags.writeable):
        wht = wht.copy()
    np.nan_to_num(wht, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    rel = _maximum_filter_in_place(wht, size)
    top = float(rel.max()) if rel.size else 0.0
    labels = np.zeros(wht.shape, np.uint8)
    if top <= 0:
        return WeightRegions(labels, np.zeros(0))
    rel /= np.float32(top)
    left = footprint & (rel > 0)
    n_left = int(np.count_nonzero(left))
    sliver = (1 - float(sensitivity)) * n_left
    limit, count = 1 / scale, 0
    candidate = np.empty(rel.shape, bool)
    while n_left:
        np.greater(rel, limit, out=candidate)
        candidate &= left
        n = int(np.count_nonzero(candidate))
        if n and (n == n_left or (n > sliver and n_left - n > sliver)):
            count += 1
            labels[candidate] = count
            left[candidate] = False
            n_left -= n
        elif n and n_left - n <= sliver:
            limit = 0.0  # the rest joins the next region
        limit /= scale
    return WeightRegions(labels, _largest_per_label(rel, labels, count))


def _largest_per_label(values, labels, count, band=512):
    """The largest of ``values`` over each label 1..``count``, band by band of rows (ndimage's
    labelled maximum sorts the whole frame: 8 bytes a pixel)."""
    largest = np.full(count, -np.inf)
    for r0 in range(0, labels.shape[0], band):
        rows = slice(r0, r0 + band)
        for k in range(1, count + 1):
            inside = labels[rows] == k
            if inside.any():
                largest[k - 1] = max(largest[k - 1], float(values[rows][inside].max()))
    return largest


def product_regions(wht, footprint, header, pars, in_place=False):
    """The weight regions of a total product whose ``header`` gives NDRIZIM (chips drizzled;
    NUMEXP when it is missing); ``in_place`` as for :func:`weight_regions`."""
    ndrizim = header.get("NDRIZIM", header.get("NUMEXP", 1)) or 1
    return weight_regions(wht, footprint, region_scale(pars, ndrizim), pars.get("sensitivity", 0.95),
                          pars.get("region_size", 11), in_place=in_place)
