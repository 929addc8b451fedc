"""WCS layer: full-distortion chip WCSs (stwcs), output frames (SPEC §1.2) and pixel maps.

A *frame* is an undistorted TAN ``astropy.wcs.WCS`` with ``pixel_shape`` set; frames travel
between jobs as FITS headers (``frame_to_header``/``frame_from_header``).
"""
import warnings

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits

from snakedrizzle.errors import InputError



def _hstwcs():
    """stwcs' HSTWCS, imported when a chip WCS is first needed: the workflow's main process
    imports this package to plan the DAG and never needs stwcs (0.3 s of start-up)."""
    from stwcs.wcsutil import HSTWCS

    return HSTWCS

def chip_wcs(path, extver, coeffs=True, headerlet=None, wcskey=""):
    """The chip's HSTWCS with SIP + NPOL + D2IM; ``coeffs=False`` keeps only the linear part.
    ``headerlet``: a headerlet file (snakedrizzle.align) whose WCS of this chip replaces the
    exposure's (the aligned WCS); the distortion lookup tables still come from the exposure.
    ``wcskey``: AstroDrizzle's ``wcskey``, an alternate WCS of the chip (a key A-Z, or the
    WCSNAME of one) read in place of the primary; the distortion stays the chip's own, as after
    DrizzlePac's restore of that WCS into the primary."""
    try:
        if headerlet:
            from snakedrizzle.align.headerlet import aligned_chip_wcs
            w = aligned_chip_wcs(path, extver, headerlet)
        else:
            with fits.open(path, memmap=True) as hdul:
                key = alternate_key(path, extver, hdul["SCI", extver].header, wcskey)
                w = _hstwcs()(hdul, ext=("SCI", extver), wcskey=key)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(path, f"SCI,{extver} has no usable celestial WCS ({exc})") from None
    if not w.wcs.ctype[0].startswith("RA"):
        raise InputError(path, f"SCI,{extver} has no celestial WCS (CTYPE1={w.wcs.ctype[0]!r})")
    if not coeffs:
        w.sip = w.cpdis1 = w.cpdis2 = w.det2im1 = w.det2im2 = None
    return w


def alternate_key(path, extver, header, wcskey):
    """The one-letter key of the alternate WCS ``wcskey`` names in a chip's header: ' ' (the
    primary) when blank, the letter itself (either case), else the key whose WCSNAME it is.
    InputError naming the file and extension when the header has no such WCS."""
    from stwcs.wcsutil import altwcs

    wanted = (wcskey or "").strip()
    if not wanted:
        return " "
    names = {k: str(n).strip() for k, n in altwcs.wcsnames(header).items()}
    if len(wanted) == 1 and wanted.isalpha():
        key = wanted.upper()
        if key not in altwcs.wcskeys(header):
            raise InputError(path, f"SCI,{extver}: no alternate WCS with key {key!r} (wcskey); "
                             f"the header has {_describe_wcss(names)}")
        return key
    keys = [k for k, n in names.items() if n == wanted]
    if not keys:
        raise InputError(path, f"SCI,{extver}: no WCS named {wanted!r} (wcskey); the header has "
                         f"{_describe_wcss(names)}")
    return keys[0]


def _describe_wcss(names):
    shown = [f"{'primary' if k == ' ' else k}={n!r}" for k, n in sorted(names.items())]
    return ", ".join(shown) or "no named WCS"


def linear_pscale(w):
    """Pixel scale (arcsec) of the undistorted chip: IDCSCALE when known (DrizzlePac's wcslin_pscale)."""
    idcscale = getattr(w, "idcscale", None)
    if idcscale:
        return float(idcscale)
    return float(np.sqrt(abs(np.linalg.det(w.wcs.cd))) * 3600.0)


def frame_pscale(frame):
    return float(np.sqrt(abs(np.linalg.det(frame.wcs.cd))) * 3600.0)


