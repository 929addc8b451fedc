"""Background and noise of a drizzled product (SPEC-HAP H7.2).

A sigma-clipped constant background unless the sky is skewed (crowded or with structure), then a
``photutils`` ``Background2D`` map if it passes HAP's sanity tests. The footprint is where the
product has weight, eroded so that edge pixels (few exposures, resampling ringing) stay out."""
import logging
from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats, SigmaClip
from photutils.background import Background2D, SExtractorBackground, StdBackgroundRMS
from scipy import ndimage

__all__ = ["Background", "CONSTANT_KINDS", "constant_map", "background_subtracted", "footprint_of",
           "compute_background", "forced_twod_background"]

log = logging.getLogger("snakedrizzle")

# Percentiles of masked pixels per box that Background2D tries in turn (HAP's sequence).
_EXCLUDE_PERCENTILES = (10, 25, 50, 75)
_MAD_TO_SIGMA = 1.482602


# Kinds whose level and noise are one value for the whole image (stored as read-only broadcast
# views of that value, so a constant map costs no memory).
CONSTANT_KINDS = ("sigma_clipped_background", "zero_background", "empty")
# Rows per block where a full-image float temporary would otherwise be made.
ROW_BLOCK = 256


@dataclass
class Background:
    level: np.ndarray     # background per pixel (e-/s)
    rms: np.ndarray       # its noise per pixel (e-/s)
    kind: str             # sigma_clipped_background | twod_background | zero_background | empty
    footprint: np.ndarray  # bool: pixels that count

    @property
    def constant(self):
        return self.kind in CONSTANT_KINDS

    @property
    def rms_median(self):
        if self.constant:  # the median of one repeated value is that value
            rms = self.rms[(0,) * self.rms.ndim]
            return float(rms) if rms > 0 and self.footprint.any() else 0.0
        good = self.rms[self.footprint & (self.rms > 0)]
        return float(np.median(good)) if good.size else 0.0

    def rms_threshold(self, nsigma):
        """``nsigma`` x the noise: a scalar for a constant map (same comparisons, no image)."""
        return float(nsigma) * (self.rms[(0,) * self.rms.ndim] if self.constant else self.rms)


def constant_map(value, shape):
    """A read-only ``shape`` view of ``value``, with the dtype ``zeros(shape, float32) + value``
    would have."""
    return np.broadcast_to(np.asarray(np.float32(0) + value), shape)


