"""TweakReg's ``exclusions``: which pixels of a chip source finding may use, from a DS9 region
file or a FITS mask.

FITS mask: the first image HDU with the chip's shape; zero pixels are excluded.

DS9 region file: regions apply in file order, an include region making its pixels usable and an
exclude region (``-circle(...)``) making them unusable. The chip starts unusable, except when
every region is an exclude region: then it starts usable, as if a whole-chip include region came
first (TweakReg's rule, so a file of exclusions alone means "everything but these"). A pixel
belongs to a shape when its centre does; pixel ``[i, j]`` has FITS coordinates ``(j + 1, i + 1)``.

Supported shapes: circle, ellipse, box, polygon, annulus, in image/physical coordinates (1-based
pixels) or in sky coordinates (degrees or sexagesimal; sizes in degrees or with ``"``/``'``)
through the chip's WCS, read and converted by ``snakedrizzle.io.ds9``. Display-only shapes
(ruler, compass, projection, text, point) are skipped, other shapes with a warning.
"""
import math
import os

import numpy as np
from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.ds9 import RegionError, read_regions, sky_to_image

__all__ = ["exclusion_mask"]

FITS_SUFFIXES = (".fits", ".fit", ".fts")
MASK_SHAPES = ("circle", "ellipse", "box", "polygon", "annulus")


def exclusion_mask(path, shape, wcs=None):
    """Boolean mask of a chip of ``shape`` (ny, nx): True where source finding may look.

    ``path`` is a FITS mask (by extension or FITS signature) or a DS9 region file; ``wcs`` (astropy
    WCS or stwcs HSTWCS of the chip) is needed only for regions in sky coordinates.
    """
    path = os.fspath(path)
    shape = tuple(int(n) for n in shape)
    if not os.path.isfile(path):
        raise InputError(path, "exclusions file not found")
    if _is_fits(path):
        return _fits_mask(path, shape)
    return _region_mask(path, shape, wcs)


def _is_fits(path):
    if path.lower().removesuffix(".gz").endswith(FITS_SUFFIXES):
        return True
    with open(path, "rb") as f:
        return f.read(9) == b"SIMPLE  ="


def _fits_mask(path, shape):
    try:
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.is_image and hdu.shape == shape:
                    return np.asarray(hdu.data) != 0
            found = [hdu.shape for hdu in hdul if hdu.is_image and hdu.shape]
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read the FITS mask ({err})") from None
    raise InputError(path, f"no image HDU of the chip's shape {shape} (image shapes: {found})")


def _region_mask(path, shape, wcs):
    shapes = _in_pixels(_read_shapes(path), wcs, path)
    mask = np.full(shape, all(s.exclude for s in shapes), dtype=bool)
    for s in shapes:
        _paint(mask, s)
    return mask


def _read_shapes(path):
    """The file's shapes that cover pixels; errors name the file, the line in the message."""
    try:
        shapes = read_regions(path, keep=MASK_SHAPES).shapes
    except RegionError as err:
        raise InputError(err.file, f"line {err.line}: {err.problem}") from None
    for s in shapes:
        if s.name in ("ellipse", "box") and len(s.values) > 5:  # annuli: not painted
            raise InputError(path, f"line {s.line}: wrong number of parameters in {s.name}")
    return shapes


def _in_pixels(shapes, wcs, path):
    sky = [s for s in shapes if s.is_sky]
    if sky and wcs is None:
        raise InputError(path, f"line {sky[0].line}: a '{sky[0].system}' region needs the "
                         "chip's WCS and none was given")
    shapes = sky_to_image(shapes, wcs, path)
    for s in shapes:
        if not np.all(np.isfinite(s.values)):
            raise InputError(path, f"line {s.line}: the {s.name} does not give finite pixel "
                             "positions and sizes")
    return shapes


# --------------------------------------------------------------------------------------------
# Painting


def _paint(mask, shape):
    """Mark pixels whose centres are inside ``shape``: usable for include, unusable for exclude.
    Only the shape's bounding window is evaluated, so small regions on big chips stay cheap."""
    xmin, xmax, ymin, ymax = _bounds(shape)
    # pixel centre j + 1 within [min, max]  <=>  ceil(min) - 1 <= j <= floor(max) - 1
    rows = slice(max(math.ceil(ymin) - 1, 0), min(math.floor(ymax), mask.shape[0]))
    cols = slice(max(math.ceil(xmin) - 1, 0), min(math.floor(xmax), mask.shape[1]))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    y = np.arange(rows.start, rows.stop, dtype=float)[:, None] + 1.0
    x = np.arange(cols.start, cols.stop, dtype=float)[None, :] + 1.0
    mask[rows, cols][_inside(shape, x, y)] = not shape.exclude


def _bounds(shape):
    x, y = shape.positions
    if shape.name == "polygon":
        return x.min(), x.max(), y.min(), y.max()
    reach = math.hypot(*shape.sizes) / 2.0 if shape.name == "box" else max(shape.sizes)
    return x[0] - reach, x[0] + reach, y[0] - reach, y[0] + reach


def _inside(shape, x, y):
    """Boolean (len(y), len(x)) grid: is each pixel centre (x, y) inside the shape?"""
    px, py = shape.positions
    if shape.name == "polygon":
        return _in_polygon(px, py, x, y)
    dx, dy = x - px[0], y - py[0]
    if shape.name in ("circle", "annulus"):
        d2 = dx ** 2 + dy ** 2
        inside = d2 <= max(shape.sizes) ** 2
        if shape.name == "annulus":
            inside &= d2 > min(shape.sizes) ** 2  # the inner edge is outside, as for circle then -circle
        return inside
    # ellipse and box: coordinates along the shape's own axes
    cos, sin = math.cos(math.radians(shape.angle)), math.sin(math.radians(shape.angle))
    u, v = dx * cos + dy * sin, dy * cos - dx * sin
    a, b = shape.sizes
    if shape.name == "ellipse":
        return (u * b) ** 2 + (v * a) ** 2 <= (a * b) ** 2  # (u/a)^2 + (v/b)^2 <= 1 without dividing
    return (np.abs(u) <= a / 2.0) & (np.abs(v) <= b / 2.0)


def _in_polygon(px, py, x, y):
    """Even-odd rule: a horizontal ray from the point crosses the outline an odd number of times."""
    inside = np.zeros((y.shape[0], x.shape[1]), dtype=bool)
    for x1, y1, x2, y2 in zip(px, py, np.roll(px, -1), np.roll(py, -1)):
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (y1 > y) != (y2 > y)
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_cross)
    return inside