def frame_orientat(frame):
    """Position angle of the frame's +Y axis, degrees East of North."""
    cd = frame.wcs.cd
    return float(np.rad2deg(np.arctan2(cd[0, 1], cd[1, 1])))


def _perfect_cd(pscale, orientat):
    o = np.deg2rad(orientat)
    return pscale / 3600.0 * np.array([[-np.cos(o), np.sin(o)], [np.sin(o), np.cos(o)]])


def default_frame(chip_wcs_list):
    """DrizzlePac's default output frame: stwcs ``output_wcs`` over all chips, then a perfect CD
    from the frame's own scale and ORIENTAT (SPEC §1.2)."""
    from stwcs.distortion import utils as stwcs_utils

    out = stwcs_utils.output_wcs(list(chip_wcs_list), undistort=True)
    frame = pywcs.WCS(naxis=2)
    frame.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    frame.wcs.crval = out.wcs.crval
    frame.wcs.crpix = out.wcs.crpix
    frame.wcs.cd = _perfect_cd(out.pscale, out.orientat)
    frame.pixel_shape = tuple(int(n) for n in out.pixel_shape)
    frame.wcs.set()
    return frame


def _rotated_range(corners, angle):
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    c = corners @ rot
    return c[:, 0].min(), c[:, 0].max(), c[:, 1].min(), c[:, 1].max()


def custom_frame(base, ra=None, dec=None, scale=None, rot=None, outnx=None, outny=None,
                 crpix1=None, crpix2=None):
    """Apply AstroDrizzle's ``final_*``/``driz_sep_*`` frame parameters to ``base`` (SPEC §1.2)."""
    frame = base.deepcopy()
    pscale, orientat = frame_pscale(frame), frame_orientat(frame)
    ratio = None
    if scale is not None and not np.isclose(scale, pscale, rtol=1e-8, atol=0):
        ratio = pscale / scale
    delta_rot = None if rot is None or orientat - rot == 0 else orientat - rot
    crpix = (crpix1, crpix2) if crpix1 is not None and crpix2 is not None else None
    shape = None
    if outnx is not None and outny is not None:
        shape = (int(np.floor(outnx + 0.5)), int(np.floor(outny + 0.5)))
        if min(shape) < 1:
            raise InputError("final_outnx/final_outny", f"output size {shape} is smaller than 1")
        if crpix is None:
            crpix = ((shape[0] + 1.0) / 2.0, (shape[1] + 1.0) / 2.0)
    else:
        nx, ny = frame.pixel_shape
        if delta_rot is None and ratio is not None:
            shape = (max(1, int(np.ceil(ratio * nx))), max(1, int(np.ceil(ratio * ny))))
            if crpix is None:
                crpix = tuple(1.0 + ratio * (frame.wcs.crpix - 1.0))
        elif delta_rot is not None:
            corners = np.array([[0.5, 0.5], [nx + 0.5, 0.5], [0.5, ny + 0.5], [nx + 0.5, ny + 0.5]]) - frame.wcs.crpix
            if ratio is not None:
                corners *= ratio
            xmin, xmax, ymin, ymax = _rotated_range(corners, delta_rot)
            shape = (max(1, int(np.ceil(xmax - xmin))), max(1, int(np.ceil(ymax - ymin))))
            if crpix is None:
                crpix = (-xmin + 0.5, -ymin + 0.5)
    if ratio is not None:
        frame.wcs.cd = frame.wcs.cd / ratio
    if delta_rot is not None:
        t = np.deg2rad(delta_rot)
        frame.wcs.cd = frame.wcs.cd @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    if shape is not None:
        frame.pixel_shape = shape
    if crpix is not None:
        frame.wcs.crpix = np.asarray(crpix, dtype=float)
    if ra is not None and dec is not None:
        frame.wcs.crval = [float(ra), float(dec)]
    frame.wcs.set()
    return frame


