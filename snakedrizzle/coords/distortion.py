"""Sky -> pixel positions through a chip's full distortion model (SIP + NPOL + D2IM), vectorised:
the inversion that skytopix, pixtopix and the region conversions share.

stwcs's iterative ``all_world2pix`` runs to a tighter tolerance than DrizzlePac's 1e-4 px.
Where it does not converge, those positions fall back to the linear WCS with a warning that
says how many. (DrizzlePac means to do that too, but it catches the wrong exception type, so
its fallback never runs.)
"""
import warnings

import numpy as np

__all__ = ["world_to_pixel", "TOLERANCE_PX", "MAXITER"]

# Accuracy and effort of the distortion inversion: far below any astrometric need, and the
# fixed-point iteration converges in a handful of steps for HST-sized distortions.
TOLERANCE_PX = 1e-8
MAXITER = 50


def world_to_pixel(wcs, ra, dec, label="input"):
    """1-based pixels of sky positions through the full distortion model, vectorised.

    Positions where the iteration diverges or stalls take the linear WCS solution instead, with
    a warning that says how many did.
    """
    ra, dec = np.asarray(ra, float).ravel(), np.asarray(dec, float).ravel()
    x, y, failed = _invert(wcs, ra, dec)
    if failed.size:
        x[failed], y[failed] = wcs.wcs_world2pix(ra[failed], dec[failed], 1)
        warnings.warn(f"{label}: the distortion inversion did not converge for {failed.size} of "
                      f"{ra.size} positions; used the linear WCS (no distortion) for them",
                      stacklevel=2)
    lost = np.count_nonzero(~np.isfinite(x) & np.isfinite(ra) & np.isfinite(dec))
    if lost:
        warnings.warn(f"{label}: {lost} of {ra.size} positions cannot be projected onto this "
                      "image (too far from it); their pixels are NaN", stacklevel=2)
    return x, y


def _invert(wcs, ra, dec):
    """``(x, y, failed_indices)``. After a failure the other positions are solved again on their
    own: once a diverging point is detected stwcs stops refining the whole batch, which leaves
    converging points short of the tolerance."""
    from astropy.wcs import NoConvergence as AstropyNoConvergence
    from stwcs.wcsutil.hstwcs import NoConvergence as StwcsNoConvergence

    nan = np.full(ra.size, np.nan)
    try:
        x, y = wcs.all_world2pix(ra, dec, 1, tolerance=TOLERANCE_PX, maxiter=MAXITER,
                                 adaptive=False, detect_divergence=True, quiet=False)
        return np.array(x, float).ravel(), np.array(y, float).ravel(), np.array([], int)
    except StwcsNoConvergence as exc:
        failed = np.union1d(_indices(exc.divergent), _indices(exc.failed2converge))
    except AstropyNoConvergence as exc:
        failed = np.union1d(_indices(exc.divergent), _indices(exc.slow_conv))
    except RuntimeError:
        failed = np.arange(ra.size)
    if failed.size == 0:  # a failure that names no position: trust none
        failed = np.arange(ra.size)
    good = np.setdiff1d(np.arange(ra.size), failed)
    x, y = nan.copy(), nan.copy()
    if good.size:
        gx, gy, gfailed = _invert(wcs, ra[good], dec[good])
        x[good], y[good] = gx, gy
        failed = np.union1d(failed, good[gfailed])
    return x, y, failed


def _indices(value):
    return np.asarray([] if value is None else value, dtype=int).ravel()
