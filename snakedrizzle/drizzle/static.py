"""Static mask (SPEC §1.4): pixels far below the sky mode of a chip (bad columns, negative
pixels). Per exposure we keep each chip's own mask; the product mask is their AND."""
import numpy as np

from snakedrizzle.drizzle.stats import clipped_stats, histogram_mode


def static_mask(sci, static_sig=4.0):
    """Boolean good-pixel mask: False where ``sci < mode - static_sig * rms`` (3 clips at 3σ)."""
    stats = clipped_stats(sci, nclip=3, lsig=3.0, usig=3.0)
    mode, nbins = histogram_mode(sci, stats, binwidth=0.1)
    if nbins < 2:  # too little dynamic range to say anything
        return np.ones(sci.shape, dtype=bool)
    return ~(sci < mode - static_sig * stats.stddev)
