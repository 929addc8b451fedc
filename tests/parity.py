"""Comparison of a snakedrizzle product with DrizzlePac's on the same inputs (used by tests and
benchmarks): frame identity, SCI agreement relative to the local noise, CR-mask agreement."""
import numpy as np
from astropy.io import fits
from scipy import ndimage


def frame_differences(ours, theirs):
    """Max |difference| of shape, CRPIX, CRVAL (deg) and CD between two SCI headers."""
    a, b = fits.getheader(ours, "SCI"), fits.getheader(theirs, "SCI")
    return {
        "shape": (a["NAXIS1"], a["NAXIS2"]) == (b["NAXIS1"], b["NAXIS2"]),
        "crpix": max(abs(a[k] - b[k]) for k in ("CRPIX1", "CRPIX2")),
        "crval": max(abs(a[k] - b[k]) for k in ("CRVAL1", "CRVAL2")),
        "cd": max(abs(a[k] - b[k]) for k in ("CD1_1", "CD1_2", "CD2_1", "CD2_2")),
    }


def local_noise(sci, wht, size=15):
    """Local noise of a drizzled image: robust RMS of the pixel-to-pixel scatter in a box."""
    valid = (wht > 0) & np.isfinite(sci)
    d = np.where(valid, sci, 0.0)
    lap = d - ndimage.uniform_filter(d, 3)
    mad = ndimage.median_filter(np.abs(lap), size=size)
    return 1.4826 * mad * 1.1547  # MAD of a 3x3-mean residual -> sigma of one pixel


def sci_agreement(ours, theirs):
    """Fraction of pixels with WHT > 0 in both where |SCI difference| <= 1% of the local noise."""
    a, aw = fits.getdata(ours, "SCI"), fits.getdata(ours, "WHT")
    b, bw = fits.getdata(theirs, "SCI"), fits.getdata(theirs, "WHT")
    both = (aw > 0) & (bw > 0) & np.isfinite(a) & np.isfinite(b)
    noise = local_noise(b, bw)
    ok = np.abs(a - b) <= 0.01 * np.maximum(noise, 1e-12)
    return float(ok[both].mean()), int(both.sum())


def mask_agreement(ours, theirs):
    a = fits.getdata(ours).astype(bool)
    b = fits.getdata(theirs).astype(bool)
    return float((a == b).mean()), int((~a).sum()), int((~b).sum())
