"""Keywords HAP writes into its drizzled products (SPEC-HAP H8, footprint keywords H4).

Functions of arrays, the product's frame and the inputs' header values; no file is read here.
``hap_keywords`` returns the cards per extension, ``{"PRIMARY": {name: (value, comment)},
"SCI": {...}}``, for the product writer to set.

- Footprint keywords (filter, total and MVM products): HAP rasterises each input chip's outline
  on the product grid: ``nchip`` counts the chips covering a pixel, ``exptime`` sums their
  exposure times. ``NPIXFRAC`` is the fraction of the grid with ``nchip > 0``; ``MEANEXPT``,
  ``MEDEXPT``, ``MEANNEXP``, ``MEDNEXP`` are taken over those pixels, and so are ``MEANWHT`` and
  ``MEDWHT`` of the drizzled WHT (zeros inside the footprint included). ``footprint_maps`` makes
  the two maps as HAP does (every edge pixel of a chip to the grid, coordinates truncated to
  integers, the polygon filled with its outline) except that the last row and column of a
  chip's box are kept (HAP's box slice drops them).
- ``S_REGION`` (SCI header): one ``POLYGON ICRS`` per separate region of the data (WHT > 0,
  holes filled, gaps narrower than about 2×11 pixels closed as HAP's 11 dilations/erosions do),
  each the convex hull of the region's outermost pixel centres, closed by repeating its first
  vertex. Frames are gnomonic (TAN), where great circles are straight lines, so a hull on the
  grid is the spherical convex hull on the sky.
- Photometry (SCI header): ``PHOTMODE, PHOTFLAM, PHOTFNU, PHOTZPT, PHOTPLAM, PHOTBW`` live in
  the (SCI,1) header of every HAP product, none in PRIMARY. HAP's header rules give PHOTMODE
  of the first input and the mean over the inputs of the others, whatever their filters (so
  a total product carries the mean over all its filters, as HAP's does).
- ``HDRTAB``: HAP rebuilds the table of the inputs' headers with a column ``HAPEXPNAME``, the
  exposure-product basename of each row's input, at least 51 characters wide, appended after
  the existing columns (the real HAP products have it last).
"""
import numpy as np
from astropy.io import fits
from astropy.time import Time
from scipy import ndimage
from scipy.spatial import ConvexHull

from snakedrizzle.errors import InputError
from snakedrizzle.hap.names import trailer_filename

HAPLEVEL = {"exposure": 1, "filter": 2, "total": 2, "layer": 4}
COMMENTS = {
    "HAPLEVEL": "Classification level of this product",
    "IPPPSSOO": "Rootname(s) of the input exposure(s)",
    "FILTER": "Filter(s) of the product ('detection': total)",
    "NUMEXP": "Number of exposures in the product",
    "DATE-BEG": "Starting Date and Time",
    "DATE-END": "Ending Date and Time",
    "NPIXFRAC": "Fraction of pixels with data",
    "MEANEXPT": "Mean exposure time per pixel with data",
    "MEDEXPT": "Median exposure time per pixel with data",
    "MEANNEXP": "Mean number of exposures per pixel with data",
    "MEDNEXP": "Median number of exposures per pixel with data",
    "MEANWHT": "Mean weight (typically exposure time) over pixels with data",
    "MEDWHT": "Median weight (typically exposure time) over pixels with data",
    "DRIZPARS": "Logfile for processing",
    "S_REGION": "Footprint of the data on the sky",
    # PHOT*: PHOTMODE of the first input, the others the mean over the inputs (short enough
    # to fit one card beside the longest PHOTMODE)
    "PHOTMODE": "Observation configuration",
    "PHOTFLAM": "Inverse sensitivity, ergs/cm2/A/e- (mean)",
    "PHOTFNU": "Inverse sensitivity, Jy*sec/e- (mean)",
    "PHOTZPT": "ST magnitude zero point (mean)",
    "PHOTPLAM": "Pivot wavelength (Angstroms) (mean)",
    "PHOTBW": "RMS bandwidth of filter plus detector (mean)",
}
PHOT_KEYWORDS = ("PHOTMODE", "PHOTFLAM", "PHOTFNU", "PHOTZPT", "PHOTPLAM", "PHOTBW")
HAPEXPNAME = "HAPEXPNAME"
# HAP makes the column wide enough for any ACS exposure-product name.
HAPEXPNAME_MIN_WIDTH = 51
# HAP closes gaps between chips (and dithers) before tracing the footprint.
CLOSING_ITERATIONS = 11


def _card(name, value):
    return name, (value, COMMENTS[name])


def _chip_outline(shape):
    """0-based (x, y) of every edge pixel of a chip of ``shape`` (ny, nx), walked around once."""
    ny, nx = shape
    xs = np.arange(nx)
    ys = np.arange(ny)
    x = np.concatenate([xs, np.full(ny, nx - 1), xs[::-1], np.zeros(ny, int)])
    y = np.concatenate([np.zeros(nx, int), ys, np.full(nx, ny - 1), ys[::-1]])
    return x, y


