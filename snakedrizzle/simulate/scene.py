"""What the sky holds and how it looks on a chip: stars and galaxies drawn uniformly over
everything any exposure can see (the truth tables), then rendered into a chip's model image.

Stars are pixel-integrated circular Gaussians (exact erf integrals); galaxies are PSF-smoothed
elliptical Sersic profiles. Source fluxes are e-/s, so a star's total counts are
``flux * EXPTIME`` electrons.
"""
from __future__ import annotations

import math

import numpy as np
from astropy.table import Table
from scipy.ndimage import gaussian_filter
from scipy.special import erf

from snakedrizzle.simulate.geometry import pixel_area_ratio, pixel_positions


def source_bounds(shape, offsets, dithers, pointing_errors, scale):
    """(xlo, xhi, ylo, yhi) in the undithered aperture frame, in pixels, that covers every chip
    of every exposure, whatever its dither or pointing error, plus a 10-pixel margin."""
    ny, nx = shape
    margin = 10.0 + max(math.hypot(*d) / scale for d in dithers)
    margin += max((math.hypot(p[0], p[1]) if p else 0.0) for p in pointing_errors)
    xlo, xhi = -nx / 2.0 - margin, nx / 2.0 + margin
    ylo = min(o[1] for o in offsets) - ny / 2.0 - margin
    yhi = max(o[1] for o in offsets) + ny / 2.0 + margin
    return xlo, xhi, ylo, yhi


def draw_sources(rng, frame, bounds, scale, n_stars, n_galaxies, star_flux_range,
                 galaxy_flux_range):
    """Truth tables (stars, galaxies): positions uniform within `bounds` of `frame`, fluxes
    log-uniform in their ranges (e-/s), galaxy shapes (r_eff arcsec, axis ratio q, PA deg E of
    N, Sersic n) uniform in plausible ranges."""
    xlo, xhi, ylo, yhi = bounds

    def sky_uniform(n):
        u = np.column_stack([rng.uniform(xlo, xhi, n), rng.uniform(ylo, yhi, n)])
        return frame.wcs_pix2world(u, 1) if n else np.zeros((0, 2))

    s = sky_uniform(n_stars)
    lo, hi = np.log(star_flux_range[0]), np.log(star_flux_range[1])
    stars = Table({"id": np.arange(1, n_stars + 1), "ra": s[:, 0], "dec": s[:, 1],
                   "flux": np.exp(rng.uniform(lo, hi, n_stars))})
    g = sky_uniform(n_galaxies)
    lo, hi = np.log(galaxy_flux_range[0]), np.log(galaxy_flux_range[1])
    gals = Table({"id": np.arange(1, n_galaxies + 1), "ra": g[:, 0], "dec": g[:, 1],
                  "flux": np.exp(rng.uniform(lo, hi, n_galaxies)),
                  "r_eff": rng.uniform(1.5, 6.0, n_galaxies) * scale,
                  "q": rng.uniform(0.3, 1.0, n_galaxies),
                  "pa": rng.uniform(0.0, 180.0, n_galaxies),
                  "sersic_n": rng.uniform(0.8, 2.5, n_galaxies)})
    for col, unit in (("ra", "deg"), ("dec", "deg"), ("flux", "electron / s")):
        stars[col].unit = unit
        gals[col].unit = unit
    gals["r_eff"].unit = "arcsec"
    gals["pa"].unit = "deg"
    return stars, gals


def render_sources(model, wcs, frame, pointing_error, stars, gals, exptime, psf_sigma,
                   flat_scale=None):
    """Add the stars, then the galaxies, to a chip's model image (electrons) where they really
    land; returns the stars' true 1-based (x, y) on this chip.

    flat_scale (arcsec): render as a flat-fielded FLT is, where a uniform sky gives the same
    counts in every pixel however large it is on the sky, so a source's counts are divided by
    its pixel's area in `flat_scale` pixels (drizzling, which conserves surface brightness, then
    gives back the true flux). None: every source gives flux * exptime counts."""
    sx, sy = pixel_positions(wcs, frame, pointing_error, stars["ra"], stars["dec"])
    add_stars(model, sx, sy, stars["flux"] * exptime / _area(wcs, sx, sy, flat_scale), psf_sigma)
    gx, gy = pixel_positions(wcs, frame, pointing_error, gals["ra"], gals["dec"])
    add_galaxies(model, wcs, gx, gy, gals,
                 gals["flux"] * exptime / _area(wcs, gx, gy, flat_scale), psf_sigma)
    return sx, sy


