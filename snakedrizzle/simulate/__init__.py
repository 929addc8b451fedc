"""Synthetic, truth-known HST exposures (ACS/WFC, ACS/HRC, WFC3/IR) that both DrizzlePac 3.11.0's
AstroDrizzle and this pipeline accept.

Geometry. Each exposure has an undistorted "aperture frame": a TAN projection centred on the
(dithered) pointing, with ORIENTAT-rotated, square pixels of IDCSCALE arcsec, whose pixel axes are
the detector axes. Every chip is a rectangle at a fixed offset in that frame (ACS/WFC: chip 1 above
chip 2 with a 50-pixel gap, as in the real camera); its header gets its own CRPIX (chip centre),
CRVAL (the frame's sky position of that centre), a CD matrix fitted locally to the frame, and a SIP
polynomial copied from a real header of the same detector and rescaled to a few pixels at the
corners. Sources are then placed where the chip's *full* header WCS (CD + SIP, via astropy
``all_world2pix``) puts them, so the headers are the truth, except for optional ``pointing_errors``,
which move the sources (in the aperture frame) without touching the headers.

Pixels. Stars are pixel-integrated circular Gaussians (exact erf integrals); galaxies are
PSF-smoothed elliptical Sersic profiles; plus constant sky, dark (subtracted again, as by
CALACS/calwf3, leaving its noise), Poisson and read noise, hot pixels and one bad column per chip
(flagged in DQ), and cosmic rays (ACS only by default) whose truth is written per exposure.

Units. ACS SCI/ERR are electrons (BUNIT ELECTRONS), WFC3/IR electrons/s (BUNIT ELECTRONS/S);
source fluxes are always e-/s, so a star's total counts are ``flux * EXPTIME`` electrons.

What AstroDrizzle 3.11.0 needs (found by deleting one keyword at a time and re-running it):
it stops without PRIMARY TELESCOP, INSTRUME, DETECTOR, EXPEND, ATODGN[A-D], READNSE[A-D]
(CCDAMP too for ACS/HRC) or SCI MEANDARK, NGOODPIX, EXPNAME; it silently drops files without
EXPTIME; it only warns without PA_V3 or IDCSCALE (then the scale comes from sqrt|det CD|); BUNIT
decides counts vs. rate (so it must say ELECTRONS/S for WFC3/IR). The rest (FILTER*, OBSTYPE,
EXPSTART, ROOTNAME, LTV1/2, ORIENTAT, WCSNAME 'IDC_simulated', VAFACTOR, PHOT*) is written because
real FLTs have it and the pipeline or header blending reads it. IDCV2REF/IDCV3REF/IDCTHETA are
deliberately left out: with them stwcs takes the output orientation from PA_V3 through the V2/V3
roll computation rather than from the CD matrix, which cannot be made consistent without an IDCTAB.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS
from scipy.ndimage import gaussian_filter
from scipy.special import erf

__all__ = ["Dataset", "make_dataset", "make_demo", "load_dataset", "true_pixels", "INSTRUMENTS"]


# --------------------------------------------------------------------------------------------
# Instrument descriptions
# --------------------------------------------------------------------------------------------

def _sip(pairs):
    """{(p, q): (A_p_q, B_p_q)} from a compact dict; orders 2..4 only (no constant/linear terms)."""
    return {k: (float(a), float(b)) for k, (a, b) in pairs.items()}


# SIP coefficients (order 4) copied from genuine pipeline headers of each detector: the shape of
# the distortion is real; its amplitude is rescaled (see _scaled_sip).
_SIP_WFC_CHIP2 = _sip({  # jbt122x8q_flc [SCI,1] (CCDCHIP 2), truncated from order 5
    (2, 0): (8.55494e-06, -1.74144e-06), (1, 1): (-5.21385e-06, 6.18812e-06),
    (0, 2): (2.16637e-06, -7.23608e-06), (3, 0): (-4.92005e-10, 1.00539e-10),
    (2, 1): (-2.70631e-11, -5.16523e-10), (1, 2): (-5.1969e-10, -7.52713e-11),
    (0, 3): (5.60296e-12, -3.78815e-10), (4, 0): (2.56454e-14, -1.84673e-14),
    (3, 1): (5.87855e-15, -9.57981e-16), (2, 2): (3.87947e-14, -3.13763e-14),
    (1, 3): (-8.4361e-15, 1.21878e-14), (0, 4): (1.76964e-14, 7.67614e-15)})
_SIP_WFC_CHIP1 = _sip({  # jbt122x8q_flc [SCI,2] (CCDCHIP 1)
    (2, 0): (8.52332e-06, -2.95143e-06), (1, 1): (-7.53014e-06, 6.45638e-06),
    (0, 2): (2.26374e-06, -9.7939e-06), (3, 0): (-4.89868e-10, 1.14412e-10),
    (2, 1): (-1.06705e-10, -4.08881e-10), (1, 2): (-5.01123e-10, -3.77114e-11),
    (0, 3): (8.8103e-11, -3.74938e-10), (4, 0): (2.05331e-14, -2.00142e-14),
    (3, 1): (3.6685e-14, -4.24647e-14), (2, 2): (9.52163e-14, -1.11952e-13),
    (1, 3): (-1.08778e-14, 8.20369e-15), (0, 4): (1.36031e-13, -1.53465e-13)})
_SIP_HRC = _sip({  # j8bt06nyq_flt [SCI,1]
    (2, 0): (-3.31636e-06, 2.0006e-06), (1, 1): (9.01865e-06, -2.66974e-06),
    (0, 2): (-7.08894e-07, 1.15077e-05), (3, 0): (9.65774e-11, 4.48761e-10),
    (2, 1): (-2.924e-11, 3.02073e-10), (1, 2): (4.10095e-10, -6.31164e-10),
    (0, 3): (-1.88152e-11, 7.35895e-10), (4, 0): (3.23745e-13, 2.66824e-13),
    (3, 1): (-2.22428e-12, -1.3065e-12), (2, 2): (-1.34582e-12, 9.93388e-13),
    (1, 3): (-1.84165e-13, -5.39321e-13), (0, 4): (3.52663e-14, -1.2781e-12)})
_SIP_IR = _sip({  # ib3y01c6q_flt (WFC3/IR, F125W) [SCI,1]
    (2, 0): (-1.86784e-07, 6.97816e-06), (1, 1): (2.4449e-05, -2.03794e-07),
    (0, 2): (4.73631e-08, 2.99875e-05), (3, 0): (-1.87697e-10, 3.66825e-11),
    (2, 1): (9.33802e-11, -2.85584e-10), (1, 2): (5.07616e-11, 2.35151e-11),
    (0, 3): (2.65011e-11, -2.00929e-10), (4, 0): (-3.13148e-13, -6.43841e-13),
    (3, 1): (5.25749e-13, 1.00607e-13), (2, 2): (5.99856e-15, -1.16836e-13),
    (1, 3): (5.55222e-13, -6.96773e-15), (0, 4): (-2.08521e-13, 7.52828e-13)})


@dataclass(frozen=True)
class _Instrument:
    instrume: str
    detector: str
    shape: tuple            # real (ny, nx) per chip
    ccdchip: tuple          # CCDCHIP of SCI,1, SCI,2, ...
    sips: tuple             # SIP pattern per chip (for the real chip size)
    scale: float            # IDCSCALE, arcsec/pixel
    counts: bool            # True: SCI in electrons; False: electrons/s
    sky_rate: float         # default sky, e-/s/pixel
    dark_rate: float        # e-/s/pixel
    readnoise: float        # e-
    cr_fraction: float      # default fraction of pixels hit per 400 s
    amps: str               # CCDAMP
    filters: dict
    phot: dict              # PHOTMODE, PHOTFLAM, PHOTPLAM, PHOTBW, PHOTZPT
    pav3_minus_orientat: float  # PA_V3 - ORIENTAT as in real headers of this detector
    prefix: str             # first letter of the rootname
    aperture: str
    gap: float = 0.0        # rows between chips (ACS/WFC)


INSTRUMENTS = {
    "ACS/WFC": _Instrument(
        "ACS", "WFC", (2048, 4096), (2, 1), (_SIP_WFC_CHIP2, _SIP_WFC_CHIP1), 0.05, True,
        0.10, 0.0086, 4.0, 0.01, "ABCD", {"FILTER1": "F606W", "FILTER2": "CLEAR2L"},
        {"PHOTMODE": "ACS WFC1 F606W", "PHOTFLAM": 7.73e-20, "PHOTPLAM": 5921.1,
         "PHOTBW": 672.3, "PHOTZPT": -21.1}, 182.84, "j", "WFC", gap=50.0),
    "ACS/HRC": _Instrument(
        "ACS", "HRC", (1024, 1024), (1,), (_SIP_HRC,), 0.025, True,
        0.02, 0.0012, 4.7, 0.01, "C", {"FILTER1": "F606W", "FILTER2": "CLEAR2S"},
        {"PHOTMODE": "ACS HRC F606W", "PHOTFLAM": 1.278e-19, "PHOTPLAM": 5888.0,
         "PHOTBW": 666.0, "PHOTZPT": -21.1}, 0.28, "j", "HRC"),
    "WFC3/IR": _Instrument(
        "WFC3", "IR", (1014, 1014), (1,), (_SIP_IR,), 0.1283, False,
        1.0, 0.03, 20.0, 0.0, "ABCD", {"FILTER": "F140W"},
        {"PHOTMODE": "WFC3 IR F140W", "PHOTFLAM": 1.4737e-20, "PHOTPLAM": 13922.9,
         "PHOTBW": 1132.4, "PHOTZPT": -21.1}, -44.69, "i", "IR"),
}

# Default dither in pixels: a ~5-pixel box whose four points sample the four half-pixel phases.
_BOX_DITHER_PIX = [(0.0, 0.0), (5.5, 0.5), (5.0, 5.5), (-0.5, 5.0)]
_DEFAULT_DISTORTION_PIX = 4.0   # SIP amplitude at the worst chip corner, pixels
_HOT_FRACTION = 2e-4            # fraction of pixels flagged hot (DQ 16)
_MJD0 = 56000.0


@dataclass
class Dataset:
    paths: list[str]          # exposure files, in order
    truth_stars: str          # ECSV: ra, dec (deg), flux (e-/s), x, y (true, 1-based, exposure 1 SCI,1)
    truth_cr: list[str]       # per exposure: FITS with 'CR' (uint8) and 'CRE' (float32 e-) per chip
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def _instrument(name):
    key = name.upper().replace(" ", "").replace("_", "/")
    if key not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; choose from {sorted(INSTRUMENTS)}")
    return key, INSTRUMENTS[key]


def _write_atomic(path, writer):
    """Write via a temp name in the same directory, then rename, so readers never see half a file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _rootnames(prefix, n):
    """HST-like 9-character rootnames: prefix + visit digits to 6 chars, 2-char obs id, 'q'."""
    if len(prefix) > 6:
        raise ValueError(f"rootname_prefix {prefix!r} is longer than 6 characters")
    head = (prefix.lower() + "01").ljust(6, "0")[:6]
    letters = "abcdefghijklmnopqrstuvwxyz"
    if n > len(letters) * 9:
        raise ValueError(f"too many exposures for HST-like rootnames: {n}")
    return [f"{head}{letters[i // 9]}{i % 9 + 1}q" for i in range(n)]


