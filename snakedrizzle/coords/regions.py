"""Regions (astropy ``regions`` objects) moved between the sky and an image's pixels through the
image's full WCS, as DrizzlePac (stregion) moves them for mapreg and TweakReg's exclusions:
positions through the full distortion model, sizes with the local pixel scale at the shape's
centre (geometric mean of the x and y steps) and angles turned with the direction of North
there. fk5 and icrs are taken as the same frame; galactic, fk4 and ecliptic go through fk5.

Not ``SkyRegion.to_pixel``: regions 0.12 maps sizes through the local Jacobian's singular
values, which on ACS/WFC's skewed pixels differs from DrizzlePac by up to 3% in size and 1
degree in angle, and it calls ``world_to_pixel`` with scalars, which stwcs's HSTWCS refuses.
"""
import numpy as np
import regions as regions_package
from astropy import units as u
from astropy.coordinates import SkyCoord
from regions import PixCoord, SkyRegion

from snakedrizzle.coords.distortion import world_to_pixel

__all__ = ["sky_to_pixel", "pixel_to_sky"]

_SIZES = ("radius", "inner_radius", "outer_radius", "width", "height", "inner_width",
          "outer_width", "inner_height", "outer_height")


def sky_to_pixel(regions, wcs, label="input"):
    """Pixel regions of ``wcs`` (0-based, as regions counts) in the given order: sky regions
    converted (one vectorised inversion for all their positions), pixel regions as they are."""
    sky = [r for r in regions if isinstance(r, SkyRegion)]
    if not sky:
        return list(regions)
    lon, lat, counts = _positions(sky, _fk5_lon_lat)
    x, y = world_to_pixel(wcs, lon, lat, label=label)
    scale, north = _local_frame(wcs, x, y, counts)

    def change(name, value, scale, north):
        if name in _SIZES:
            return value.to_value(u.deg) / scale
        return u.Quantity(value.to_value(u.deg) + north - 90.0, u.deg) if name == "angle" else value

    moved = iter(_rebuild(sky, (x - 1.0, y - 1.0), scale, north, counts, change, _pixcoord,
                          "SkyRegion", "PixelRegion"))
    return [next(moved) if isinstance(r, SkyRegion) else r for r in regions]


def pixel_to_sky(regions, wcs):
    """fk5 sky regions of pixel regions of ``wcs`` (the inverse of :func:`sky_to_pixel`)."""
    if not regions:
        return []
    x, y, counts = _positions(regions, lambda c: (np.atleast_1d(c.x) + 1.0, np.atleast_1d(c.y) + 1.0))
    lon, lat = wcs.all_pix2world(x, y, 1)
    scale, north = _local_frame(wcs, x, y, counts)

    def change(name, value, scale, north):
        if name in _SIZES:
            return u.Quantity(value * scale, u.deg)
        return u.Quantity(value.to_value(u.deg) - north + 90.0, u.deg) if name == "angle" else value

    return _rebuild(regions, (lon, lat), scale, north, counts, change,
                    lambda a, b: SkyCoord(a * u.deg, b * u.deg, frame="fk5"),
                    "PixelRegion", "SkyRegion")


def _coordinates(region):
    return [n for n in region._params if isinstance(getattr(region, n), (SkyCoord, PixCoord))]


def _positions(regions, lon_lat):
    """Flat arrays of every region's positions (centre, vertices, line ends) and their counts."""
    xs, ys, counts = [], [], []
    for region in regions:
        pairs = [lon_lat(getattr(region, n)) for n in _coordinates(region)]
        xs += [a for a, _ in pairs]
        ys += [b for _, b in pairs]
        counts.append(sum(len(a) for a, _ in pairs))
    return np.concatenate(xs), np.concatenate(ys), counts


def _fk5_lon_lat(coord):
    if coord.frame.name not in ("fk5", "icrs"):
        coord = coord.transform_to("fk5")
    return (np.atleast_1d(coord.spherical.lon.deg).astype(float),
            np.atleast_1d(coord.spherical.lat.deg).astype(float))


def _pixcoord(x, y):
    return PixCoord(x, y)


def _rebuild(regions, new, scales, norths, counts, change, make_coord, old_kind, new_kind):
    """Regions of the other kind: positions from the flat ``new`` arrays, sizes and angles
    through ``change(name, value, scale, north)`` with the region's local frame."""
    out, start = [], 0
    for region, scale, north, count in zip(regions, scales, norths, counts):
        values, at = [], start
        for name in region._params:
            value = getattr(region, name)
            if isinstance(value, (SkyCoord, PixCoord)):
                n = 1 if value.isscalar else len(value)
                a, b = new[0][at:at + n], new[1][at:at + n]
                value = make_coord(float(a[0]), float(b[0])) if value.isscalar else make_coord(a, b)
                at += n
            else:
                value = change(name, value, scale, north)
            values.append(value)
        cls = getattr(regions_package, type(region).__name__.replace(old_kind, new_kind))
        out.append(cls(*values, meta=region.meta.copy(), visual=region.visual.copy()))
        start += count
    return out


def _local_frame(wcs, x, y, counts):
    """Pixel scale (deg/px) and the angle of North (deg from +x) at each region's first
    position (1-based pixels), from finite differences of the full distortion model, as
    stregion estimates them."""
    first = np.cumsum([0] + counts[:-1]).astype(int)
    x0, y0 = x[first], y[first]
    lon0, lat0 = wcs.all_pix2world(x0, y0, 1)
    coslat = np.cos(np.radians(lat0))
    steps = []
    for dx, dy in ((1.0, 0.0), (0.0, 1.0)):
        lon, lat = wcs.all_pix2world(x0 + dx, y0 + dy, 1)
        dlon = ((lon - lon0 + 180.0) % 360.0 - 180.0) * coslat
        steps.append(np.hypot(dlon, lat - lat0))
    cdelt = np.sqrt(steps[0] * steps[1])
    xn, yn = world_to_pixel(wcs, lon0, lat0 + cdelt)
    return cdelt, np.degrees(np.arctan2(yn - y0, xn - x0))
