"""DS9 region files, for ``mapreg`` and TweakReg's ``exclusions``: reading them into shapes, and
moving shapes between the sky and an image's pixels through the image's WCS.

Coordinate systems: fk5 (j2000), icrs, fk4 (b1950), galactic, ecliptic, and image ('physical'
and 'logical' are taken as image: true for full-frame HST images). Other systems are refused:
reading them as pixels would put the shapes in the wrong place silently.

As in DrizzlePac (stregion), sky sizes become pixels with the local pixel scale at the shape's
centre and angles turn with the direction of North there; fk5 and icrs are taken as the same
frame.
"""
import logging
import os
import re
from dataclasses import dataclass, field, replace

import numpy as np

from snakedrizzle.errors import InputError
from snakedrizzle.coords.skytopix import world_to_pixel

__all__ = ["Shape", "RegionFile", "RegionError", "read_regions", "sky_to_image", "image_to_sky"]

log = logging.getLogger(__name__)

SKY_SYSTEMS = {"fk5": "fk5", "j2000": "fk5", "icrs": "icrs", "fk4": "fk4", "b1950": "fk4",
               "galactic": "galactic", "ecliptic": "ecliptic"}
IMAGE_SYSTEMS = {"image", "physical", "logical"}
_UNSUPPORTED_SYSTEMS = re.compile(r"linear|amplifier|detector|wcs[a-z]?")
SHAPES = ("circle", "ellipse", "box", "polygon", "point", "annulus", "line", "text", "vector")
DISPLAY_SHAPES = ("ruler", "compass", "projection", "text", "point")  # they cover no area
_SIZE_UNITS = {'"': 1 / 3600.0, "'": 1 / 60.0, "d": 1.0, "r": np.degrees(1.0)}  # -> degrees

# sign, shape name, then either "(parameters)" plus ignored trailing text, or bare parameters
_SHAPE_RE = re.compile(r"(?P<sign>[+-]?)\s*(?P<name>[a-z]+)\s*"
                       r"(?:\((?P<args>[^)]*)\).*|(?P<bare>[^({]*))", re.IGNORECASE | re.DOTALL)


@dataclass
class Shape:
    """One DS9 shape: arguments as numbers (positions/sizes/angles in degrees for sky shapes,
    pixels for image shapes) with their kinds: 'x', 'y' (a position), 'd' (a size), 'a' (an
    angle), 'p' (a size given in pixels inside a sky shape)."""
    name: str
    system: str
    values: list
    kinds: list
    exclude: bool = False
    comment: str = ""
    line: int = 0

    @property
    def is_sky(self):
        return self.system in SKY_SYSTEMS.values()

    @property
    def positions(self):
        """Arrays of the x (or longitude) and y (or latitude) of every position."""
        kinds, values = np.array(self.kinds), np.array(self.values, dtype=float)
        return values[kinds == "x"], values[kinds == "y"]

    @property
    def sizes(self):
        return [v for v, k in zip(self.values, self.kinds) if k == "d"]

    @property
    def angle(self):
        return self.values[-1] if self.kinds[-1] == "a" else 0.0


@dataclass
class RegionFile:
    path: str
    global_attrs: str = ""
    shapes: list = field(default_factory=list)


class RegionError(InputError):
    """A bad line, named ``file:line``; ``file`` and ``line`` stay apart for callers that name
    the file alone."""

    def __init__(self, file, line, problem):
        self.file, self.line = str(file), line
        super().__init__(f"{file}:{line}", problem)


# --------------------------------------------------------------------------------------------
# Reading


def read_regions(path, keep=None):
    """The global attributes and the shapes of a DS9 region file, in file order, each in the
    coordinate system in force where it appears.

    ``keep=None`` reads every shape of SHAPES and refuses any other. With a collection of shape
    names only those are read: display-only shapes are skipped silently, others with a warning
    (for callers that use regions as areas).
    """
    if not os.path.isfile(path):
        raise InputError(path, "region file not found")
    region, system = RegionFile(path), "image"  # DS9's default is physical
    with open(path, errors="replace") as f:
        for number, line in enumerate(f, 1):
            statements, comment = _split_line(line)
            for statement in statements:
                word = statement.lower()
                if word.startswith("global"):
                    region.global_attrs = statement[6:].strip()
                elif word in SKY_SYSTEMS or word in IMAGE_SYSTEMS:
                    system = SKY_SYSTEMS.get(word, "image")
                elif _UNSUPPORTED_SYSTEMS.fullmatch(word):
                    raise RegionError(path, number, f"coordinate system '{statement}' is not "
                                      "supported (use fk5, icrs, fk4, galactic, ecliptic or image)")
                else:
                    shape = _parse_shape(statement, system, comment, (path, number), keep)
                    region.shapes += [shape] if shape else []
    return region


