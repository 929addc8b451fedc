"""Extra WCS solutions in a synthetic exposure, as the archive's FLT/FLC files carry them: an
alternate WCS key or an embedded HDRLET extension holding the exposure's primary WCS moved by a
known rigid motion on the sky, under a pipeline name such as ``IDC_simulated-GSC240`` (the
simulator's IDCTAB is 'N/A' and its WCSNAME 'IDC_simulated'). Tests use them to make exposures
with a priori solutions of known truth (runastrodriz's a priori stage, SPEC-HAP.md H9 step 6).

Only for the simulator's own output, before a test makes it read-only: the file is rewritten
(atomically) in place.
"""
from __future__ import annotations

import math
import os
import string
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from stwcs.wcsutil import headerlet as stwcs_headerlet

from snakedrizzle.align.headerlet import build_headerlet
from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import write_hdulist

# Alternate keyword suffixes of one linear WCS (SIP keywords have no alternate form).
_ALT_CARDS = ("WCSAXES", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2", "CUNIT1",
              "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")


def _tangent_frame(crvals):
    """TAN projection at the chips' mean reference point with 1 deg per unit, so pixel axes are
    the tangent-plane (east, north) offsets in degrees."""
    vec = np.mean([_unit(ra, dec) for ra, dec in crvals], axis=0)
    frame = WCS(naxis=2)
    frame.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    frame.wcs.crval = [math.degrees(math.atan2(vec[1], vec[0])) % 360.0,
                       math.degrees(math.asin(vec[2] / np.linalg.norm(vec)))]
    frame.wcs.crpix = [0.0, 0.0]
    frame.wcs.cd = np.eye(2)
    return frame


def _unit(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def moved_chip_wcs(headers, shift_arcsec, rotation_deg):
    """{extver: (crval, cd)} of the chips moved rigidly: rotated by ``rotation_deg`` (position
    angle increases, i.e. east of north) about the exposure's mean reference point, then
    shifted by ``shift_arcsec`` = (east, north) arcsec."""
    frame = _tangent_frame([(h["CRVAL1"], h["CRVAL2"]) for h in headers.values()])
    c, s = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    rot = np.array([[c, s], [-s, c]])     # (east, north): PA of every sky vector grows by the angle
    shift = np.asarray(shift_arcsec, float) / 3600.0
    out = {}
    for v, h in headers.items():
        # origin 1 with CRPIX 0: the pixel coordinates are the tangent-plane offsets themselves
        xi_eta = np.array(frame.wcs_world2pix([[h["CRVAL1"], h["CRVAL2"]]], 1)[0])
        crval = frame.wcs_pix2world([rot @ xi_eta + shift], 1)[0]
        cd = np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]])
        out[v] = (crval, rot @ cd)
    return out


def _free_key(header, path):
    used = {k[-1] for k in header if k.startswith("WCSNAME") and len(k) == 8}
    # 'O' is the archive's key for the OPUS WCS; leave it for that meaning.
    free = [k for k in string.ascii_uppercase if k not in used and k != "O"]
    if not free:
        raise InputError(path, "no free alternate WCS key")
    return free[0]


def _with_alternate(hdul, moved, wcsname, path):
    key = _free_key(hdul["SCI", min(moved)].header, path)
    for v, (crval, cd) in moved.items():
        hdr = hdul["SCI", v].header
        for name in _ALT_CARDS:
            if name in hdr:
                hdr[name + key] = hdr[name]
        for i in (1, 2):
            hdr[f"CRVAL{i}{key}"] = float(crval[i - 1])
            for j in (1, 2):
                hdr[f"CD{i}_{j}{key}"] = float(cd[i - 1, j - 1])
        hdr["WCSNAME" + key] = wcsname
    return key


def _headerlet_hdu(path, moved, wcsname, hdrname):
    aligned = {}
    for v, (crval, cd) in moved.items():
        w = WCS(naxis=2)
        w.wcs.crval, w.wcs.cd = crval, cd
        aligned[v] = w
    with warnings.catch_warnings():
        # stwcs's comments on long names get truncated: harmless, and only comments
        warnings.filterwarnings("ignore", "Card is too long", fits.verify.VerifyWarning)
        hlet = build_headerlet(path, aligned, wcsname, {"status": "SIMULATED"}, hdrname.split("_")[0],
                               meta={"hdrname": hdrname, "author": "snakedrizzle.simulate",
                                     "descrip": "simulated a priori solution"})
        return stwcs_headerlet.HeaderletHDU.fromheaderlet(hlet)


def add_solution(path, wcsname, shift_arcsec=(0.0, 0.0), rotation_deg=0.0, as_headerlet=False):
    """Add to exposure ``path`` its primary WCS moved by ``shift_arcsec`` (east, north) and
    ``rotation_deg`` (see moved_chip_wcs) as a WCS named ``wcsname``: an alternate key on every
    SCI header (the next free one; returned) or, with ``as_headerlet``, an HDRLET extension
    (its HDRNAME returned). The file is rewritten atomically."""
    with fits.open(path, memmap=False) as hdul:
        hdul.readall()
        headers = {h.ver: h.header for h in hdul if h.name.upper() == "SCI"}
        if not headers:
            raise InputError(path, "no SCI extension")
        moved = moved_chip_wcs(headers, shift_arcsec, rotation_deg)
        root = str(hdul[0].header.get("ROOTNAME", "")).strip() or os.path.basename(path).split("_")[0]
        if as_headerlet:
            label = f"{root}_{wcsname}"
            hdu = _headerlet_hdu(path, moved, wcsname, label)
            hdu.ver = 1 + max([h.ver for h in hdul if h.name.upper() == "HDRLET"], default=0)
            hdul.append(hdu)
        else:
            label = _with_alternate(hdul, moved, wcsname, path)
        write_hdulist(hdul, path)
    return label
