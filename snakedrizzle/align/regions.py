"""TweakReg's ``exclusions``: which pixels of a chip source finding may use, from a DS9 region
file or a FITS mask.

FITS mask: the first image HDU with the chip's shape; zero pixels are excluded.

DS9 region file: regions apply in file order, an include region making its pixels usable and an
exclude region (``-circle(...)``) making them unusable. The chip starts unusable, except when
every region is an exclude region: then it starts usable, as if a whole-chip include region came
first (TweakReg's rule, so a file of exclusions alone means "everything but these"). A pixel
belongs to a shape when its centre does; pixel ``[i, j]`` has FITS coordinates ``(j + 1, i + 1)``.

Supported shapes: circle, ellipse, box, polygon, annulus, in image/physical coordinates (1-based
pixels) or in fk5/icrs/fk4/galactic (degrees or sexagesimal; sizes in degrees or with ``"``/``'``)
through the chip's WCS. Display-only shapes (ruler, compass, projection, text, point) are skipped,
other unknown shapes are skipped with a warning.
"""
import logging
import math
import os
import re
from typing import NamedTuple

import numpy as np
from astropy.io import fits

from ..errors import InputError

__all__ = ["exclusion_mask"]

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts")
SKY_SYSTEMS = ("fk5", "icrs", "fk4", "galactic")
IMAGE_SYSTEMS = ("image", "physical")  # physical = image for full-frame HST chips
# Other DS9 systems are refused: reading them as pixels would mask the wrong place silently.
UNSUPPORTED_SYSTEMS = re.compile(r"(linear|amplifier|detector|ecliptic|wcs[a-z]?)")
DISPLAY_SHAPES = ("ruler", "compass", "projection", "text", "point")
SIZE_UNITS = {'"': 1 / 3600.0, "'": 1 / 60.0, "d": 1.0}  # sky size suffix -> degrees

# sign, shape name, then either "(parameters)" plus ignored trailing text, or bare parameters
_SHAPE = re.compile(r"(?P<sign>[+-]?)\s*(?P<name>[a-z]+)\s*"
                    r"(?:\((?P<args>[^)]*)\).*|(?P<bare>[^({]*))", re.IGNORECASE | re.DOTALL)


class Region(NamedTuple):
    """One shape as written: parameter tokens still in the file's coordinate system."""
    name: str
    exclude: bool
    system: str
    tokens: list
    line: int


class Shape(NamedTuple):
    """One shape in 1-based image pixels: vertices (one for centred shapes), sizes, angle (deg)."""
    name: str
    exclude: bool
    x: np.ndarray
    y: np.ndarray
    sizes: list
    angle: float


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
    shapes = [_in_pixels(region, wcs, path) for region in _read_regions(path)]
    mask = np.full(shape, all(s.exclude for s in shapes), dtype=bool)
    for s in shapes:
        _paint(mask, s)
    return mask


# --------------------------------------------------------------------------------------------
# Reading


