"""Catalog columns, units, formats and metadata (SPEC-HAP H7.9) and ECSV writing.

X/Y are 0-based pixels of the product; missing values (NaN, masked) are written as -9999."""
import numpy as np
from astropy import units as u
from astropy.table import Column, Table

from snakedrizzle.hap.catalogs.flags import FLAG_LEGEND
from snakedrizzle.io import atomic_path

__all__ = ["FILL_VALUE", "POINT_COLUMNS", "SEGMENT_COLUMNS", "TOTAL_POINT_KEYS", "TOTAL_SEGMENT_KEYS",
           "finish_table", "write_catalog", "catalog_metadata"]

FILL_VALUE = -9999
_MAG = u.def_unit("mag(AB)", doc="AB magnitude") if "mag(AB)" not in u.__dict__ else u.Unit("mag(AB)")
_RATE = u.electron / u.s
_RATE_PIX = u.electron / (u.s * u.pixel)
_PIX = u.pixel
_PIX2 = u.pixel ** 2

# name -> (unit, format)
_POS = {"X-Center": (_PIX, "10.3f"), "Y-Center": (_PIX, "10.3f"), "X-Centroid": (_PIX, "10.3f"),
        "Y-Centroid": (_PIX, "10.3f"), "RA": (u.deg, "13.7f"), "DEC": (u.deg, "13.7f"),
        "ID": (None, "7d")}
_PHOT = {"MagAp1": (_MAG, "7.3f"), "MagErrAp1": (_MAG, "7.3f"), "FluxAp1": (_RATE, "10.4f"),
         "FluxErrAp1": (_RATE, "10.4f"), "MagAp2": (_MAG, "7.3f"), "MagErrAp2": (_MAG, "7.3f"),
         "MSkyAp2": (_RATE_PIX, "10.4f"), "StdevAp2": (_RATE_PIX, "10.4f"), "FluxAp2": (_RATE, "10.4f"),
         "FluxErrAp2": (_RATE, "10.4f"), "CI": (_MAG, "7.3f"), "Flags": (None, "5d")}
_SEGMENT = {"Bck": (_RATE, "10.4f"), "Area": (_PIX2, "10.4f"), "FWHM": (_PIX, "10.4f"),
            "MagSegment": (_MAG, "7.3f"), "FluxSegment": (_RATE, "10.4f"),
            "FluxSegmentErr": (_RATE, "10.4f"), "KronRadius": (_PIX, "10.4f"), "Xmin": (_PIX, "8d"),
            "Ymin": (_PIX, "8d"), "Xmax": (_PIX, "8d"), "Ymax": (_PIX, "8d"), "X2": (_PIX2, "10.4f"),
            "Y2": (_PIX2, "10.4f"), "XY": (_PIX2, "10.4f"), "CXX": (_PIX2 ** -1, "10.4f"),
            "CYY": (_PIX2 ** -1, "10.4f"), "CXY": (_PIX2 ** -1, "10.4f"), "Elongation": (None, "10.4f"),
            "Ellipticity": (None, "10.4f"), "Theta": (u.rad, "10.4f")}
_SPECS = {**_POS, **_PHOT, **_SEGMENT}

POINT_COLUMNS = ("X-Center", "Y-Center", "RA", "DEC", "ID", "MagAp1", "MagErrAp1", "FluxAp1",
                 "FluxErrAp1", "MagAp2", "MagErrAp2", "MSkyAp2", "StdevAp2", "FluxAp2", "FluxErrAp2",
                 "CI", "Flags")
SEGMENT_COLUMNS = ("X-Centroid", "Y-Centroid", "RA", "DEC", "ID", "CI", "Flags", "MagAp1", "MagErrAp1",
                   "FluxAp1", "FluxErrAp1", "MagAp2", "MagErrAp2", "FluxAp2", "FluxErrAp2", "MSkyAp2",
                   "Bck", "Area", "FWHM", "MagSegment", "FluxSegment", "FluxSegmentErr", "KronRadius",
                   "Xmin", "Ymin", "Xmax", "Ymax", "X2", "Y2", "XY", "CXX", "CYY", "CXY", "Elongation",
                   "Ellipticity", "Theta")
TOTAL_POINT_KEYS = ("ID", "X-Center", "Y-Center", "RA", "DEC")
TOTAL_SEGMENT_KEYS = ("ID", "X-Centroid", "Y-Centroid", "RA", "DEC")
# per-filter columns of a total catalog (HAP spells the magnitude MagAP2_<filter>, capital AP)
TOTAL_FILTER_COLUMNS = (("MagAP2_{}", "MagAp2"), ("CI_{}", "CI"), ("Flags_{}", "Flags"))


