"""``tweakback``: carry an alignment of a drizzled product back to the exposures that made it,
as new headerlets (the exposures are only read; apply a headerlet with ``updatehdr``).

The DRZ's primary WCS is the aligned one; the original is the alternate named ``origwcs`` (else
the last archived alternate, SPEC §3). The correction between them, linear in the original DRZ's
tangent plane, is applied to every chip of every input (default: the ``D###DATA`` keywords).
"""
import os
import re

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits
from tweakwcs.correctors import FITSWCSCorrector

from snakedrizzle.align.headerlet import sci_extvers, write_headerlet
from snakedrizzle.align.match import tangent_plane
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import rootname_of
from snakedrizzle.wcs import chip_wcs


def drz_wcs_pair(drzfile, extname="SCI", origwcs=None):
    """(original, aligned) celestial WCSs of the DRZ science extension."""
    with fits.open(drzfile) as hdul:
        ext = extname if extname in hdul else 0
        hdr = hdul[ext].header
    keys = [k for k in "ABCDEFGHIJKLMNPQRSTUVWXYZ" if f"WCSNAME{k}" in hdr or f"CRVAL1{k}" in hdr]
    if not keys:
        raise InputError(drzfile, "has only one WCS: tweakback needs the WCS from before the alignment as an alternate")
    key = keys[-1]
    if origwcs:
        named = [k for k in keys if str(hdr.get(f"WCSNAME{k}", "")).upper() == str(origwcs).upper()]
        if not named:
            raise InputError(drzfile, f"has no alternate WCS named {origwcs!r}")
        key = named[0]
    return pywcs.WCS(hdr, key=key, naxis=2), pywcs.WCS(hdr, naxis=2)


def correction(original, aligned, shape, n=11):
    """(M, s) with p_true = M . p + s in the original DRZ's tangent plane (pixels from CRPIX)."""
    tp = tangent_plane(original)
    ny, nx = shape
    gx, gy = np.meshgrid(np.linspace(1, nx, n), np.linspace(1, ny, n))
    before = np.column_stack(tp.world_to_tanp(*original.wcs_pix2world(gx.ravel(), gy.ravel(), 1)))
    after = np.column_stack(tp.world_to_tanp(*aligned.wcs_pix2world(gx.ravel(), gy.ravel(), 1)))
    design = np.column_stack([before, np.ones(len(before))])
    coeffs, *_ = np.linalg.lstsq(design, after, rcond=None)
    return coeffs[:2].T, coeffs[2], tp


def drz_inputs(drzfile):
    """Input exposures recorded in the DRZ PRIMARY (``D###DATA = 'file.fits[sci,1]'``)."""
    hdr = fits.getheader(drzfile)
    names = []
    for key in sorted(k for k in hdr if re.match(r"^D\d{3}DATA$", k)):
        name = str(hdr[key]).split("[")[0]
        if name not in names:
            names.append(name)
    folder = os.path.dirname(os.path.abspath(drzfile))
    return [n if os.path.isabs(n) else os.path.join(folder, n) for n in names]


def tweakback(drzfile, input=None, origwcs=None, wcsname=None, newname=None, extname="SCI", output_dir=None):
    """Write ``<root>_<newname>_hlet.fits`` for every input exposure; returns their paths."""
    original, aligned = drz_wcs_pair(drzfile, extname, origwcs)
    with fits.open(drzfile) as hdul:
        shape = (hdul[extname if extname in hdul else 0]).shape
        hdr = hdul[extname if extname in hdul else 0].header
    newname = newname or wcsname or str(hdr.get("WCSNAME", "TWEAK"))
    matrix, shift, tp = correction(original, aligned, shape)
    inputs = input if input is not None else drz_inputs(drzfile)
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs:
        raise InputError(drzfile, "no D###DATA keywords name its inputs; give input=...")
    out_dir = output_dir or os.path.dirname(os.path.abspath(drzfile))
    written = []
    for path in inputs:
        root, _ = rootname_of(path)
        new = {}
        with fits.open(path) as hdul:
            extvers = sci_extvers(hdul)
        for v in extvers:
            corrector = FITSWCSCorrector(chip_wcs(path, v))
            corrector.set_correction(matrix=matrix, shift=shift, ref_tpwcs=tp)
            new[v] = corrector.wcs
        out = os.path.join(out_dir, f"{root}_{newname}_hlet.fits")
        fit = {"status": f"TWEAKBACK from {os.path.basename(drzfile)}", "fitgeometry": "general"}
        written.append(write_headerlet(path, out, new, newname, fit, root))
    return written