def background_subtracted(data, level, dtype=None, in_place=False):
    """``nan_to_num(data - level).astype(dtype)`` (default dtype: that of ``data - level``), made
    block by block so no full-image temporary exists; ``in_place`` writes it into ``data`` when
    the dtypes agree (the caller no longer needs the raw image)."""
    dtype = np.result_type(data, level) if dtype is None else np.dtype(dtype)
    out = data if in_place and data.dtype == dtype and data.flags.writeable else np.empty(data.shape, dtype)
    for start in range(0, data.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        out[rows] = np.nan_to_num(data[rows] - level[rows])
    return out


def footprint_of(wht, erosion=10):
    """Pixels with weight, eroded ``erosion`` times (H7.2)."""
    has_weight = np.isfinite(wht) & (wht > 0)
    if erosion:
        has_weight = ndimage.binary_erosion(has_weight, iterations=int(erosion))
    return has_weight


def _pixel_noise(data, footprint):
    """Noise from neighbouring-pixel differences along rows (robust to sources and gradients):
    median |2x_i - x_{i-2} - x_{i+2}| scaled to a Gaussian sigma."""
    # blocks of rows (no full-image temporaries) into one array of the footprint's size, whose
    # median may then sort it in place: one copy of the differences, not three
    diffs = np.empty(int(np.count_nonzero(footprint[:, 2:-2])), np.result_type(data.dtype, np.float32))
    n = 0
    for start in range(0, data.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        diff = np.abs(2 * data[rows, 2:-2] - data[rows, :-4] - data[rows, 4:])
        good = footprint[rows, 2:-2] & (data[rows, 2:-2] != 0) & np.isfinite(diff)
        kept = diff[good]
        diffs[n:n + kept.size] = kept
        n += kept.size
    return float(np.median(diffs[:n], overwrite_input=True) * _MAD_TO_SIGMA / np.sqrt(6)) if n else 0.0


def _clipped(data, footprint, pars):
    values = data[footprint & np.isfinite(data)]
    mean, median, std = sigma_clipped_stats(values, sigma=pars["nsigma_clip"], maxiters=pars["maxiters"])
    if median < 0:  # a negative sky: shift and measure again, as HAP does
        values = values - (median - std)
        mean, median, std = sigma_clipped_stats(values, sigma=pars["nsigma_clip"], maxiters=pars["maxiters"])
    skew = abs(3 * (mean - median) / std) if std > 0 else 0.0
    faint = values[(values > 0) & (values < median + 0.1 * std)]
    if faint.size > 10:
        mean, median, std = sigma_clipped_stats(faint, sigma=pars["nsigma_clip"], maxiters=pars["maxiters"])
    return max(mean, 0.0), max(median, 0.0), std, skew


def _twod(data, footprint, box, rms_limit, pars):
    """Background2D map, or None if no exclude percentile works or the map fails HAP's tests
    (too many pixels far below it, or a median noise above the clipped one)."""
    for percentile in _EXCLUDE_PERCENTILES:
        try:
            bkg = Background2D(np.nan_to_num(data), (box, box), filter_size=(pars["bkg_filter_size"],) * 2,
                               coverage_mask=~footprint, sigma_clip=SigmaClip(sigma=3.0),
                               bkg_estimator=SExtractorBackground(), bkg_rms_estimator=StdBackgroundRMS(),
                               exclude_percentile=percentile)
        except ValueError:
            continue
        rms_median = float(np.median(bkg.background_rms[footprint]))
        below = np.mean((data - bkg.background)[footprint] < -rms_median) * 100
        if below > pars["negative_percent"] or rms_median > rms_limit:
            return None
        # Background2D leaves 0 outside the coverage: the median there instead, or the sky just
        # outside the footprint, unsubtracted, rings its inside edge in every convolved image
        level, rms = bkg.background, bkg.background_rms
        level[~footprint] = np.median(level[footprint])
        rms[~footprint] = rms_median
        return level, rms
    return None


def compute_background(data, wht, pars, numexp=1, exptime=1.0, readnoise=0.0, sbc=False):
    """The :class:`Background` of a product's SCI ``data`` with weight ``wht`` (H7.2)."""
    footprint = footprint_of(wht, pars.get("footprint_erosion", 10))
    footprint &= np.isfinite(data)
    zeros = constant_map(0, data.shape)
    if not footprint.any() or not np.any(data[footprint]):
        return Background(zeros, zeros, "empty", footprint)
    if sbc:
        inside = data[footprint]
        if np.mean(inside == 0) * 100 > pars["zero_percent"]:
            rms = max(float(np.std(inside[inside > 0])) if (inside > 0).any() else 0.0, 1 / exptime)
            return Background(zeros, constant_map(rms, data.shape), "zero_background", footprint)
        del inside
    _, median, std, skew = _clipped(data, footprint, pars)
    floor = np.sqrt(max(median * exptime, 1)) / exptime if sbc else np.sqrt(numexp) * readnoise / exptime
    rms = max(std, floor, _pixel_noise(data, footprint))
    background = Background(constant_map(median, data.shape), constant_map(rms, data.shape),
                            "sigma_clipped_background", footprint)
    if skew > pars["bkg_skew_threshold"]:
        twod = _twod(data, footprint, int(pars["bkg_box_size"]), rms, pars)
        if twod is not None:
            background = Background(twod[0].astype(np.float32), twod[1].astype(np.float32), "twod_background",
                                    footprint)
    summary = ((background.level[(0, 0)], background.rms[(0, 0)]) if background.constant else
               (np.median(background.level[footprint]), np.median(background.rms[footprint])))
    log.info("background: %s, median %.4g, rms %.4g (skew %.2f)", background.kind, float(summary[0]),
             float(summary[1]), skew)
    return background


def forced_twod_background(data, background, pars):
    """H7.5's round 2: a sigma-clipped ``background`` replaced by a ``Background2D`` map whatever
    the skew, the pixels below it or its noise (HAP recomputes with skew threshold 0 and
    negative limit 100%); ``background`` itself when no box size works."""
    twod = _twod(data, background.footprint, int(pars["bkg_box_size"]), np.inf, {**pars, "negative_percent": 100.0})
    if twod is None:
        log.warning("background: Background2D failed; the sigma-clipped background stays")
        return background
    log.info("background: forced to Background2D, median rms %.4g",
             float(np.median(twod[1][background.footprint])))
    return Background(twod[0].astype(np.float32), twod[1].astype(np.float32), "twod_background",
                      background.footprint)
