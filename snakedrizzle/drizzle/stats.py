"""Clipped image statistics with the semantics of STScI's ``imagestats`` (used by AstroDrizzle's
static mask and sky): limits-bounded mean/stddev clipping, then a histogram mode or a median."""
from dataclasses import dataclass

import numpy as np


@dataclass
class ClippedStats:
    npix: int
    mean: float
    stddev: float
    min: float
    max: float
    lower: float     # final clip limits
    upper: float


def clipped_stats(values, lower=None, upper=None, nclip=0, lsig=3.0, usig=3.0):
    """Iterative clipping: ``nclip`` times, limits := mean ∓ sig·stddev intersected with
    [lower, upper]; the statistics are those of the pixels inside the last limits."""
    v = np.asarray(values, dtype=np.float32).ravel()
    lo = float(np.min(v)) if lower is None else float(lower)
    hi = float(np.max(v)) if upper is None else float(upper)
    lim_lo, lim_hi = lo, hi
    for it in range(nclip + 1):
        sel = v[(v >= lim_lo) & (v <= lim_hi)]
        if sel.size == 0:
            raise ValueError("no pixels left inside the clipping limits")
        mean, std = _mean_std(sel)
        if it < nclip:
            lim_lo, lim_hi = max(lo, mean - lsig * std), min(hi, mean + usig * std)
            v = sel  # later limits are always inside earlier ones
    return ClippedStats(sel.size, mean, std, float(sel.min()), float(sel.max()), lim_lo, lim_hi)


def _mean_std(values):
    """Mean and sample standard deviation with float64 sums but no float64 copy of the pixels:
    deviations from the (float32-rounded) mean are small, so their float32 squares lose nothing
    that matters (relative error ~1e-7)."""
    n = values.size
    mean = float(np.add.reduce(values, dtype=np.float64)) / n
    if n < 2:
        return mean, 0.0
    dev = values - np.float32(mean)
    np.square(dev, out=dev)
    offset = mean - float(np.float32(mean))  # what the float32 mean left out
    var = (float(np.add.reduce(dev, dtype=np.float64)) - n * offset ** 2) / (n - 1)
    return mean, float(np.sqrt(max(var, 0.0)))


def histogram_mode(values, stats, binwidth=0.1):
    """Mode as imagestats computes it: histogram of bin ``binwidth``·σ over the clipped range,
    parabolic interpolation at the peak. Returns (mode, number of bins)."""
    hwidth = binwidth * stats.stddev
    drange = stats.max - stats.min
    tiny = 10.0 * np.finfo(np.float32).eps
    if hwidth < tiny or abs(drange) < tiny or hwidth > drange:
        return stats.min + 0.5 * hwidth, 1
    nbins = int(drange / hwidth) + 1
    dz = drange / (nbins - 1)
    v = np.asarray(values, dtype=np.float32).ravel()
    idx = np.floor((v - stats.min) / dz).astype(np.int64)
    bins = np.bincount(idx[(idx >= 0) & (idx < nbins)], minlength=nbins)
    if nbins == 2:
        offset = 0.5 if bins[0] > bins[1] else (1.5 if bins[0] < bins[1] else 1.0)
        return stats.min + offset * hwidth, nbins
    peak = int(np.argmax(bins))
    if peak == 0:
        return stats.min + 0.5 * hwidth, nbins
    if peak == nbins - 1:
        return stats.min + (nbins - 0.5) * hwidth, nbins
    dh1, dh2 = bins[peak] - bins[peak - 1], bins[peak] - bins[peak + 1]
    if dh1 + dh2 == 0:
        return stats.min + (peak + 0.5) * hwidth, nbins
    pos = peak + 1 + 0.5 * (dh1 - dh2) / (dh1 + dh2)
    return stats.min + (pos - 0.5) * hwidth, nbins
