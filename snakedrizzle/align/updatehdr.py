"""``updatehdr``: put an aligned WCS into an exposure, on a copy (or in place only when asked).

Two sources of the new WCS, as in DrizzlePac: a headerlet (``apply_headerlet``) or a TweakReg
shift/rotation/scale in a reference frame (``update_from_shifts``, the fit's convention:
image = A . reference + (xsh, ysh)). The old primary WCS is archived as the next alternate key.
"""
import os
import shutil

import numpy as np
from astropy.io import fits
from tweakwcs.correctors import FITSWCSCorrector

from snakedrizzle.align.headerlet import headerlet_wcs_cards, sci_extvers, set_primary_wcs
from snakedrizzle.align.match import tangent_plane
from snakedrizzle.errors import InputError
from snakedrizzle.wcs import chip_wcs


def _target(image, output, inplace):
    """The file to write: ``image`` itself only with ``inplace=True``, else a fresh copy."""
    if inplace:
        return image
    if not output:
        raise InputError(image, "updatehdr writes to a copy: give output=..., or inplace=True to modify the input")
    if os.path.abspath(output) == os.path.abspath(image):
        raise InputError(image, "output is the input itself; use inplace=True to modify the input")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output + ".tmp"
    shutil.copyfile(image, tmp)
    os.chmod(tmp, 0o644)
    return tmp


def _finish(target, image, output, inplace):
    if not inplace:
        os.replace(target, output)
        return output
    return image


def _write_wcs(target, wcs_by_extver, wcsname, extra_cards=()):
    with fits.open(target, mode="update") as hdul:
        for v, w in wcs_by_extver.items():
            set_primary_wcs(hdul, v, w, wcsname)
            for keyword, value in extra_cards:
                hdul["SCI", v].header[keyword] = value


def apply_headerlet(image, headerlet, output=None, inplace=False):
    """Write the headerlet's WCS of every chip into ``output`` (a copy of ``image``)."""
    with fits.open(image) as hdul:
        extvers = sci_extvers(hdul)
    wcs_by_extver, name = {}, None
    for v in extvers:
        w = chip_wcs(image, v, headerlet=headerlet)
        wcs_by_extver[v] = w
        name = next((c.value for c in headerlet_wcs_cards(headerlet, v)[0] if c.keyword == "WCSNAME"), "TWEAK")
    target = _target(image, output, inplace)
    _write_wcs(target, wcs_by_extver, name)
    return _finish(target, image, output, inplace)


def fit_matrix(rot, scale):
    """TweakReg's (rot, scale) as the matrix A of image = A . reference + offset."""
    r = np.deg2rad(rot)
    return scale * np.array([[np.cos(r), np.sin(r)], [-np.sin(r), np.cos(r)]])


def shifted_wcs(w, frame, xsh, ysh, rot=0.0, scale=1.0):
    """Chip WCS ``w`` corrected by a TweakReg fit made in the reference ``frame``."""
    a = fit_matrix(rot, scale)
    m = np.linalg.inv(a)
    corrector = FITSWCSCorrector(w.deepcopy())
    corrector.set_correction(matrix=m, shift=-m @ np.array([xsh, ysh], float), ref_tpwcs=tangent_plane(frame))
    return corrector.wcs


def update_from_shifts(image, frame, xsh, ysh, rot=0.0, scale=1.0, wcsname="TWEAK", output=None, inplace=False):
    """Apply a shift (reference-frame pixels), rotation (deg) and scale to every chip of ``image``."""
    with fits.open(image) as hdul:
        extvers = sci_extvers(hdul)
    new = {v: shifted_wcs(chip_wcs(image, v), frame, xsh, ysh, rot, scale) for v in extvers}
    target = _target(image, output, inplace)
    _write_wcs(target, new, wcsname)
    return _finish(target, image, output, inplace)
