"""The reference catalog TweakReg aligns to (SPEC §3 "Reference"): a user catalog (``refcat``),
the sources of a reference image (``refimage``, found with refimagefindpars), or the first input
exposure's sources. Always a table with RA and DEC (degrees) plus the reference frame."""
import logging
import os

import numpy as np
from astropy.io import fits
from astropy.table import Table, vstack
from stwcs.wcsutil import HSTWCS

from ..errors import InputError
from ..io.extspec import parse_extension
from .catalogs import find_sources
from .match import reference_frame

log = logging.getLogger(__name__)
RA_NAMES = ("ra", "ra_icrs", "raj2000", "ra_deg", "alpha_j2000", "radeg")
DEC_NAMES = ("dec", "de", "dec_icrs", "dej2000", "decj2000", "dec_deg", "delta_j2000", "dedeg")


def from_exposure_catalogs(catalogs):
    """Reference = the first image (TweakReg's default): its chip catalogs' sky positions."""
    tables = [Table({"RA": np.asarray(c["ra"], float), "DEC": np.asarray(c["dec"], float),
                     "flux": np.asarray(c["flux"], float)}) for c in catalogs]
    return vstack(tables) if tables else Table({"RA": [], "DEC": [], "flux": []})


def _column(table, wanted, names, path, what):
    """A column by name or 1-based number (``wanted``), else the first known RA/Dec name."""
    if wanted not in (None, ""):
        if str(wanted).isdigit():
            index = int(wanted) - 1
            if not 0 <= index < len(table.colnames):
                raise InputError(path, f"has no column number {wanted} for {what}")
            return table.colnames[index]
        if wanted not in table.colnames:
            raise InputError(path, f"has no column {wanted!r} for {what} (columns: {', '.join(table.colnames)})")
        return wanted
    lower = {c.lower(): c for c in table.colnames}
    for name in names:
        if name in lower:
            return lower[name]
    raise InputError(path, f"has no {what} column (looked for {', '.join(names)}; columns: "
                     f"{', '.join(table.colnames)}); set refxcol/refycol")


def read_user_catalog(path, pars):
    """``refcat``: an ECSV/CSV/FITS/plain-text table with RA/Dec in degrees; optional flux limits
    (rfluxcol, rminflux, rmaxflux, rfluxunits 'mag' = smaller is brighter) and refnbright."""
    if not os.path.isfile(path):
        raise InputError(path, "reference catalog not found")
    try:
        table = Table.read(path) if path.lower().endswith((".fits", ".fit", ".ecsv", ".csv", ".vot", ".xml")) \
            else Table.read(path, format="ascii")
    except Exception as exc:
        raise InputError(path, f"not a readable table ({exc})") from None
    ra = _column(table, pars.get("refxcol"), RA_NAMES, path, "RA")
    dec = _column(table, pars.get("refycol"), DEC_NAMES, path, "Dec")
    out = Table({"RA": np.asarray(table[ra], float), "DEC": np.asarray(table[dec], float)})
    if pars.get("rfluxcol"):
        flux_col = _column(table, pars["rfluxcol"], (), path, "flux")
        out["flux"] = np.asarray(table[flux_col], float)
        out = _flux_limits(out, pars)
    return out[np.isfinite(out["RA"]) & np.isfinite(out["DEC"])]


def _flux_limits(table, pars):
    flux = np.asarray(table["flux"])
    keep = np.ones(len(table), bool)
    if pars.get("rminflux") is not None:
        keep &= flux >= pars["rminflux"]
    if pars.get("rmaxflux") is not None:
        keep &= flux <= pars["rmaxflux"]
    table = table[keep]
    if pars.get("refnbright"):
        brightest_first = np.argsort(table["flux"]) if pars.get("rfluxunits") == "mag" else np.argsort(-table["flux"])
        table = table[brightest_first[: int(pars["refnbright"])]]
    return table


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
            w = HSTWCS(hdul, ext=e)
        finite = np.isfinite(sci)
        sci[~finite] = 0.0
        found = find_sources(sci, finite & (sci != 0.0), findpars)
        ra, dec = w.all_pix2world(np.asarray(found["x"], float), np.asarray(found["y"], float), 1)
        tables.append(Table({"RA": ra, "DEC": dec, "flux": np.asarray(found["flux"], float)}))
        wcs_list.append(w)
    return vstack(tables), reference_frame(wcs_list)
