"""TweakReg's ``exclusions``: which pixels of a chip source finding may use, from a DS9 region
file or a FITS mask.

FITS mask: the first image HDU with the chip's shape; zero pixels are excluded.

DS9 region file: regions apply in file order, an include region making its pixels usable and an
exclude region (``-circle(...)``) making them unusable. The chip starts unusable, except when
every region is an exclude region: then it starts usable, as if a whole-chip include region came
first (TweakReg's rule, so a file of exclusions alone means "everything but these"). A pixel
belongs to a shape when its centre does; pixel ``[i, j]`` has FITS coordinates ``(j + 1, i + 1)``.

Edges: a centre exactly on the edge of a circle, ellipse or box (but not on the inner edge of
an annulus) belongs to the shape, and to a polygon when the edge is on its left or bottom side (the
even-odd rule with a ray to the right). That is this module's rule from before astropy
``regions`` painted the masks; regions counts only centres strictly inside, so shapes are grown
by EDGE pixels (far below any real geometry, far above rounding) before ``to_mask``.

Supported shapes: circle, ellipse, box, polygon, annulus (and ellipse and box annuli), in
image/physical coordinates (1-based pixels) or in sky coordinates (degrees or sexagesimal; sizes
in degrees or with ``"``/``'``) through the chip's WCS: read by ``snakedrizzle.io.regions``,
moved onto the chip by ``snakedrizzle.coords.regions``. Shapes without an area (text, point,
ruler, compass, projection) are skipped, other shapes (line, vector, ...) with a warning.
"""
import logging
import os

import numpy as np
from astropy.io import fits

from regions import (LinePixelRegion, PixCoord, PointPixelRegion, PolygonPixelRegion, SkyRegion,
                     TextPixelRegion)

from snakedrizzle.coords.regions import sky_to_pixel
from snakedrizzle.errors import InputError
from snakedrizzle.io.regions import is_included, read_regions

__all__ = ["exclusion_mask"]

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts")
EDGE = 1e-9  # pixels: how far shapes grow so that centres on their edges count as inside


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
    regions = _in_pixels(_areas(path, read_regions(path, skip_unsupported=True)), wcs, path)
    mask = np.full(shape, not any(is_included(r) for r in regions), dtype=bool)
    for region in regions:
        _paint(mask, region)
    return mask


def _areas(path, regions):
    """The regions that cover pixels: points and text silently left out, lines with a warning."""
    kept = []
    for region in regions:
        kind = type(region).__name__.replace("SkyRegion", "PixelRegion")
        if kind == LinePixelRegion.__name__:
            log.warning("%s: ignoring unsupported region shape 'line'", path)
        elif kind not in (PointPixelRegion.__name__, TextPixelRegion.__name__):
            kept.append(region)
    return kept


def _in_pixels(regions, wcs, path):
    sky = [r for r in regions if isinstance(r, SkyRegion)]
    if sky and wcs is None:
        raise InputError(path, f"a '{_frame(sky[0])}' region needs the chip's WCS and none was "
                         "given")
    regions = sky_to_pixel(regions, wcs, path)
    for region in regions:
        if not np.all(np.isfinite(_numbers(region))):
            name = type(region).__name__.removesuffix("PixelRegion").lower()
            raise InputError(path, f"the {name} does not give finite pixel positions and sizes")
    return regions


def _frame(region):
    coord = getattr(region, "center", None) or getattr(region, "vertices")
    return coord.frame.name


def _numbers(region):
    values = []
    for name in region._params:
        value = getattr(region, name)
        if hasattr(value, "xy"):
            values += [np.ravel(value.x), np.ravel(value.y)]
        elif not isinstance(value, str):
            values.append(np.ravel(getattr(value, "value", value)))
    return np.concatenate(values).astype(float)


# --------------------------------------------------------------------------------------------
# Painting


def _paint(mask, region):
    """Mark pixels whose centres are inside ``region``: usable for include, unusable for exclude.
    ``to_mask`` evaluates only the region's bounding box, so small regions on big chips stay
    cheap."""
    footprint = _closed(region).to_mask(mode="center")
    big, small = footprint.get_overlap_slices(mask.shape)
    if big is None:
        return
    mask[big][footprint.data[small] > 0] = is_included(region)


def _closed(region):
    """The region grown by EDGE: regions' strict inside test then keeps today's edge rule. Inner
    edges of annuli grow too, so they stay outside (as for a circle and then a -circle)."""
    if isinstance(region, PolygonPixelRegion):  # the outline moved left and down by EDGE
        return region.copy(vertices=PixCoord(region.vertices.x - EDGE, region.vertices.y - EDGE))
    grow = {n: getattr(region, n) + EDGE * (1 if "radius" in n else 2)
            for n in region._params if n.endswith(("radius", "width", "height"))}
    return region.copy(**grow)
