"""Where things are: the undistorted aperture frame of a pointing, the chips laid out in it, the
header WCS of each chip (CD fitted to the frame, a real SIP pattern rescaled) and where a sky
position really lands on a chip.

Each exposure has an undistorted "aperture frame": a TAN projection centred on the (dithered)
pointing, with ORIENTAT-rotated, square pixels of IDCSCALE arcsec, whose pixel axes are the
detector axes. Every chip is a rectangle at a fixed offset in that frame. Sources are placed where
the chip's *full* header WCS (CD + SIP, via astropy ``all_world2pix``) puts them, so the headers
are the truth, except for optional pointing errors, which move the sources (in the aperture frame)
without touching the headers.
"""
from __future__ import annotations

import math

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

DEFAULT_DISTORTION_PIX = 4.0   # SIP amplitude at the worst chip corner, pixels


def frame_wcs(crval, scale, orientat):
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


def tangent_offsets(ra, dec, crval):
    """Gnomonic (xi, eta) in degrees of (ra, dec) about crval."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cd = np.eye(2)
    w.wcs.set()
    return w.wcs_world2pix(np.column_stack([ra, dec]), 1)


def scaled_sip(sip, real_shape, shape, amplitude):
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


def chip_sips(inst, shape, amplitude):
    """SIP coefficients per chip for this chip size and amplitude (None: pure TAN)."""
    return [scaled_sip(s, inst.shape, shape, amplitude) if amplitude > 0 else None for s in inst.sips]


def chip_offsets(inst, shape):
    """Chip centres in the aperture frame (pixels from the aperture reference), in SCI order:
    ACS/WFC chip 2 (SCI,1) below chip 1 (SCI,2), separated by the inter-chip gap."""
    ny, _ = shape
    if len(inst.ccdchip) == 2:
        return [(0.0, -(ny + inst.gap) / 2.0), (0.0, (ny + inst.gap) / 2.0)]
    return [(0.0, 0.0)]


def chip_wcs(frame, offset, shape, sip):
    """Header WCS cards of one chip and the astropy WCS read back from exactly those cards."""
    header = chip_wcs_header(frame, offset, shape, sip)
    header["WCSNAME"] = ("IDC_simulated", "Coordinate system title")
    # Round-trip through card text so sources are placed with exactly the file's values.
    header = fits.Header.fromstring(header.tostring())
    wcs = WCS(header)
    wcs.pixel_shape = (shape[1], shape[0])
    return header, wcs


def chip_wcs_header(frame, offset, shape, sip):
    """Header cards of one chip: CRPIX at the chip centre, CRVAL where the aperture frame puts it,
    CD fitted by central differences on the frame (so the chip follows the one focal plane)."""
    ny, nx = shape
    ox, oy = offset
    crval = frame.wcs_pix2world([[ox, oy]], 1)[0]
    d = 0.25 * min(nx, ny)
    pts = np.array([[ox + d, oy], [ox - d, oy], [ox, oy + d], [ox, oy - d]])
    sky = frame.wcs_pix2world(pts, 1)
    t = tangent_offsets(sky[:, 0], sky[:, 1], crval)
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


def pixel_positions(wcs, frame, perr, ra, dec):
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



def pixel_area_ratio(wcs, x, y, scale):
    """Sky area of the chip pixels at 1-based (x, y), in units of a square `scale`-arcsec pixel
    (central differences on the full header WCS, SIP included)."""
    x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
    h = 0.5
    corners = [np.column_stack([x + dx, y + dy]) for dx, dy in ((h, 0), (-h, 0), (0, h), (0, -h))]
    sky = [wcs.all_pix2world(c, 1) for c in corners]
    cosd = np.cos(np.radians(wcs.all_pix2world(np.column_stack([x, y]), 1)[:, 1]))
    dra = [(sky[a][:, 0] - sky[b][:, 0] + 180.0) % 360.0 - 180.0 for a, b in ((0, 1), (2, 3))]
    ddec = [sky[a][:, 1] - sky[b][:, 1] for a, b in ((0, 1), (2, 3))]
    det = dra[0] * cosd * ddec[1] - dra[1] * cosd * ddec[0]
    return np.abs(det) * (3600.0 / scale) ** 2