def _read_regions(path):
    """The file's shapes in order, each with the coordinate system in force where it appears."""
    system, regions = "physical", []  # DS9's default system
    with open(path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            for statement in _statements(line):
                word = statement.lower()
                if word in SKY_SYSTEMS or word in IMAGE_SYSTEMS:
                    system = word
                elif UNSUPPORTED_SYSTEMS.fullmatch(word):
                    raise InputError(path, f"line {number}: coordinate system '{statement}' is not "
                                     f"supported (use one of {', '.join(IMAGE_SYSTEMS + SKY_SYSTEMS)})")
                elif not word.startswith("global"):
                    region = _parse_shape(statement, system, path, number)
                    if region is not None:
                        regions.append(region)
    return regions


def _statements(line):
    """';'-separated statements up to the first '#' (a comment, or a shape's properties).

    Separators inside () and {} do not count: {} holds text labels. Quotes are not tracked
    because inside a shape they are units (2" and 1.5')."""
    parts, start, end, depth = [], 0, len(line), 0
    for i, char in enumerate(line):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif depth == 0 and char in "#;":
            if char == "#":
                end = i
                break
            parts.append(line[start:i])
            start = i + 1
    parts.append(line[start:end])
    return [p.strip() for p in parts if p.strip()]


def _parse_shape(statement, system, path, number):
    """A Region, or None for a shape that marks no pixels."""
    match = _SHAPE.fullmatch(statement)
    if match is None:
        raise InputError(path, f"line {number}: cannot read '{statement}' as a region")
    name = match["name"].lower()
    args = match["args"] if match["args"] is not None else match["bare"]
    tokens = [t for t in re.split(r"[\s,]+", args.strip()) if t]
    # DS9's older point syntax is "circle point x y": a point too.
    if name in DISPLAY_SHAPES or tokens[:1] == ["point"]:
        return None
    if name not in ("circle", "ellipse", "box", "polygon", "annulus"):
        log.warning("%s: line %d: ignoring unsupported region shape '%s'", path, number, name)
        return None
    if not _count_ok(name, len(tokens)):
        raise InputError(path, f"line {number}: wrong number of parameters in '{statement}'")
    return Region(name, match["sign"] == "-", system, tokens, number)


def _count_ok(name, n):
    """Does ``n`` parameters fit the shape? (annulus may list more radii, as DS9 writes it)"""
    return {"circle": n == 3, "ellipse": n in (4, 5), "box": n in (4, 5), "annulus": n >= 4,
            "polygon": n >= 6 and n % 2 == 0}[name]


# --------------------------------------------------------------------------------------------
# Converting to pixels


def _in_pixels(region, wcs, path):
    sky = region.system in SKY_SYSTEMS
    if sky and wcs is None:
        raise InputError(path, f"line {region.line}: a '{region.system}' region needs the chip's "
                         "WCS and none was given")
    tokens, polygon = region.tokens, region.name == "polygon"
    npos = len(tokens) // 2 if polygon else 1
    rest = tokens[2 * npos:]
    if region.name in ("ellipse", "box") and len(rest) == 3:
        rest, angle = rest[:2], rest[2]
    else:
        angle = "0"
    try:
        lon = [_coordinate(t, "x", region.system) for t in tokens[0:2 * npos:2]]
        lat = [_coordinate(t, "y", region.system) for t in tokens[1:2 * npos:2]]
        sizes = [_size(t, sky) for t in rest]
        angle = float(angle)
    except ValueError:
        raise InputError(path, f"line {region.line}: cannot read the parameters of "
                         f"{region.name}({','.join(tokens)})") from None
    if sky:
        shape = _sky_to_pixels(region, wcs, lon, lat, sizes, angle)
    else:
        shape = Shape(region.name, region.exclude, np.array(lon), np.array(lat),
                      [value for value, _ in sizes], angle)
    if not np.all(np.isfinite(np.r_[shape.x, shape.y, shape.sizes, shape.angle])):
        raise InputError(path, f"line {region.line}: {region.name}({','.join(tokens)}) does not "
                         "give finite pixel positions and sizes")
    return shape


def _sky_to_pixels(region, wcs, lon, lat, sizes, angle):
    x, y = _world_to_pixel(wcs, lon, lat, region.system)
    scale, north, parity = _local_frame(wcs, x[0], y[0])
    sizes = [value if in_pixels else value / scale for value, in_pixels in sizes]
    # DS9 sky angles turn from West through North; in pixels that is relative to North's direction.
    return Shape(region.name, region.exclude, x, y, sizes, north - 90.0 + parity * angle)


def _coordinate(token, axis, system):
    """A position: pixels for image systems; degrees, or sexagesimal (RA in hours), for sky ones."""
    try:
        return float(token)
    except ValueError:
        if system not in SKY_SYSTEMS:
            raise
    from astropy import units as u
    from astropy.coordinates import Angle

    hours = axis == "x" and system != "galactic"
    return float(Angle(token, unit=u.hourangle if hours else u.deg).deg)


def _size(token, sky):
    """(value, in_pixels): image sizes are pixels; sky sizes degrees unless suffixed " ' d, or
    i/p (pixels)."""
    unit = token[-1:]
    if unit in ("i", "p"):
        return float(token[:-1]), True
    if not sky:
        return float(token), True
    if unit in SIZE_UNITS:
        return float(token[:-1]) * SIZE_UNITS[unit], False
    return float(token), False


def _world_to_pixel(wcs, lon, lat, system):
    if system in ("fk4", "galactic"):  # to the equatorial frame of HST WCSs (fk5 ~ icrs here)
        from astropy.coordinates import SkyCoord

        sky = SkyCoord(lon, lat, unit="deg", frame=system).icrs
        lon, lat = sky.ra.deg, sky.dec.deg
    # quiet: a region far off a distorted chip gets a best-effort position instead of an error
    x, y = wcs.all_world2pix(np.asarray(lon, float), np.asarray(lat, float), 1, quiet=True)
    return np.atleast_1d(x), np.atleast_1d(y)


def _local_frame(wcs, x, y):
    """At pixel (x, y): degrees per pixel, the pixel-frame angle of North (deg from +x) and the
    parity (+1 when East is clockwise from North in pixels, the usual sky view)."""
    lon, lat = wcs.all_pix2world([x, x + 1.0, x], [y, y, y + 1.0], 1)
    east = ((lon[1:] - lon[0] + 180.0) % 360.0 - 180.0) * math.cos(math.radians(lat[0]))
    jacobian = np.array([east, lat[1:] - lat[0]])  # d(east, north) / d(x, y)
    det = np.linalg.det(jacobian)
    if not np.isfinite(det) or det == 0:
        return math.nan, math.nan, 1  # off the projection: the caller reports it
    to_north = np.linalg.solve(jacobian, [0.0, 1.0])  # pixel step pointing North
    return math.sqrt(abs(det)), math.degrees(math.atan2(to_north[1], to_north[0])), (1 if det < 0 else -1)


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
    if shape.name == "polygon":
        return shape.x.min(), shape.x.max(), shape.y.min(), shape.y.max()
    reach = math.hypot(*shape.sizes) / 2.0 if shape.name == "box" else max(shape.sizes)
    x, y = shape.x[0], shape.y[0]
    return x - reach, x + reach, y - reach, y + reach


def _inside(shape, x, y):
    """Boolean (len(y), len(x)) grid: is each pixel centre (x, y) inside the shape?"""
    if shape.name == "polygon":
        return _in_polygon(shape.x, shape.y, x, y)
    dx, dy = x - shape.x[0], y - shape.y[0]
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
