"""The reference catalog TweakReg aligns to (SPEC §3 "Reference"): a user catalog (``refcat``),
the sources of a reference image (``refimage``, found with refimagefindpars), or the first input
exposure's sources. Always a table with RA and DEC (degrees) plus the reference frame."""
import logging
import os

import numpy as np
from astropy.io import fits
from scipy.spatial import cKDTree
from astropy.table import Table, vstack
from stwcs.wcsutil import HSTWCS

from snakedrizzle.errors import InputError
from snakedrizzle.io.extspec import parse_extension
from snakedrizzle.align.catalogs import find_sources
from snakedrizzle.align.match import reference_frame
from snakedrizzle.align.tables import column, flux_select, read_table

log = logging.getLogger(__name__)
RA_NAMES = ("ra", "ra_icrs", "raj2000", "ra_deg", "alpha_j2000", "radeg")
DEC_NAMES = ("dec", "de", "dec_icrs", "dej2000", "decj2000", "dec_deg", "delta_j2000", "dedeg")
X_NAMES = ("x", "xcentroid", "x_centroid", "x_image", "xpos")
Y_NAMES = ("y", "ycentroid", "y_centroid", "y_image", "ypos")


def from_exposure_catalogs(catalogs):
    """Reference = the first image (TweakReg's default): its chip catalogs' sky positions."""
    tables = [Table({"RA": np.asarray(c["ra"], float), "DEC": np.asarray(c["dec"], float),
                     "flux": np.asarray(c["flux"], float)}) for c in catalogs]
    return vstack(tables) if tables else Table({"RA": [], "DEC": [], "flux": []})


def read_user_catalog(path, pars, frame=None):
    """``refcat``: a table with RA/Dec in degrees (``refxyunits='pixels'``: x/y in pixels of the
    reference frame ``frame``, 1-based); optional flux limits (rfluxcol, rminflux, rmaxflux,
    rfluxunits) and refnbright."""
    table = read_table(path, "reference catalog")
    in_pixels = pars.get("refxyunits") == "pixels"
    names = (X_NAMES, Y_NAMES) if in_pixels else (RA_NAMES, DEC_NAMES)
    first = column(table, pars.get("refxcol"), names[0], path, "x" if in_pixels else "RA")
    second = column(table, pars.get("refycol"), names[1], path, "y" if in_pixels else "Dec")
    a, b = np.asarray(table[first], float), np.asarray(table[second], float)
    if in_pixels:
        if frame is None:
            raise InputError(path, "refxyunits='pixels' needs a reference frame")
        a, b = frame.wcs_pix2world(a, b, 1)
    out = Table({"RA": a, "DEC": b})
    if pars.get("rfluxcol"):
        out["flux"] = np.asarray(table[column(table, pars["rfluxcol"], (), path, "flux")], float)
        out = flux_select(out, pars.get("rminflux"), pars.get("rmaxflux"), pars.get("rfluxunits"),
                          pars.get("refnbright"))
    return out[np.isfinite(out["RA"]) & np.isfinite(out["DEC"])]


def image_extensions(path, ext):
    """Extensions of a reference image to find sources on: the given one, else every SCI, else
    the first 2-D image HDU (a drizzled product)."""
    with fits.open(path) as hdul:
        if ext is not None:
            return [ext]
        sci = [("SCI", h.ver) for h in hdul if h.name.upper() == "SCI"]
        if sci:
            return sci
        for i, h in enumerate(hdul):
            if h.is_image and h.data is not None and h.data.ndim == 2:
                return [i]
    raise InputError(path, "no 2-D image extension to find reference sources on")


def _image_wcs(hdul, ext):
    return HSTWCS(hdul, ext=ext)


def image_frame(spec):
    """The undistorted frame of a reference image (its science extensions), without finding
    sources: the frame ``refcat`` positions are placed in when ``refimage`` is also given."""
    path, ext = parse_extension(spec)
    if not os.path.isfile(path):
        raise InputError(path, "reference image not found")
    with fits.open(path, memmap=True) as hdul:
        return reference_frame([_image_wcs(hdul, e) for e in image_extensions(path, ext)])


def from_image(spec, findpars):
    """``refimage``: sources found with refimagefindpars on each science extension, their sky
    positions (full distortion), and the image's undistorted frame."""
    path, ext = parse_extension(spec)
    if not os.path.isfile(path):
        raise InputError(path, "reference image not found")
    tables, wcs_list = [], []
    for e in image_extensions(path, ext):
        with fits.open(path, memmap=True) as hdul:
            sci = np.array(hdul[e].data, dtype=np.float32)
            w = _image_wcs(hdul, e)
        finite = np.isfinite(sci)
        sci[~finite] = 0.0
        found = find_sources(sci, finite & (sci != 0.0), findpars)
        ra, dec = w.all_pix2world(np.asarray(found["x"], float), np.asarray(found["y"], float), 1)
        tables.append(Table({"RA": ra, "DEC": dec, "flux": np.asarray(found["flux"], float)}))
        wcs_list.append(w)
    return vstack(tables), reference_frame(wcs_list)


def unmatched(new, reference, frame, tolerance):
    """Rows of ``new`` (RA, DEC) farther than ``tolerance`` pixels of ``frame`` from every
    source of ``reference``."""
    if len(new) == 0 or len(reference) == 0:
        return new
    ref_xy = np.column_stack(frame.wcs_world2pix(np.asarray(reference["RA"], float),
                                                 np.asarray(reference["DEC"], float), 1))
    new_xy = np.column_stack(frame.wcs_world2pix(np.asarray(new["RA"], float), np.asarray(new["DEC"], float), 1))
    distance, _ = cKDTree(ref_xy).query(new_xy)
    return new[distance > tolerance]