def frame_from_image(spec):
    """A frame from a reference image ``file.fits`` or ``file.fits[ext]`` (first extension with a CD)."""
    from snakedrizzle.io.extspec import parse_extension

    path, ext = parse_extension(spec)
    try:
        with fits.open(path) as hdul:
            if ext is None:
                ext = next(i for i, h in enumerate(hdul) if "CD1_1" in h.header or "CDELT1" in h.header)
            hdr = hdul[ext].header
            w = _hstwcs()(hdul, ext=ext)
    except StopIteration:
        raise InputError(path, "no extension with a celestial WCS to use as the output frame") from None
    except Exception as exc:
        raise InputError(path, f"cannot read a WCS from it ({exc})") from None
    frame = pywcs.WCS(naxis=2)
    frame.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    frame.wcs.crval, frame.wcs.crpix = w.wcs.crval, w.wcs.crpix
    frame.wcs.cd = w.wcs.cd if w.wcs.has_cd() else np.diag(w.wcs.cdelt)
    # A header-only frame file (frame_to_header, e.g. the HAP meta-WCS) keeps its size in FRAMENX/NY.
    frame.pixel_shape = (int(hdr.get("FRAMENX", hdr.get("NAXIS1"))), int(hdr.get("FRAMENY", hdr.get("NAXIS2"))))
    frame.wcs.set()
    return frame


def frame_to_header(frame):
    hdr = frame.to_header()
    for key in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
        hdr.remove(key, ignore_missing=True)
    for i in (1, 2):
        for j in (1, 2):
            hdr[f"CD{i}_{j}"] = float(frame.wcs.cd[i - 1, j - 1])
    hdr["NAXIS1"], hdr["NAXIS2"] = frame.pixel_shape
    # Header-only files lose NAXISn, so the frame size is kept twice.
    hdr["FRAMENX"], hdr["FRAMENY"] = frame.pixel_shape
    hdr["ORIENTAT"] = (frame_orientat(frame), "position angle of image y axis (deg. e of n)")
    return hdr


def frame_from_header(hdr):
    with warnings.catch_warnings():
        # a frame file is a header without data (NAXIS 0): its shape is FRAMENX/FRAMENY
        warnings.simplefilter("ignore", pywcs.FITSFixedWarning)
        frame = pywcs.WCS(hdr, naxis=2, relax=True)
    frame.pixel_shape = (int(hdr.get("FRAMENX", hdr.get("NAXIS1"))), int(hdr.get("FRAMENY", hdr.get("NAXIS2"))))
    return frame


def subframe(frame, x0, y0, nx, ny):
    """The window of ``frame`` starting at 0-based pixel (x0, y0): same projection, CRPIX moved."""
    sub = frame.deepcopy()
    sub.wcs.crpix = frame.wcs.crpix - np.array([x0, y0], dtype=float)
    sub.pixel_shape = (int(nx), int(ny))
    sub.wcs.set()
    return sub


