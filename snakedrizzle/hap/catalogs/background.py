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

__all__ = ["Background", "footprint_of", "compute_background"]

log = logging.getLogger("snakedrizzle")

# Percentiles of masked pixels per box that Background2D tries in turn (HAP's sequence).
_EXCLUDE_PERCENTILES = (10, 25, 50, 75)
_MAD_TO_SIGMA = 1.482602


@dataclass
class Background:
    level: np.ndarray     # background per pixel (e-/s)
    rms: np.ndarray       # its noise per pixel (e-/s)
    kind: str             # sigma_clipped_background | twod_background | zero_background | empty
    footprint: np.ndarray  # bool: pixels that count

    @property
    def rms_median(self):
        good = self.rms[self.footprint & (self.rms > 0)]
        return float(np.median(good)) if good.size else 0.0


def footprint_of(wht, erosion=10):
    """Pixels with weight, eroded ``erosion`` times (H7.2)."""
    has_weight = np.isfinite(wht) & (wht > 0)
    if erosion:
        has_weight = ndimage.binary_erosion(has_weight, iterations=int(erosion))
    return has_weight


def _pixel_noise(data, footprint):
    """Noise from neighbouring-pixel differences along rows (robust to sources and gradients):
    median |2x_i - x_{i-2} - x_{i+2}| scaled to a Gaussian sigma."""
    diff = np.abs(2 * data[:, 2:-2] - data[:, :-4] - data[:, 4:])
    good = footprint[:, 2:-2] & (data[:, 2:-2] != 0) & np.isfinite(diff)
    return float(np.median(diff[good]) * _MAD_TO_SIGMA / np.sqrt(6)) if good.any() else 0.0


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
        return bkg.background, bkg.background_rms
    return None


def compute_background(data, wht, pars, numexp=1, exptime=1.0, readnoise=0.0, sbc=False):
    """The :class:`Background` of a product's SCI ``data`` with weight ``wht`` (H7.2)."""
    footprint = footprint_of(wht, pars.get("footprint_erosion", 10)) & np.isfinite(data)
    zeros = np.zeros(data.shape, np.float32)
    if not footprint.any() or not np.any(data[footprint]):
        return Background(zeros, zeros, "empty", footprint)
    inside = data[footprint]
    if sbc and np.mean(inside == 0) * 100 > pars["zero_percent"]:
        rms = max(float(np.std(inside[inside > 0])) if (inside > 0).any() else 0.0, 1 / exptime)
        return Background(zeros, zeros + rms, "zero_background", footprint)
    _, median, std, skew = _clipped(data, footprint, pars)
    floor = np.sqrt(max(median * exptime, 1)) / exptime if sbc else np.sqrt(numexp) * readnoise / exptime
    rms = max(std, floor, _pixel_noise(data, footprint))
    level, noise, kind = zeros + median, zeros + rms, "sigma_clipped_background"
    if skew > pars["bkg_skew_threshold"]:
        twod = _twod(data, footprint, int(pars["bkg_box_size"]), rms, pars)
        if twod is not None:
            level, noise, kind = twod[0].astype(np.float32), twod[1].astype(np.float32), "twod_background"
    log.info("background: %s, median %.4g, rms %.4g (skew %.2f)", kind, float(np.median(level[footprint])),
             float(np.median(noise[footprint])), skew)
    return Background(level, noise, kind, footprint)
