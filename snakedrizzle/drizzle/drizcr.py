"""Cosmic-ray identification (SPEC §1.10): compare each chip with the blotted median."""
import numpy as np
from scipy import ndimage


def qderiv(image):
    """|derivative| of an image: max |B - shifted B| over four one-pixel shifts, each against a
    zero-filled buffer, so edges compare with 0 (AstroDrizzle's quickDeriv, kept on purpose:
    the derivative tolerance near edges is part of its CR thresholds).

    Computed in float32 region by region: the difference of two float32 values rounded once to
    float32 equals DrizzlePac's float64 result cast to float32."""
    b = np.asarray(image, dtype=np.float32)
    n1, n2 = b.shape
    out = np.abs(b)  # where a shift brings in the zero fill, |B - 0|
    out[1:n1 - 2, 1:n2 - 2] = 0.0  # ... which no pixel of this core (inside all four shifts) sees
    shifts = [((slice(0, n1 - 1), slice(1, n2 - 1)), (slice(0, n1 - 1), slice(0, n2 - 2))),
              ((slice(0, n1 - 1), slice(0, n2 - 2)), (slice(0, n1 - 1), slice(1, n2 - 1))),
              ((slice(1, n1 - 1), slice(0, n2 - 1)), (slice(0, n1 - 2), slice(0, n2 - 1))),
              ((slice(0, n1 - 2), slice(0, n2 - 1)), (slice(1, n1 - 1), slice(0, n2 - 1)))]
    for dst, src in shifts:
        np.maximum(out[dst], np.abs(b[dst] - b[src]), out=out[dst])
    return out


def _box_sum(mask, size):
    """Sum of ``mask`` over a size x size box with symmetric edges, as
    ``convolve2d(mask, ones, boundary='symm', mode='same')`` (whose even boxes reach one pixel
    further back than forward): two 1-D passes."""
    origin = -1 if size % 2 == 0 else 0
    total = ndimage.convolve1d(mask.astype(np.int32), np.ones(size, np.int32), axis=0, mode="reflect", origin=origin)
    return ndimage.convolve1d(total, np.ones(size, np.int32), axis=1, mode="reflect", origin=origin)


def _tail_sum(mask, ctegrow, cte_dir):
    """Number of good pixels among the ``ctegrow`` pixels on the readout side (along y)."""
    tail = np.zeros(2 * ctegrow + 1, dtype=np.int32)
    if cte_dir == 1:
        tail[:ctegrow] = 1
    else:
        tail[ctegrow + 1:] = 1
    return ndimage.convolve1d(mask.astype(np.int32), tail, axis=0, mode="reflect")


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
    neighbours_good = _box_sum(good1, 3)
    good = (diff <= scale[1] * deriv + snr[1] * noise) | (neighbours_good >= 9)
    base = good
    if grow > 1:  # a grow x grow box (not 2*grow+1), as AstroDrizzle does
        good = good & (_box_sum(base, grow) >= grow ** 2)
    if ctegrow > 0 and cte_dir != 0:  # a CTE tail of ctegrow pixels on the readout side
        good = good & (_tail_sum(base, ctegrow, cte_dir) >= ctegrow)
    return good


def clean_cosmic_rays(sci, blotted, good, dq=None, crbit=0):
    """(SCI, DQ) of a cleaned chip: pixels not ``good`` (cosmic rays, and pixels already flagged
    ``crbit``) replaced by the blotted median, their DQ or-ed with ``crbit``. ``dq`` None (or of
    another shape) is returned as is."""
    sci = np.where(good, sci, blotted).astype(np.float32)
    if dq is not None and dq.shape == good.shape:
        dq = np.where(good, dq, dq | crbit).astype(dq.dtype)
    return sci, dq
