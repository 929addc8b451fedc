"""Cosmic-ray identification (SPEC §1.10): compare each chip with the blotted median."""
import numpy as np
from scipy import ndimage, signal


def qderiv(image):
    """|derivative| of an image: max |B - shifted B| over four one-pixel shifts, each against a
    zero-filled buffer, so edges compare with 0 (AstroDrizzle's quickDeriv, kept on purpose:
    the derivative tolerance near edges is part of its CR thresholds)."""
    b = np.asarray(image, dtype=np.float64)
    n1, n2 = b.shape
    out = np.zeros_like(b)
    shifts = [((slice(0, n1 - 1), slice(1, n2 - 1)), (slice(0, n1 - 1), slice(0, n2 - 2))),
              ((slice(0, n1 - 1), slice(0, n2 - 2)), (slice(0, n1 - 1), slice(1, n2 - 1))),
              ((slice(1, n1 - 1), slice(0, n2 - 1)), (slice(0, n1 - 2), slice(0, n2 - 1))),
              ((slice(0, n1 - 2), slice(0, n2 - 1)), (slice(1, n1 - 1), slice(0, n2 - 1)))]
    for dst, src in shifts:
        t = np.zeros_like(b)
        t[dst] = b[src]
        np.maximum(out, np.abs(b - t), out=out)
    return out.astype(np.float32)


def _box_sum(mask, kernel):
    """convolve2d(mask, kernel, boundary='symm', mode='same'); ndimage is faster for odd kernels."""
    if kernel.shape[0] % 2 == 1:
        return ndimage.convolve(mask.astype(np.int32), kernel.astype(np.int32), mode="reflect")
    return signal.convolve2d(mask, kernel, boundary="symm", mode="same")


def cr_mask(image, blotted, sky, readnoise, gain=1.0, snr=(3.5, 3.0), scale=(1.2, 0.7),
            grow=1, ctegrow=0, cte_dir=0):
    """True where the pixel is good, False where it is a cosmic ray. All inputs in electrons;
    ``blotted`` includes the sky, which therefore enters the noise twice, as in AstroDrizzle."""
    image = np.asarray(image, dtype=np.float32)
    blotted = np.asarray(blotted, dtype=np.float32)
    deriv = qderiv(blotted)
    diff = np.abs(image - blotted)
    noise = np.sqrt(gain * np.abs(blotted + sky) + readnoise ** 2) / gain
    good1 = diff <= scale[0] * deriv + snr[0] * noise
    neighbours_good = _box_sum(good1, np.ones((3, 3), dtype=np.int32))
    good = (diff <= scale[1] * deriv + snr[1] * noise) | (neighbours_good >= 9)
    base = good
    if grow > 1:  # a grow x grow box (not 2*grow+1), as AstroDrizzle does
        good = good & (_box_sum(base, np.ones((grow, grow), dtype=np.int32)) >= grow ** 2)
    if ctegrow > 0 and cte_dir != 0:  # a CTE tail of ctegrow pixels on the readout side
        tail = np.zeros((2 * ctegrow + 1, 2 * ctegrow + 1), dtype=np.int32)
        if cte_dir == 1:
            tail[0:ctegrow, ctegrow] = 1
        else:
            tail[ctegrow + 1:, ctegrow] = 1
        good = good & (signal.convolve2d(base, tail, boundary="symm", mode="same") >= ctegrow)
    return good