def footprint_maps(frame, chips):
    """(nchip int16, exptime float32) maps of ``frame``'s shape. ``chips``: (chip WCS with
    pixel_shape, exposure time) pairs, the chip WCS with its distortion."""
    from PIL import Image, ImageDraw

    nx, ny = frame.pixel_shape
    nchip = np.zeros((ny, nx), np.int16)
    exptime = np.zeros((ny, nx), np.float32)
    for wcs, texp in chips:
        cnx, cny = wcs.pixel_shape
        ex, ey = _chip_outline((cny, cnx))
        ra, dec = wcs.all_pix2world(ex, ey, 0)
        fx, fy = frame.all_world2pix(ra, dec, 0)
        fx, fy = fx.astype(np.int32), fy.astype(np.int32)
        if fx.max() <= 0 or fx.min() > nx - 1 or fy.max() <= 0 or fy.min() > ny - 1:
            continue
        fx, fy = np.clip(fx, 0, nx - 1), np.clip(fy, 0, ny - 1)
        x0, y0 = fx.min(), fy.min()
        box = Image.new("L", (int(fx.max() - x0 + 1), int(fy.max() - y0 + 1)), 0)
        ImageDraw.Draw(box).polygon(list(zip((fx - x0).tolist(), (fy - y0).tolist())), outline=1, fill=1)
        inside = np.asarray(box, dtype=bool)
        window = (slice(y0, y0 + inside.shape[0]), slice(x0, x0 + inside.shape[1]))
        nchip[window] += inside
        exptime[window] += np.float32(texp) * inside
    return nchip, exptime


def footprint_keywords(nchip, exptime, wht=None):
    """NPIXFRAC, MEANEXPT, MEDEXPT, MEANNEXP, MEDNEXP (and MEANWHT, MEDWHT if ``wht``)."""
    covered = np.asarray(nchip) > 0
    if not covered.any():
        raise InputError("footprint", "no input chip overlaps the product grid")
    cards = dict([_card("NPIXFRAC", float(covered.sum() / covered.size))])
    named = [("EXPT", exptime), ("NEXP", nchip)] + ([("WHT", wht)] if wht is not None else [])
    for name, image in named:
        values = np.asarray(image)[covered]  # one copy of the covered pixels at a time
        mean = float(np.mean(values))
        # the median may sort that copy in place: the same value, no second copy
        cards.update([_card(f"MEAN{name}", mean), _card(f"MED{name}", float(np.median(values, overwrite_input=True)))])
        del values
    return cards


def _regions(mask):
    """Labelled separate regions of ``mask`` after filling holes and closing narrow gaps."""
    pad = CLOSING_ITERATIONS + 1
    padded = np.pad(ndimage.binary_fill_holes(mask), pad)
    closed = ndimage.binary_closing(padded, iterations=CLOSING_ITERATIONS)[pad:-pad, pad:-pad]
    closed = ndimage.binary_fill_holes(closed | mask)
    return ndimage.label(closed, structure=np.ones((3, 3)))


def _hull_of_rows(region):
    """Convex hull (counter-clockwise 0-based x, y) of a region from each row's outermost pixels."""
    rows = np.flatnonzero(region.any(axis=1))
    first = region[rows].argmax(axis=1)
    last = region.shape[1] - 1 - region[rows, ::-1].argmax(axis=1)
    pts = np.unique(np.concatenate([np.c_[first, rows], np.c_[last, rows]]), axis=0).astype(float)
    if len(pts) < 3 or np.linalg.matrix_rank(pts - pts[0]) < 2:
        return pts  # a line or a point: its own outline
    return pts[ConvexHull(pts).vertices]


def s_region(wht, frame):
    """The S_REGION value of a drizzled product: ``'POLYGON ICRS ra dec …'`` per region."""
    labels, count = _regions(np.asarray(wht) > 0)
    polygons = []
    for index in range(1, count + 1):
        xy = _hull_of_rows(labels == index)
        ra, dec = frame.all_pix2world(xy[:, 0], xy[:, 1], 0)
        ra, dec = np.append(ra, ra[0]), np.append(dec, dec[0])
        polygons.append("POLYGON ICRS " + " ".join(f"{a!r} {d!r}" for a, d in zip(ra.tolist(), dec.tolist())))
    return " ".join(polygons)


def filter_value(headers, level):
    """FILTER: 'detection' for a total product; for ACS the non-clear FILTER1/FILTER2 joined
    by ';' (or 'clear'); otherwise the exposures' FILTER."""
    if level == "total":
        return "detection"
    first = headers[0]
    if "FILTER1" in first or "FILTER2" in first:
        names = [str(first.get(k, "")).strip() for k in ("FILTER1", "FILTER2")]
        names = [n for n in names if n and not n.upper().startswith("CLEAR")]
        return ";".join(names) if names else "clear"
    return str(first.get("FILTER", "")).strip()