def _split_line(line):
    """The ';'-separated statements before the first '#', and the text after it (a comment, or
    the properties of the line's shape). Separators inside () and {} do not count ({} holds text
    labels); quotes are not tracked, as inside shapes they are units (2" and 1.5')."""
    cuts, end, depth = [-1], len(line), 0
    for i, char in enumerate(line):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif depth == 0 and char == ";":
            cuts.append(i)
        elif depth == 0 and char == "#":
            end = i
            break
    parts = (line[a + 1:b].strip() for a, b in zip(cuts, cuts[1:] + [end]))
    return [p for p in parts if p], line[end + 1:].strip()


def _parse_shape(statement, system, comment, where, keep):
    """A Shape, or None for a shape ``keep`` leaves out."""
    match = _SHAPE_RE.fullmatch(statement)
    if match is None:
        raise RegionError(*where, f"cannot read '{statement}' as a region")
    name = match["name"].lower()
    args = match["args"] if match["args"] is not None else match["bare"]
    tokens = [t for t in re.split(r"[\s,]+", args.strip()) if t]
    if tokens[:1] == ["point"]:  # DS9's older point syntax: "circle point x y"
        name, tokens = "point", tokens[1:]
    if keep is not None and name not in keep:
        if name not in DISPLAY_SHAPES:
            log.warning("%s: line %d: ignoring unsupported region shape '%s'", *where, name)
        return None
    if name not in SHAPES:
        raise RegionError(*where, f"unsupported region '{name}' (supported: {', '.join(SHAPES)})")
    kinds = _kinds(name, len(tokens))
    if kinds is None:
        raise RegionError(*where, f"wrong number of parameters in '{statement}'")
    values, kinds = _values(name, tokens, kinds, system, where)
    return Shape(name, system, values, kinds, match["sign"] == "-", comment, where[1])


