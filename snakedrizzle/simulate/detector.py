"""What the detector adds to the sky's light: constant sky, dark (subtracted again, as by
CALACS/calwf3, leaving its noise), hot pixels and one partial bad column per chip (flagged in DQ),
Poisson and read noise, and cosmic rays whose truth is kept per exposure."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from snakedrizzle.errors import InputError

HOT_FRACTION = 2e-4            # fraction of pixels flagged hot (DQ 16)


class Defects(NamedTuple):
    """A chip's permanent defects, the same in every exposure, like a real detector."""
    dq: np.ndarray             # int16: 16 hot pixel, 4 bad column
    hot_rate: np.ndarray       # extra e-/s of the hot pixels
    bad_column: int            # 0-based x of the partial bad column
    bad_row0: int              # 0-based first row of it (it runs to the top)


def sky_levels(sky, n_exposures, inst, exptime, rng):
    """Sky per exposure in data units (e- for ACS, e-/s for WFC3/IR): the given scalar or list,
    or the instrument's typical sky varied by up to +-10% between exposures."""
    if sky is None:
        nominal = inst.sky_rate * (exptime if inst.counts else 1.0)
        sky = list(nominal * (1.0 + rng.uniform(-0.1, 0.1, n_exposures)))
    elif np.ndim(sky) == 0:
        sky = [float(sky)] * n_exposures
    sky = [float(s) for s in sky]
    if len(sky) < n_exposures:
        raise InputError("sky", f"need {n_exposures} sky values, got {len(sky)}")
    return sky


def detector_defects(rng, shape):
    """Per-chip DQ (hot pixels 16, one partial bad column 4) and the extra electrons per second
    of the hot pixels."""
    ny, nx = shape
    dq = np.zeros(shape, np.int16)
    hot_rate = np.zeros(shape)
    nhot = max(1, int(round(HOT_FRACTION * ny * nx)))
    hy, hx = rng.integers(0, ny, nhot), rng.integers(0, nx, nhot)
    dq[hy, hx] |= 16
    hot_rate[hy, hx] = np.exp(rng.uniform(np.log(0.05), np.log(2.0), nhot))
    col, y0 = int(rng.integers(nx // 8, nx - nx // 8)), int(rng.integers(0, ny // 2))
    dq[y0:, col] |= 4
    return Defects(dq, hot_rate, col, y0)


def expose_chip(model, defects, *, exptime, sky_e, dark_e, readnoise, cr_fraction, rng_noise,
                rng_cr):
    """Read out one chip whose `model` (electrons: sky + dark + sources) is updated in place
    with the defects' signal. Returns (electrons after dark subtraction, their variance as the
    calibration pipelines report it, the cosmic-ray electrons)."""
    model += defects.hot_rate * exptime
    model[defects.bad_row0:, defects.bad_column] += 0.5 * sky_e + 50.0   # a warm, flagged column
    elec = rng_noise.poisson(model).astype(np.float64)
    elec += rng_noise.normal(0.0, readnoise, model.shape)
    cre = cosmic_rays(rng_cr, model.shape, cr_fraction * exptime / 400.0)
    elec += cre
    var = np.maximum(elec, 0.0) + readnoise ** 2           # what calacs/calwf3 report
    elec -= dark_e                                         # mean dark removed, noise kept
    return elec, var, cre


def cosmic_rays(rng, shape, fraction):
    """Electrons deposited by cosmic rays: straight tracks (60%) or random-walk blobs of 1-6
    pixels, each event carrying 500-20000 e- (log-uniform) split unevenly over its pixels."""
    ny, nx = shape
    cre = np.zeros(shape, np.float32)
    n = rng.poisson(fraction * ny * nx / 3.3) if fraction > 0 else 0   # ~3.3 distinct px/event
    if n == 0:
        return cre
    length = rng.integers(1, 7, n)
    t = np.arange(6)
    theta = rng.uniform(0, 2 * np.pi, n)[:, None]
    trk_x, trk_y = np.rint(t * np.cos(theta)), np.rint(t * np.sin(theta))
    steps = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])[rng.integers(0, 4, (n, 6))]
    steps[:, 0] = 0
    walk = np.cumsum(steps, axis=1)
    blob = (rng.random(n) < 0.4)[:, None]
    dx = np.where(blob, walk[..., 0], trk_x).astype(int)
    dy = np.where(blob, walk[..., 1], trk_y).astype(int)
    w = rng.uniform(0.3, 1.0, (n, 6)) * (t[None, :] < length[:, None])
    energy = np.exp(rng.uniform(np.log(500.0), np.log(20000.0), n))
    e = energy[:, None] * w / w.sum(axis=1, keepdims=True)
    xx = rng.integers(0, nx, n)[:, None] + dx
    yy = rng.integers(0, ny, n)[:, None] + dy
    ok = (e > 0) & (xx >= 0) & (xx < nx) & (yy >= 0) & (yy < ny)
    np.add.at(cre, (yy[ok], xx[ok]), e[ok].astype(np.float32))
    return cre