def _area(wcs, x, y, flat_scale):
    return 1.0 if flat_scale is None or not len(x) else pixel_area_ratio(wcs, x, y, flat_scale)


def add_stars(img, x, y, counts, sigma):
    """Add pixel-integrated Gaussians (exact erf integrals) centred at 1-based (x, y)."""
    ny, nx = img.shape
    h = int(math.ceil(7 * sigma)) + 1
    x0, y0 = np.asarray(x) - 1.0, np.asarray(y) - 1.0     # 0-based pixel centres
    keep = (x0 > -h) & (x0 < nx - 1 + h) & (y0 > -h) & (y0 < ny - 1 + h)
    x0, y0, counts = x0[keep], y0[keep], np.asarray(counts)[keep]
    if not len(x0):
        return
    off = np.arange(-h, h + 1)
    ix = np.rint(x0).astype(int)[:, None] + off            # (n, 2h+1) pixel columns
    iy = np.rint(y0).astype(int)[:, None] + off
    s2 = sigma * math.sqrt(2.0)
    ex = 0.5 * (erf((ix + 0.5 - x0[:, None]) / s2) - erf((ix - 0.5 - x0[:, None]) / s2))
    ey = 0.5 * (erf((iy + 0.5 - y0[:, None]) / s2) - erf((iy - 0.5 - y0[:, None]) / s2))
    stamps = counts[:, None, None] * ey[:, :, None] * ex[:, None, :]
    yy = np.broadcast_to(iy[:, :, None], stamps.shape)
    xx = np.broadcast_to(ix[:, None, :], stamps.shape)
    ok = (xx >= 0) & (xx < nx) & (yy >= 0) & (yy < ny)
    np.add.at(img, (yy[ok], xx[ok]), stamps[ok])


def add_galaxies(img, wcs, x, y, gal, counts, psf_sigma, oversample=5):
    """Add PSF-smoothed elliptical Sersic profiles defined on the sky (r_eff arcsec, PA E of N),
    mapped to the chip through the local Jacobian of its WCS; each stamp sums to `counts`."""
    ny, nx = img.shape
    for k in range(len(x)):
        sky0 = wcs.all_pix2world([[x[k], y[k]], [x[k] + 1, y[k]], [x[k], y[k] + 1]], 1)
        dra = (sky0[1:, 0] - sky0[0, 0] + 180.0) % 360.0 - 180.0
        jac = np.array([dra * math.cos(math.radians(sky0[0, 1])), sky0[1:, 1] - sky0[0, 1]]) * 3600.0
        pscale = math.sqrt(abs(np.linalg.det(jac)))
        re_pix = gal["r_eff"][k] / pscale
        h = int(min(math.ceil(6 * re_pix + 4 * psf_sigma) + 2, 60))
        ix0, iy0 = int(round(x[k] - 1)), int(round(y[k] - 1))
        if ix0 + h < 0 or ix0 - h >= nx or iy0 + h < 0 or iy0 - h >= ny:
            continue
        n = (2 * h + 1) * oversample
        sub = (np.arange(n) + 0.5) / oversample - h - 0.5      # sub-pixel centres rel. to ix0
        dx = sub[None, :] + ix0 - (x[k] - 1)
        dy = sub[:, None] + iy0 - (y[k] - 1)
        xi = jac[0, 0] * dx + jac[0, 1] * dy                   # arcsec east
        eta = jac[1, 0] * dx + jac[1, 1] * dy                  # arcsec north
        pa = math.radians(gal["pa"][k])
        a = xi * math.sin(pa) + eta * math.cos(pa)             # along the major axis
        b = xi * math.cos(pa) - eta * math.sin(pa)
        r = np.hypot(a, b / gal["q"][k])
        nser = gal["sersic_n"][k]
        bn = 2.0 * nser - 1.0 / 3.0 + 4.0 / (405.0 * nser)
        prof = np.exp(-bn * ((r / gal["r_eff"][k]) ** (1.0 / nser) - 1.0))
        prof = gaussian_filter(prof, psf_sigma * oversample, mode="constant")
        stamp = prof.reshape(2 * h + 1, oversample, 2 * h + 1, oversample).sum(axis=(1, 3))
        stamp *= counts[k] / stamp.sum()
        ys, xs = slice(max(iy0 - h, 0), min(iy0 + h + 1, ny)), slice(max(ix0 - h, 0), min(ix0 + h + 1, nx))
        img[ys, xs] += stamp[ys.start - (iy0 - h):ys.stop - (iy0 - h),
                             xs.start - (ix0 - h):xs.stop - (ix0 - h)]