def _kinds(name, n):
    """Argument kinds of a DS9 shape with ``n`` arguments; None when ``n`` does not fit."""
    fixed = {"circle": "xyd", "point": "xy", "line": "xyxy", "text": "xy", "vector": "xyda"}
    if name in fixed:
        return list(fixed[name]) if n == len(fixed[name]) else None
    if name == "polygon":
        return list("xy") * (n // 2) if n >= 6 and n % 2 == 0 else None
    if n < 4:
        return None
    if name == "annulus":  # DS9 may list more radii
        return list("xy") + ["d"] * (n - 2)
    # ellipse and box, also as annuli with several sizes: an odd count ends with the angle
    return list("xy") + ["d"] * (n - 2 - n % 2) + ["a"] * (n % 2)


def _values(name, tokens, kinds, system, where):
    try:
        pairs = [_value(token, kind, system) for token, kind in zip(tokens, kinds)]
    except ValueError:
        problem = f"cannot read the parameters of {name}({','.join(tokens)})"
        raise RegionError(*where, problem) from None
    return [v for v, _ in pairs], [k for _, k in pairs]


def _value(token, kind, system):
    """(number, kind): sky positions in degrees (sexagesimal RA in hours), sky sizes in degrees
    unless marked, angles in degrees; image shapes in pixels."""
    sky = system in SKY_SYSTEMS.values()
    if sky and kind in "xy" and re.search(r"[:hms]", token):
        from astropy import units as u
        from astropy.coordinates import Angle

        hours = kind == "x" and system in ("fk5", "icrs", "fk4")
        return Angle(token, unit=u.hourangle if hours else u.deg).deg, kind
    if sky and kind == "d":
        return _sky_size(token)
    return float(token.rstrip("dip")), kind


def _sky_size(token):
    """(value, kind): degrees from " ' d r suffixes (or none), kind 'p' for i/p (pixels)."""
    if token[-1] in _SIZE_UNITS:
        return float(token[:-1]) * _SIZE_UNITS[token[-1]], "d"
    if token[-1] in "ip":
        return float(token[:-1]), "p"
    return float(token), "d"


# --------------------------------------------------------------------------------------------
# Converting


def sky_to_image(shapes, wcs, label):
    """Shapes in image coordinates of ``wcs``, in the given order: sky shapes converted (one
    vectorised inversion for all their positions), image shapes as they are."""
    sky = _to_fk5([s for s in shapes if s.is_sky])
    if not sky:
        return list(shapes)
    lon, lat = (np.concatenate(v) for v in zip(*(s.positions for s in sky)))
    xs, ys = world_to_pixel(wcs, lon, lat, label=label)
    moved = iter(_relocate(sky, wcs, (xs, ys), (xs, ys), "image", _to_pixels))
    return [next(moved) if s.is_sky else s for s in shapes]


def image_to_sky(shapes, wcs):
    """Image shapes of a reference image -> fk5 shapes (the inverse of sky_to_image)."""
    if not shapes:
        return []
    xs, ys = (np.concatenate(v) for v in zip(*(s.positions for s in shapes)))
    lon, lat = wcs.all_pix2world(xs, ys, 1)
    return _relocate(shapes, wcs, (xs, ys), (lon, lat), "fk5", _to_sky)


def _relocate(shapes, wcs, pixels, new, system, change):
    """Shapes with their positions replaced by ``new`` (flat x and y arrays in shape order) and
    each size and angle changed by ``change(value, kind, scale, north)``, with the local frame at
    the shape's reference position among the flat ``pixels``."""
    refs = _reference_indices(shapes)
    scales, norths = _local_frame(wcs, pixels[0][refs], pixels[1][refs])
    out, start = [], 0
    for shape, scale, north in zip(shapes, scales, norths):
        n = shape.kinds.count("x")
        moved = _with_positions(shape, new[0][start:start + n], new[1][start:start + n], system)
        pairs = [change(v, k, scale, north) for v, k in zip(moved.values, moved.kinds)]
        moved.values, moved.kinds = [v for v, _ in pairs], [k for _, k in pairs]
        out.append(moved)
        start += n
    return out


def _to_pixels(value, kind, scale, north):
    """A sky size (deg) or angle (from West through North) in the pixel frame."""
    if kind == "d":
        return value / scale, kind
    if kind == "a":
        return value + north - 90.0, kind
    return value, "d" if kind == "p" else kind  # sizes given in pixels stay as they are


def _to_sky(value, kind, scale, north):
    if kind == "d":
        return value * scale, kind
    if kind == "a":
        return value - north + 90.0, kind
    return value, kind


def _to_fk5(shapes):
    """Positions of galactic/fk4/ecliptic shapes re-expressed in fk5 (fk5 and icrs as is)."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    out = []
    for shape in shapes:
        if shape.system in ("fk5", "icrs"):
            out.append(shape)
            continue
        lon, lat = shape.positions
        frame = {"ecliptic": "geocentrictrueecliptic"}.get(shape.system, shape.system)
        c = SkyCoord(lon * u.deg, lat * u.deg, frame=frame).transform_to("fk5")
        out.append(_with_positions(shape, c.ra.deg, c.dec.deg, system="fk5"))
    return out


def _with_positions(shape, xs, ys, system):
    values, ix, iy = list(shape.values), iter(xs), iter(ys)
    for i, kind in enumerate(shape.kinds):
        if kind == "x":
            values[i] = float(next(ix))
        elif kind == "y":
            values[i] = float(next(iy))
    return replace(shape, values=values, system=system)


def _reference_indices(shapes):
    """Index (into the flat position list) of the position each shape's sizes refer to: the
    last one before them (the centre), as stregion does."""
    refs, start = [], 0
    for shape in shapes:
        before = shape.kinds[: next((i for i, k in enumerate(shape.kinds) if k in "dpa"),
                                    len(shape.kinds))]
        refs.append(start + max(before.count("x") - 1, 0))
        start += shape.kinds.count("x")
    return np.array(refs, dtype=int)


def _local_frame(wcs, x0, y0):
    """Pixel scale (deg/px) and the angle of North (deg from +x) at pixel positions, from
    finite differences of the full distortion model, as stregion estimates them."""
    lon0, lat0 = wcs.all_pix2world(x0, y0, 1)
    coslat = np.cos(np.radians(lat0))
    steps = []
    for dx, dy in ((1.0, 0.0), (0.0, 1.0)):
        lon, lat = wcs.all_pix2world(x0 + dx, y0 + dy, 1)
        dlon = ((lon - lon0 + 180.0) % 360.0 - 180.0) * coslat
        steps.append(np.hypot(dlon, lat - lat0))
    cdelt = np.sqrt(steps[0] * steps[1])
    xn, yn = world_to_pixel(wcs, lon0, lat0 + cdelt)
    north = np.degrees(np.arctan2(yn - y0, xn - x0))
    return cdelt, north