def _frame_wcs(crval, scale, orientat):
    """Undistorted aperture frame: TAN at crval, square pixels, detector axes rotated by orientat
    (the AstroDrizzle 'perfect' CD); pixel (0, 0) is the aperture reference (use origin=1 calls)."""
    w = WCS(naxis=2)
    o = math.radians(orientat)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cd = scale / 3600.0 * np.array([[-math.cos(o), math.sin(o)], [math.sin(o), math.cos(o)]])
    w.wcs.set()
    return w


def _tangent_offsets(ra, dec, crval):
    """Gnomonic (xi, eta) in degrees of (ra, dec) about crval."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cd = np.eye(2)
    w.wcs.set()
    return w.wcs_world2pix(np.column_stack([ra, dec]), 1)


def _scaled_sip(sip, real_shape, shape, amplitude):
    """Rescale a real SIP pattern to this chip size, then to `amplitude` pixels at the worst corner.

    The per-order factor keeps the pattern's shape when the chip is smaller than the real one;
    the final common factor sets the size of the effect (the real ACS/WFC one is ~40 pixels).
    """
    r = max(real_shape) / max(shape)
    coeffs = {pq: (a * r ** (sum(pq) - 1), b * r ** (sum(pq) - 1)) for pq, (a, b) in sip.items()}
    ny, nx = shape
    u = np.array([1, nx, 1, nx]) - nx / 2.0
    v = np.array([1, 1, ny, ny]) - ny / 2.0
    f = sum(a * u ** p * v ** q for (p, q), (a, _) in coeffs.items())
    g = sum(b * u ** p * v ** q for (p, q), (_, b) in coeffs.items())
    k = amplitude / np.max(np.hypot(f, g))
    return {pq: (a * k, b * k) for pq, (a, b) in coeffs.items()}


def _chip_wcs_header(frame, offset, shape, sip):
    """Header cards of one chip: CRPIX at the chip centre, CRVAL where the aperture frame puts it,
    CD fitted by central differences on the frame (so the chip follows the one focal plane)."""
    ny, nx = shape
    ox, oy = offset
    crval = frame.wcs_pix2world([[ox, oy]], 1)[0]
    d = 0.25 * min(nx, ny)
    pts = np.array([[ox + d, oy], [ox - d, oy], [ox, oy + d], [ox, oy - d]])
    sky = frame.wcs_pix2world(pts, 1)
    t = _tangent_offsets(sky[:, 0], sky[:, 1], crval)
    cd = np.column_stack([(t[0] - t[1]) / (2 * d), (t[2] - t[3]) / (2 * d)])
    h = fits.Header()
    h["WCSAXES"] = 2
    h["CRPIX1"] = (nx / 2.0, "x-coordinate of reference pixel")
    h["CRPIX2"] = (ny / 2.0, "y-coordinate of reference pixel")
    h["CRVAL1"] = (float(crval[0]), "first axis value at reference pixel")
    h["CRVAL2"] = (float(crval[1]), "second axis value at reference pixel")
    suffix = "-SIP" if sip else ""
    h["CTYPE1"] = ("RA---TAN" + suffix, "the coordinate type for the first axis")
    h["CTYPE2"] = ("DEC--TAN" + suffix, "the coordinate type for the second axis")
    h["CUNIT1"] = "deg"
    h["CUNIT2"] = "deg"
    for i in range(2):
        for j in range(2):
            h[f"CD{i + 1}_{j + 1}"] = (float(cd[i, j]), "partial of axis coordinate w.r.t. pixel")
    h["ORIENTAT"] = (float(np.degrees(np.arctan2(cd[0, 1], cd[1, 1]))),
                     "position angle of image y axis (deg. e of n)")
    h["RADESYS"] = "ICRS"
    if sip:
        order = max(p + q for p, q in sip)
        h["A_ORDER"] = (order, "SIP polynomial order, axis 0, detector to sky")
        h["B_ORDER"] = (order, "SIP polynomial order, axis 1, detector to sky")
        for (p, q), (a, b) in sorted(sip.items()):
            h[f"A_{p}_{q}"] = a
            h[f"B_{p}_{q}"] = b
    return h


def _pixel_positions(wcs, frame, perr, ra, dec):
    """Where sources at (ra, dec) really land on a chip (1-based x, y).

    Without a pointing error that is the header WCS (with SIP). A pointing error (dx, dy, rot,
    scale) acts in the undistorted aperture frame: u' = scale * R(rot) u + (dx, dy), u measured
    from the aperture reference in pixels, rot counter-clockwise in pixel axes.
    """
    ra = np.atleast_1d(np.asarray(ra, float))
    dec = np.atleast_1d(np.asarray(dec, float))
    if perr is not None:
        dx, dy, rot, scl = perr
        u = frame.wcs_world2pix(np.column_stack([ra, dec]), 1)
        c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
        u = scl * (u @ np.array([[c, s], [-s, c]])) + [dx, dy]
        sky = frame.wcs_pix2world(u, 1)
        ra, dec = sky[:, 0], sky[:, 1]
    xy = wcs.all_world2pix(np.column_stack([ra, dec]), 1, tolerance=1e-9, maxiter=100)
    return xy[:, 0], xy[:, 1]


# --------------------------------------------------------------------------------------------
# Sources and artefacts
# --------------------------------------------------------------------------------------------

def _add_stars(img, x, y, counts, sigma):
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


def _add_galaxies(img, wcs, x, y, gal, counts, psf_sigma, oversample=5):
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


def _cosmic_rays(rng, shape, fraction):
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


def _detector_defects(rng, shape):
    """Per-chip DQ (hot pixels 16, one partial bad column 4) and the extra electrons per second
    of the hot pixels; the same for every exposure, like a real detector."""
    ny, nx = shape
    dq = np.zeros(shape, np.int16)
    hot_rate = np.zeros(shape)
    nhot = max(1, int(round(_HOT_FRACTION * ny * nx)))
    hy, hx = rng.integers(0, ny, nhot), rng.integers(0, nx, nhot)
    dq[hy, hx] |= 16
    hot_rate[hy, hx] = np.exp(rng.uniform(np.log(0.05), np.log(2.0), nhot))
    col, y0 = int(rng.integers(nx // 8, nx - nx // 8)), int(rng.integers(0, ny // 2))
    dq[y0:, col] |= 4
    return dq, hot_rate, (col, y0)


# --------------------------------------------------------------------------------------------
# Header blocks
# --------------------------------------------------------------------------------------------

def _primary_header(inst, root, suffix, i, exptime, orientat, postarg, ra, dec,
                    gain, readnoise, nchips, subarray):
    start = _MJD0 + i * (exptime + 120.0) / 86400.0
    t0 = Time(start, format="mjd")
    h = fits.Header()
    h["NEXTEND"] = (3 * nchips, "Number of standard extensions")
    h["FILENAME"] = (f"{root}_{suffix}.fits", "name of file")
    h["FILETYPE"] = ("SCI", "type of data found in data file")
    h["TELESCOP"] = ("HST", "telescope used to acquire data")
    h["INSTRUME"] = (inst.instrume, "identifier for instrument used to acquire data")
    h["EQUINOX"] = (2000.0, "equinox of celestial coord. system")
    h["ROOTNAME"] = (root, "rootname of the observation set")
    h["IMAGETYP"] = ("EXT", "type of exposure identifier")
    h["PRIMESI"] = (inst.instrume, "instrument designated as prime")
    h["TARGNAME"] = ("SIMULATED", "proposer's target name")
    h["RA_TARG"] = (float(ra), "right ascension of the target (deg) (J2000)")
    h["DEC_TARG"] = (float(dec), "declination of the target (deg) (J2000)")
    h["PROPOSID"] = (99999, "PEP proposal identifier")
    h["REFFRAME"] = ("ICRS", "guide star catalog version")
    h["DATE-OBS"] = (t0.isot[:10], "UT date of start of observation (yyyy-mm-dd)")
    h["TIME-OBS"] = (t0.isot[11:19], "UT time of start of observation (hh:mm:ss)")
    h["EXPSTART"] = (start, "exposure start time (Modified Julian Date)")
    h["EXPEND"] = (start + exptime / 86400.0, "exposure end time (Modified Julian Date)")
    h["EXPTIME"] = (float(exptime), "exposure duration (seconds)--calculated")
    h["EXPFLAG"] = ("NORMAL", "Exposure interruption indicator")
    h["DARKTIME"] = (float(exptime), "fiducial pixel dark time (secs)")
    h["PA_V3"] = ((orientat + inst.pav3_minus_orientat) % 360.0, "position angle of V3-axis of HST (deg)")
    h["POSTARG1"] = (float(postarg[0]), "POSTARG in axis 1 direction")
    h["POSTARG2"] = (float(postarg[1]), "POSTARG in axis 2 direction")
    h["OBSTYPE"] = ("IMAGING", "observation type - imaging or spectroscopic")
    h["OBSMODE"] = ("ACCUM" if inst.counts else "MULTIACCUM", "operating mode")
    h["SUBARRAY"] = (bool(subarray), "data from a subarray (T) or full frame (F)")
    h["DETECTOR"] = (inst.detector, "detector in use")
    for k, v in inst.filters.items():
        h[k] = (v, "element selected from filter wheel")
    h["APERTURE"] = (inst.aperture, "aperture name")
    h["CCDAMP"] = (inst.amps, "CCD Amplifier Readout Configuration")
    h["CCDGAIN"] = (float(gain), "commanded gain of CCD")
    for amp in "ABCD":
        used = amp in inst.amps
        h[f"ATODGN{amp}"] = (float(gain) if used else 0.0, f"calibrated gain for amplifier {amp}")
        h[f"READNSE{amp}"] = (float(readnoise) if used else 0.0, f"calibrated read noise for amplifier {amp}")
    if not inst.counts:
        h["NSAMP"] = (16, "number of MULTIACCUM samples")
        h["SAMP_SEQ"] = ("SPARS25", "MULTIACCUM exposure time sequence name")
        h["SAMPTIME"] = (float(exptime), "total integration time (sec)")
    for k in ("DQICORR", "BLEVCORR", "BIASCORR", "DARKCORR", "FLATCORR", "PHOTCORR"):
        h[k] = "COMPLETE"
    h["DRIZCORR"] = ("PERFORM", "drizzle processing")
    for k in ("IDCTAB", "NPOLFILE", "D2IMFILE", "DGEOFILE", "MDRIZTAB", "PFLTFILE", "DARKFILE"):
        h[k] = ("N/A", "reference file (none: simulated data)")
    h["SIMULATE"] = (True, "synthetic data from snakedrizzle.simulate")
    return h


def _ext_header(extname, extver, root, bunit, wcs_hdr):
    h = fits.Header()
    h["INHERIT"] = (True, "inherit the primary header")
    h["EXTNAME"] = (extname, "extension name")
    h["EXTVER"] = (extver, "extension version number")
    h["ROOTNAME"] = (root, "rootname of the observation set")
    h["EXPNAME"] = (root, "exposure identifier")
    h["BUNIT"] = (bunit, "brightness units")
    h.update(wcs_hdr)
    h["LTV1"] = (0.0, "offset in X to subsection start")
    h["LTV2"] = (0.0, "offset in Y to subsection start")
    h["LTM1_1"] = (1.0, "reciprocal of sampling rate in X")
    h["LTM2_2"] = (1.0, "reciprocal of sampling rate in Y")
    return h


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def make_dataset(outdir, instrument="ACS/WFC", n_exposures=4, *, seed=1, suffix="flt",
                 chip_shape=None, exptime=400.0, sky=None, n_stars=300, n_galaxies=30,
                 star_flux_range=(2e2, 2e4), galaxy_flux_range=(1e2, 5e3), psf_sigma=1.0,
                 cr_fraction=None, readnoise=None, gain=1.0, dithers=None, pointing_errors=None,
                 distortion=True, ra=6.0220, dec=-72.0814, orientat=20.0,
                 rootname_prefix=None) -> Dataset:
    """Write `n_exposures` synthetic FLT/FLC-like files and their truth into `outdir`.

    instrument: 'ACS/WFC' (2 chips), 'ACS/HRC' or 'WFC3/IR'. chip_shape (ny, nx) overrides the
    real detector size. sky: e-/pixel per exposure for ACS, e-/s for WFC3/IR; a scalar or one value
    per exposure (default: the instrument's typical sky, varied by up to +-10% between exposures).
    cr_fraction: fraction of pixels hit per 400 s (default 0.01 for ACS, 0 for WFC3/IR).
    readnoise (e-) defaults to the detector's; gain only goes into ATODGN*/CCDGAIN, as FLT data
    are already in electrons.
    dithers: (dx, dy) POSTARG-like arcsec per exposure, in detector axes: the target moves by
    (dx, dy)/IDCSCALE pixels. pointing_errors: (dx_pix, dy_pix, rot_deg, scale) per exposure that
    move the sources but not the header (see _pixel_positions). distortion: True (4 px at the
    worst corner), False (pure TAN) or the amplitude in pixels. rootname_prefix defaults to
    'jsim' for ACS and 'isim' for WFC3.
    """
    key, inst = _instrument(instrument)
    if n_exposures < 1:
        raise ValueError("n_exposures must be >= 1")
    shape = tuple(int(s) for s in (chip_shape or inst.shape))
    nchips = len(inst.ccdchip)
    scale = inst.scale
    readnoise = inst.readnoise if readnoise is None else float(readnoise)
    cr_fraction = inst.cr_fraction if cr_fraction is None else float(cr_fraction)
    prefix = rootname_prefix or (inst.prefix + "sim")
    roots = _rootnames(prefix, n_exposures)
    amp = _DEFAULT_DISTORTION_PIX if distortion is True else float(distortion or 0.0)

    # Independent streams, so that e.g. switching cosmic rays off leaves the noise untouched.
    ss = np.random.SeedSequence(seed)
    rng_src, rng_det, rng_sky = [np.random.default_rng(s) for s in ss.spawn(3)]
    rng_exp = [[np.random.default_rng(s) for s in e.spawn(2)] for e in ss.spawn(n_exposures)]

    if dithers is None:   # the box, repeated with a (10.25, 10.25)-pixel step for > 4 exposures
        dithers = [((_BOX_DITHER_PIX[i % 4][0] + 10.25 * (i // 4)) * scale,
                    (_BOX_DITHER_PIX[i % 4][1] + 10.25 * (i // 4)) * scale) for i in range(n_exposures)]
    dithers = [tuple(map(float, d)) for d in dithers]
    if len(dithers) < n_exposures:
        raise ValueError(f"need {n_exposures} dithers, got {len(dithers)}")
    if pointing_errors is not None:
        pointing_errors = [None if p is None else tuple(map(float, p)) for p in pointing_errors]
        if len(pointing_errors) < n_exposures:
            raise ValueError(f"need {n_exposures} pointing_errors, got {len(pointing_errors)}")
    else:
        pointing_errors = [None] * n_exposures
    if sky is None:
        nominal = inst.sky_rate * (exptime if inst.counts else 1.0)
        sky = list(nominal * (1.0 + rng_sky.uniform(-0.1, 0.1, n_exposures)))
    elif np.ndim(sky) == 0:
        sky = [float(sky)] * n_exposures
    sky = [float(s) for s in sky]
    if len(sky) < n_exposures:
        raise ValueError(f"need {n_exposures} sky values, got {len(sky)}")

    # Chip layout in the aperture frame (pixels from the aperture reference): ACS/WFC chip 2
    # (SCI,1) below chip 1 (SCI,2), separated by the inter-chip gap.
    ny, nx = shape
    if nchips == 2:
        offsets = [(0.0, -(ny + inst.gap) / 2.0), (0.0, (ny + inst.gap) / 2.0)]
    else:
        offsets = [(0.0, 0.0)]
    sips = [_scaled_sip(s, inst.shape, shape, amp) if amp > 0 else None for s in inst.sips]

    # Sources, uniform over everything any exposure can see (frame of the undithered pointing).
    nominal_frame = _frame_wcs([ra, dec], scale, orientat)
    margin = 10.0 + max(math.hypot(*d) / scale for d in dithers)
    margin += max((math.hypot(p[0], p[1]) if p else 0.0) for p in pointing_errors)
    xlo, xhi = -nx / 2.0 - margin, nx / 2.0 + margin
    ylo = min(o[1] for o in offsets) - ny / 2.0 - margin
    yhi = max(o[1] for o in offsets) + ny / 2.0 + margin

    def sky_uniform(n):
        u = np.column_stack([rng_src.uniform(xlo, xhi, n), rng_src.uniform(ylo, yhi, n)])
        return nominal_frame.wcs_pix2world(u, 1) if n else np.zeros((0, 2))

    s = sky_uniform(n_stars)
    lo, hi = np.log(star_flux_range[0]), np.log(star_flux_range[1])
    stars = Table({"id": np.arange(1, n_stars + 1), "ra": s[:, 0], "dec": s[:, 1],
                   "flux": np.exp(rng_src.uniform(lo, hi, n_stars))})
    g = sky_uniform(n_galaxies)
    lo, hi = np.log(galaxy_flux_range[0]), np.log(galaxy_flux_range[1])
    gals = Table({"id": np.arange(1, n_galaxies + 1), "ra": g[:, 0], "dec": g[:, 1],
                  "flux": np.exp(rng_src.uniform(lo, hi, n_galaxies)),
                  "r_eff": rng_src.uniform(1.5, 6.0, n_galaxies) * scale,
                  "q": rng_src.uniform(0.3, 1.0, n_galaxies),
                  "pa": rng_src.uniform(0.0, 180.0, n_galaxies),
                  "sersic_n": rng_src.uniform(0.8, 2.5, n_galaxies)})
    for col, unit in (("ra", "deg"), ("dec", "deg"), ("flux", "electron / s")):
        stars[col].unit = unit
        gals[col].unit = unit
    gals["r_eff"].unit = "arcsec"
    gals["pa"].unit = "deg"

    defects = [_detector_defects(rng_det, shape) for _ in range(nchips)]
    dark_e = inst.dark_rate * exptime
    bunit = "ELECTRONS" if inst.counts else "ELECTRONS/S"
    to_units = 1.0 if inst.counts else 1.0 / exptime      # electrons -> data units
    subarray = shape != inst.shape

    os.makedirs(outdir, exist_ok=True)
    paths, cr_paths, frames, cr_fractions = [], [], [], []
    star_xy = None
    for i, root in enumerate(roots):
        rng, rng_cr = rng_exp[i]
        # POSTARG moves the target by +d on the detector, i.e. the pointing by -d.
        ref = nominal_frame.wcs_pix2world([[-dithers[i][0] / scale, -dithers[i][1] / scale]], 1)[0]
        frame = _frame_wcs(ref, scale, orientat)
        frames.append({"crval": [float(v) for v in ref], "orientat": orientat, "scale": scale})
        sky_e = sky[i] * (1.0 if inst.counts else exptime)
        prim = _primary_header(inst, root, suffix, i, exptime, orientat, dithers[i], ra, dec,
                               gain, readnoise, nchips, subarray)
        hdus = [fits.PrimaryHDU(header=prim)]
        cr_hdus = [fits.PrimaryHDU()]
        hit = 0
        for c in range(nchips):
            extver = c + 1
            wcs_hdr = _chip_wcs_header(frame, offsets[c], shape, sips[c])
            wcs_hdr["WCSNAME"] = ("IDC_simulated", "Coordinate system title")
            # Round-trip through card text so sources are placed with exactly the file's values.
            wcs_hdr = fits.Header.fromstring(wcs_hdr.tostring())
            wcs = WCS(wcs_hdr)
            wcs.pixel_shape = (nx, ny)

            model = np.full(shape, sky_e + dark_e)
            sx, sy = _pixel_positions(wcs, frame, pointing_errors[i], stars["ra"], stars["dec"])
            if i == 0 and c == 0:
                star_xy = (sx, sy)
            _add_stars(model, sx, sy, stars["flux"] * exptime, psf_sigma)
            gx, gy = _pixel_positions(wcs, frame, pointing_errors[i], gals["ra"], gals["dec"])
            _add_galaxies(model, wcs, gx, gy, gals, gals["flux"] * exptime, psf_sigma)
            dq, hot_rate, (bcol, by0) = defects[c]
            model += hot_rate * exptime
            model[by0:, bcol] += 0.5 * sky_e + 50.0               # a warm, flagged column

            elec = rng.poisson(model).astype(np.float64)
            elec += rng.normal(0.0, readnoise, shape)
            cre = _cosmic_rays(rng_cr, shape, cr_fraction * exptime / 400.0)
            elec += cre
            var = np.maximum(elec, 0.0) + readnoise ** 2           # what calacs/calwf3 report
            elec -= dark_e                                        # mean dark removed, noise kept
            hit += int(np.count_nonzero(cre))

            sci_hdr = _ext_header("SCI", extver, root, bunit, wcs_hdr)
            sci_hdr["CCDCHIP"] = (inst.ccdchip[c], "CCD chip (1 or 2)")
            sci_hdr["IDCSCALE"] = (scale, "pixel scale from the IDCTAB reference file")
            sci_hdr["VAFACTOR"] = (1.0, "velocity aberration plate scale factor")
            sci_hdr["RA_APER"] = (float(ref[0]), "RA of aperture reference position")
            sci_hdr["DEC_APER"] = (float(ref[1]), "Declination of aperture reference position")
            sci_hdr["PA_APER"] = (float(orientat), "Position Angle of reference aperture center")
            for k, v in inst.phot.items():
                sci_hdr[k] = v
            sci_hdr["NGOODPIX"] = (int(np.count_nonzero(dq == 0)), "number of good pixels")
            sci_hdr["SDQFLAGS"] = (31743, "serious data quality flags")
            sci_hdr["MEANDARK"] = (float(dark_e), "average of the dark values subtracted")
            sci_hdr["MEANBLEV"] = (0.0, "average of all bias levels subtracted")
            err_hdr = _ext_header("ERR", extver, root, bunit, wcs_hdr)
            dq_hdr = _ext_header("DQ", extver, root, "UNITLESS", wcs_hdr)
            hdus += [fits.ImageHDU((elec * to_units).astype(np.float32), sci_hdr),
                     fits.ImageHDU((np.sqrt(var) * to_units).astype(np.float32), err_hdr),
                     fits.ImageHDU(dq, dq_hdr)]
            cr_hdus += [fits.ImageHDU((cre > 0).astype(np.uint8), fits.Header(
                            [("EXTNAME", "CR"), ("EXTVER", extver), ("BUNIT", "UNITLESS")])),
                        fits.ImageHDU(cre, fits.Header(
                            [("EXTNAME", "CRE"), ("EXTVER", extver), ("BUNIT", "ELECTRONS")]))]
        path = os.path.join(outdir, f"{root}_{suffix}.fits")
        crpath = os.path.join(outdir, f"{root}_truth_cr.fits")
        _write_atomic(path, lambda p: fits.HDUList(hdus).writeto(p, overwrite=True))
        _write_atomic(crpath, lambda p: fits.HDUList(cr_hdus).writeto(p, overwrite=True))
        paths.append(path)
        cr_paths.append(crpath)
        cr_fractions.append(hit / (nchips * nx * ny))

    stars["x"], stars["y"] = star_xy
    stars.meta["comment"] = ["x, y: true 1-based position in exposure 1, SCI,1 (may be off-chip)"]
    base = os.path.join(outdir, roots[0][:6])
    stars_path, gals_path, meta_path = (base + "_truth_stars.ecsv", base + "_truth_galaxies.ecsv",
                                        base + "_truth_meta.json")
    _write_atomic(stars_path, lambda p: stars.write(p, format="ascii.ecsv", overwrite=True))
    _write_atomic(gals_path, lambda p: gals.write(p, format="ascii.ecsv", overwrite=True))

    meta = {
        "instrument": key, "instrume": inst.instrume, "detector": inst.detector,
        "nchips": nchips, "chip_shape": list(shape), "exptime": float(exptime), "bunit": bunit,
        "sky": sky, "sky_units": bunit,
        "readnoise": readnoise, "gain": float(gain), "dark_electrons": dark_e,
        "psf_sigma": float(psf_sigma), "cr_fraction": cr_fraction, "cr_fraction_actual": cr_fractions,
        "dithers": [list(d) for d in dithers],
        "pointing_errors": [list(p) if p else None for p in pointing_errors],
        "frames": frames, "chip_offsets": [list(o) for o in offsets],
        "distortion_pix": amp, "idcscale": scale, "seed": seed, "rootnames": roots,
        "ra": float(ra), "dec": float(dec), "orientat": float(orientat),
        "truth_galaxies": gals_path, "truth_meta": meta_path,
        "paths": paths, "truth_stars": stars_path, "truth_cr": cr_paths,
        "bad_columns": [[int(d[2][0]) + 1, int(d[2][1]) + 1] for d in defects],  # 1-based x, y0
    }
    def write_json(p):
        with open(p, "w") as f:
            json.dump(meta, f, indent=1)
    _write_atomic(meta_path, write_json)
    return Dataset(paths=paths, truth_stars=stars_path, truth_cr=cr_paths, meta=meta)


def make_demo(outdir) -> Dataset:
    """Small ACS/WFC-like dataset for the workflow demo: 4 dithered exposures of 2 chips of
    512 x 1024 (ny, nx: the real 1:2 chip aspect), stars, galaxies, cosmic rays and SIP."""
    return make_dataset(outdir, "ACS/WFC", 4, seed=2024, chip_shape=(512, 1024),
                        n_stars=250, n_galaxies=25)


def load_dataset(meta_path) -> Dataset:
    """Rebuild a Dataset from the `*_truth_meta.json` written beside the exposures."""
    with open(meta_path) as f:
        meta = json.load(f)
    return Dataset(paths=meta["paths"], truth_stars=meta["truth_stars"],
                   truth_cr=meta["truth_cr"], meta=meta)


def true_pixels(dataset, exposure, extver, ra, dec):
    """True 1-based (x, y) of sky positions in exposure `exposure` (0-based index), chip `extver`:
    the header WCS, plus that exposure's pointing error if one was simulated."""
    meta = dataset.meta
    fr = meta["frames"][exposure]
    frame = _frame_wcs(fr["crval"], fr["scale"], fr["orientat"])
    with fits.open(dataset.paths[exposure]) as hdul:
        wcs = WCS(hdul["SCI", extver].header, hdul)
    perr = meta["pointing_errors"][exposure]
    return _pixel_positions(wcs, frame, tuple(perr) if perr else None, ra, dec)