def photometry_cards(headers):
    """The PHOT* cards of a product from its inputs' values (one mapping per input, each with
    the (SCI,1) value of a keyword, else the PRIMARY one): PHOTMODE of the first input that has
    it, the mean of the others over the inputs that have them; absent everywhere, not written."""
    cards = {}
    for name in PHOT_KEYWORDS:
        values = [h[name] for h in headers if name in h and h[name] is not None]
        if not values:
            continue
        if name == "PHOTMODE":
            cards.update([_card(name, str(values[0]).strip())])
        else:
            cards.update([_card(name, float(np.mean([float(v) for v in values])))])
    return cards


def _ipppssoo(rootname):
    return str(rootname).strip().lower()[:8]


def hdrtab_with_hapexpname(hdrtab, exposure_names, product="product"):
    """HAP's HDRTAB: the rows and columns of ``hdrtab`` (a BinTableHDU, one row per input chip
    with its ROOTNAME) and a last column HAPEXPNAME, the exposure-product basename of each row's
    input. ``exposure_names``: {ipppssoo or rootname: basename}. A row whose exposure has no
    name is an InputError naming ``product``."""
    names = {_ipppssoo(k): str(v) for k, v in exposure_names.items()}
    columns = [c for c in hdrtab.columns if c.name.upper() != HAPEXPNAME]
    if "ROOTNAME" not in hdrtab.columns.names:
        raise InputError(product, "HDRTAB has no ROOTNAME column to name its exposures by")
    roots = [_ipppssoo(r) for r in hdrtab.data["ROOTNAME"]]
    unnamed = sorted(set(roots) - set(names))
    if unnamed:
        raise InputError(product, f"HDRTAB rows of {', '.join(unnamed)}: no exposure product of that "
                         f"exposure (known: {', '.join(sorted(names)) or 'none'})")
    values = [names[r] for r in roots]
    width = max([HAPEXPNAME_MIN_WIDTH] + [len(v) for v in values])
    column = fits.Column(name=HAPEXPNAME, format=f"{width}A", array=np.array(values, dtype=f"U{width}"))
    table = fits.BinTableHDU.from_columns(fits.ColDefs(columns) + fits.ColDefs([column]), name="HDRTAB")
    table.header["EXTVER"] = hdrtab.header.get("EXTVER", 1)
    return table


def _iso(mjd):
    return Time(float(mjd), format="mjd", scale="utc").isot


def hap_keywords(level, frame, wht, headers, *, nchip=None, exptime=None, product_name=None,
                 drizpars=None, footprint=None):
    """The HAP cards of one product. ``level``: exposure, filter, total or layer (MVM);
    ``headers``: one mapping per input exposure with ROOTNAME, EXPSTART, EXPEND, the filter
    keywords and the PHOT* keywords it has ((SCI,1) values first, see ``photometry_cards``);
    ``nchip``/``exptime``: ``footprint_maps`` (filter, total and layer products), or
    ``footprint``: the ``footprint_keywords`` made of them already (the maps can then be gone
    before S_REGION's own frame-sized masks are made); ``product_name``: the product's file name
    (DRIZPARS defaults to ``<name>_trl.txt``)."""
    if level not in HAPLEVEL:
        raise InputError(f"level={level!r}", f"must be one of {', '.join(HAPLEVEL)}")
    if not headers:
        raise InputError(str(product_name or "product"), "no input exposure")
    rootnames = list(dict.fromkeys(str(h["ROOTNAME"]).strip().lower() for h in headers))
    primary = dict([_card("HAPLEVEL", HAPLEVEL[level])])
    if level == "exposure":
        primary.update([_card("IPPPSSOO", ";".join(rootnames))])
    primary.update([
        _card("FILTER", filter_value(headers, level)),
        _card("NUMEXP", len(rootnames)),
        _card("DATE-BEG", _iso(min(float(h["EXPSTART"]) for h in headers))),
        _card("DATE-END", _iso(max(float(h["EXPEND"]) for h in headers))),
    ])
    if level != "exposure" and footprint is not None:
        primary.update(footprint)
    elif level != "exposure" and nchip is not None:
        primary.update(footprint_keywords(nchip, exptime, wht))
    if drizpars is None and product_name:
        drizpars = trailer_filename(str(product_name).rsplit("_", 1)[0])
    if drizpars:
        primary.update([_card("DRIZPARS", drizpars)])
    region = s_region(wht, frame)
    # HAP leaves S_REGION out of a product without data
    sci = dict([_card("S_REGION", region)]) if region else {}
    sci.update(photometry_cards(headers))
    return {"PRIMARY": primary, "SCI": sci}