def _pixmap_nodes(src_wcs, dst_frame, shape, step):
    """The exactly computed points of a pixel map: 0-based (x, y) in ``dst_frame`` of the 1-based
    source pixels 0, s, 2s, ... up to the first node at or past the edge; array (ngy, ngx, 2)."""
    ny, nx = shape
    gx = step * np.arange(-(-nx // step) + 1, dtype=float)
    gy = step * np.arange(-(-ny // step) + 1, dtype=float)
    xx, yy = np.meshgrid(gx, gy)
    ra, dec = src_wcs.all_pix2world(xx.ravel(), yy.ravel(), 1)
    ox, oy = dst_frame.wcs_world2pix(ra, dec, 0)
    return np.dstack([ox.reshape(xx.shape), oy.reshape(xx.shape)])


def _node_index(n_pixels, first, step, n_nodes):
    """Node interval and weight of the 0-based pixels first..n_pixels-1 (1-based centre / step)."""
    f = np.arange(first + 1, n_pixels + 1) / step
    i = np.minimum(np.floor(f).astype(np.intp), n_nodes - 2)
    return i, f - i


def pixmap(src_wcs, dst_frame, shape, stepsize=10, rows=None):
    """Map every pixel of an image of ``shape`` (ny, nx) with ``src_wcs`` into 0-based pixel
    coordinates of ``dst_frame``: array (ny, nx, 2) of (x, y); only rows ``rows=(r0, r1)`` if given.

    As DrizzlePac does, the full distortion is evaluated exactly only on a grid every
    ``stepsize`` pixels and interpolated bilinearly in between; ``stepsize=0`` or 1 evaluates
    every pixel. The interpolation is separable: along x for each node row, then one multiply-add
    per pixel between node rows, written block by block into the result.
    """
    ny, nx = shape
    r0, r1 = rows or (0, ny)
    step = int(stepsize) if stepsize and stepsize > 1 else 1
    if step == 1:
        xx, yy = np.meshgrid(np.arange(1, nx + 1, dtype=float), np.arange(r0 + 1, r1 + 1, dtype=float))
        ra, dec = src_wcs.all_pix2world(xx.ravel(), yy.ravel(), 1)
        ox, oy = dst_frame.wcs_world2pix(ra, dec, 0)
        return np.dstack([ox.reshape(xx.shape), oy.reshape(xx.shape)])
    nodes = _pixmap_nodes(src_wcs, dst_frame, shape, step)
    ix, wx = _node_index(nx, 0, step, nodes.shape[1])
    along_x = nodes[:, ix] + wx[None, :, None] * (nodes[:, ix + 1] - nodes[:, ix])
    iy, wy = _node_index(r1, r0, step, nodes.shape[0])
    out = np.empty((r1 - r0, nx, 2), dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, iy[1:] != iy[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], iy.size]):
        k = iy[a]
        block = out[a:b]
        np.multiply(wy[a:b, None, None], along_x[k + 1] - along_x[k], out=block)
        block += along_x[k]
    return out


def rows_reaching(src_wcs, dst_frame, shape, stepsize, y0, y1):
    """(r0, r1): the source rows whose mapped centres can fall in ``dst_frame`` rows [y0, y1)
    (from the exact grid: a bilinear value lies between its nodes), or None if none can."""
    ny = shape[0]
    step = int(stepsize) if stepsize and stepsize > 1 else 1
    if step == 1:
        return 0, ny
    ys = _pixmap_nodes(src_wcs, dst_frame, shape, step)[..., 1]
    lo = np.minimum(ys[:-1], ys[1:]).min(axis=1)  # per node interval (rows between node k, k+1)
    hi = np.maximum(ys[:-1], ys[1:]).max(axis=1)
    hit = np.flatnonzero((hi >= y0) & (lo < y1))
    if hit.size == 0:
        return None
    iy, _ = _node_index(ny, 0, step, ys.shape[0])
    inside = np.flatnonzero((iy >= hit.min()) & (iy <= hit.max()))
    return int(inside[0]), int(inside[-1]) + 1


def footprint_bounds(src_wcs, dst_frame, shape, step=16):
    """Bounding box (xmin, xmax, ymin, ymax, 0-based) in ``dst_frame`` of the edge pixels of an image."""
    ny, nx = shape
    xs = np.unique(np.r_[np.arange(0.5, nx + 0.5, step), nx + 0.5])
    ys = np.unique(np.r_[np.arange(0.5, ny + 0.5, step), ny + 0.5])
    ex = np.r_[xs, xs, np.full(ys.size, 0.5), np.full(ys.size, nx + 0.5)]
    ey = np.r_[np.full(xs.size, 0.5), np.full(xs.size, ny + 0.5), ys, ys]
    ra, dec = src_wcs.all_pix2world(ex, ey, 1)
    ox, oy = dst_frame.wcs_world2pix(ra, dec, 0)
    return ox.min(), ox.max(), oy.min(), oy.max()