def _spec_of(name):
    for pattern, base in TOTAL_FILTER_COLUMNS:
        prefix = pattern.split("{")[0]
        if name.startswith(prefix) and name != base:
            return _SPECS[base]
    return _SPECS[name]


def finish_table(table, order):
    """The columns of ``order`` with H7.9 units and formats; NaN and masked values -> -9999."""
    out = Table(meta=dict(table.meta))
    for name in order:
        unit, fmt = _spec_of(name)
        values = table[name]
        mask = np.ma.getmaskarray(values)
        data = np.ma.getdata(values)
        integer = fmt.endswith("d")
        if integer:
            bad = mask | ~np.isfinite(np.asarray(data, float))
            data = np.where(bad, FILL_VALUE, np.nan_to_num(np.asarray(data, float))).astype(np.int64)
        else:
            data = np.asarray(data, float)
            data = np.where(mask | ~np.isfinite(data), FILL_VALUE, data)
        # a plain column: nothing is masked any more, and the ECSV writer formats plain columns
        # several times faster (the file is the same)
        out[name] = Column(data, unit=unit, format=fmt)
    return out


def catalog_metadata(header, kind, pars, nsigma, n_sources, ci_limits=None, warning=None):
    """H7.9 metadata, in HAP's order, from the product's merged primary+SCI ``header``."""
    get = header.get
    meta = {f"h{i:02d}": line for i, line in enumerate((
        "This catalog was made by snakedrizzle, a workflow that rebuilds the Hubble Advanced",
        "Products (HAP) single-visit mosaics of DrizzlePac; sources were detected once on the",
        "visit's total (detection) image and measured on each filter image.",
        "Positions are on the product's WCS (WCSNAME below).",
        "Data: Hubble Space Telescope, MAST.",
        "", "", "", ""))}
    filter1 = get("FILTER1", get("FILTER", "")) if get("INSTRUME", "").upper() == "ACS" else get("FILTER", "")
    filter2 = get("FILTER2", "") if get("INSTRUME", "").upper() == "ACS" else ""
    meta.update({
        "WCSNAME": get("WCSNAME", ""), "WCSTYPE": get("WCSTYPE", ""), "Proposal ID": get("PROPOSID", ""),
        "Image File Name": get("FILENAME", ""), "Target Name": get("TARGNAME", ""),
        "Date Observed": get("DATE-OBS", ""), "Time Observed": get("TIME-OBS", ""),
        "Instrument": get("INSTRUME", ""), "Detector": get("DETECTOR", ""),
        "Target RA": get("RA_TARG", ""), "Target DEC": get("DEC_TARG", ""),
        "Orientation": get("ORIENTAT", ""), "Aperture RA": get("RA_APER", get("RA_TARG", "")),
        "Aperture DEC": get("DEC_APER", get("DEC_TARG", "")), "Aperture PA": get("PA_V3", ""),
        "Aper1 (arcsec)": pars["aperture_1"], "Aper2 (arcsec)": pars["aperture_2"],
        "Threshold (sigma)": nsigma, "Exposure Start": get("EXPSTART", ""),
        "Total Exposure Time": get("TEXPTIME", get("EXPTIME", "")),
    })
    if get("DETECTOR", "").upper() != "SBC":
        meta["CCD Gain"] = get("CCDGAIN", "")
    meta.update({"Filter 1": filter1, "Filter 2": filter2})
    for key in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2", "CD1_1", "CD1_2", "CD2_1", "CD2_2"):
        if key in header:
            meta[key] = header[key]
    meta["Number of sources"] = int(n_sources)
    lower, upper = ci_limits if ci_limits else (None, None)
    notes = ["Magnitudes are ABMAG: -2.5 log10(Flux PHOTFLAM) - 21.10 - 5 log10(PHOTPLAM) + 18.6921.",
             "X-Center/Y-Center (X-Centroid/Y-Centroid) are 0-based pixel positions.",
             "CI (concentration index) = MagAp1 - MagAp2.",
             f"Missing values are {FILL_VALUE}.",
             "Flags (sum of bits): " + "; ".join(f"{bit} {text}" for bit, text in FLAG_LEGEND) + "."]
    if lower is not None:
        notes.append(f"CI limits used: lower {lower}, upper {upper}.")
    for i, line in enumerate(notes):
        meta[f"h{9 + i:02d}"] = line
    if warning:
        meta["h19"] = warning
    return meta


def write_catalog(table, path):
    """Write ``table`` as ECSV, atomically: a failed run leaves no catalog behind."""
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
