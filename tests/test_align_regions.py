"""TweakReg ``exclusions`` masks (snakedrizzle.align.regions) against geometry computed directly:
areas, 1-based pixel centres, region order, sky regions through a TAN WCS, FITS masks, bad input."""
import logging
import math

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from snakedrizzle.align.regions import exclusion_mask
from snakedrizzle.errors import InputError

SHAPE = (60, 80)  # ny, nx
SCALE = 0.36  # arcsec per pixel of the test WCS


def _regions(tmp_path, text, name="ex.reg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _centres(shape=SHAPE):
    """FITS (1-based) x, y of every pixel centre."""
    i, j = np.indices(shape)
    return j + 1.0, i + 1.0


def _centroid(mask):
    x, y = _centres(mask.shape)
    return x[mask].mean(), y[mask].mean()


def _tan_wcs(rotation=0.0):
    """North up, East left, then turned by ``rotation`` degrees."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [40.0, 30.0]
    w.wcs.crval = [150.0, 2.0]
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    w.wcs.cd = SCALE / 3600.0 * np.array([[-c, s], [s, c]])
    return w


def test_circle_area_and_one_based_centre(tmp_path):
    mask = exclusion_mask(_regions(tmp_path, "image\ncircle(40,30,10)\n"), SHAPE)
    assert mask.dtype == bool and mask.shape == SHAPE
    assert mask.sum() == pytest.approx(math.pi * 100, rel=0.03)
    assert _centroid(mask) == pytest.approx((40.0, 30.0))
    assert mask[29, 39] and not mask[0, 0]
    # FITS (1, 1) is array [0, 0]: a half-pixel circle there holds exactly that pixel
    corner = exclusion_mask(_regions(tmp_path, "circle(1,1,0.5)", "corner.reg"), SHAPE)
    assert np.argwhere(corner).tolist() == [[0, 0]]


def test_region_order_makes_a_ring_or_a_disk(tmp_path):
    ring = exclusion_mask(_regions(tmp_path, "circle(40,30,10)\n-circle(40,30,5)\n"), SHAPE)
    assert ring.sum() == pytest.approx(math.pi * (100 - 25), rel=0.04)
    assert not ring[29, 39] and ring[29, 39 + 7] and not ring[0, 0]
    disk = exclusion_mask(_regions(tmp_path, "-circle(40,30,5)\ncircle(40,30,10)\n", "d.reg"), SHAPE)
    full = exclusion_mask(_regions(tmp_path, "circle(40,30,10)\n", "f.reg"), SHAPE)
    assert np.array_equal(disk, full)
    annulus = exclusion_mask(_regions(tmp_path, "annulus(40,30,5,10)\n", "a.reg"), SHAPE)
    assert np.array_equal(annulus, ring)


def test_only_exclude_regions_start_from_a_usable_chip(tmp_path):
    path = _regions(tmp_path, "# Region file format: DS9 version 4.1\nimage\n"
                    "-circle(40,30,5)\n-box(10,10,4,4,0)\n")
    mask = exclusion_mask(path, SHAPE)
    x, y = _centres()
    excluded = ((x - 40) ** 2 + (y - 30) ** 2 <= 25) | ((abs(x - 10) <= 2) & (abs(y - 10) <= 2))
    assert np.array_equal(mask, ~excluded)
    assert exclusion_mask(_regions(tmp_path, "# nothing\n", "empty.reg"), SHAPE).all()


def test_rotated_box_matches_geometry(tmp_path):
    x0, y0, w, h, angle = 40.3, 30.2, 20.0, 8.0, 30.0
    mask = exclusion_mask(_regions(tmp_path, f"box({x0},{y0},{w},{h},{angle})"), SHAPE)
    x, y = _centres()
    t = math.radians(angle)
    along = (x - x0) * math.cos(t) + (y - y0) * math.sin(t)
    across = -(x - x0) * math.sin(t) + (y - y0) * math.cos(t)
    assert np.array_equal(mask, (abs(along) <= w / 2) & (abs(across) <= h / 2))
    assert mask.sum() == pytest.approx(w * h, rel=0.05)


def test_triangle_area(tmp_path):
    mask = exclusion_mask(_regions(tmp_path, "polygon(10.2,10.1,50.3,10.1,10.2,40.4)"), SHAPE)
    x, y = _centres()
    expected = (x >= 10.2) & (y >= 10.1) & ((x - 10.2) / 40.1 + (y - 10.1) / 30.3 <= 1)
    assert np.array_equal(mask, expected)
    assert mask.sum() == pytest.approx(0.5 * 40.1 * 30.3, rel=0.06)


def test_ellipse_axes_follow_the_angle(tmp_path):
    flat = exclusion_mask(_regions(tmp_path, "ellipse(40,30,15,6,0)"), SHAPE)
    assert flat.sum() == pytest.approx(math.pi * 15 * 6, rel=0.04)
    assert flat[29].sum() == 31 and flat[:, 39].sum() == 13  # x in [25, 55], y in [24, 36]
    upright = exclusion_mask(_regions(tmp_path, "ellipse(40,30,15,6,90)", "u.reg"), SHAPE)
    assert upright[29].sum() == 13 and upright[:, 39].sum() == 31


def test_comments_globals_properties_and_several_shapes_per_line(tmp_path, caplog):
    text = ("# Region file format: DS9 version 4.1\n"
            'global color=green font="helvetica 10 normal roman" select=1\n'
            "image; circle(10,10,3) # color=red\n"
            "\n"
            "circle(30,30,3); -circle(30,30,1)\n"
            "text(50,50) text={hello; # world}\n"
            "point(20,20) # point=cross\n"
            "ruler(1,1,5,5) ruler=image image\n"
            "vector(60,40,5,0) vector=1\n")
    with caplog.at_level(logging.WARNING):
        mask = exclusion_mask(_regions(tmp_path, text), SHAPE)
    x, y = _centres()
    d1, d2 = (x - 10) ** 2 + (y - 10) ** 2, (x - 30) ** 2 + (y - 30) ** 2
    assert np.array_equal(mask, (d1 <= 9) | ((d2 <= 9) & (d2 > 1)))
    assert "ex.reg" in caplog.text and "vector" in caplog.text
    assert "ruler" not in caplog.text and "text" not in caplog.text


def test_fk5_circle_lands_where_the_wcs_says(tmp_path):
    w = _tan_wcs()
    ra, dec = w.all_pix2world(30.0, 20.0, 1)
    radius = 5.3 * SCALE  # arcsec: 5.3 pixels (no pixel centre on the edge)
    mask = exclusion_mask(_regions(tmp_path, f'fk5; circle({ra:.9f},{dec:.9f},{radius}")'), SHAPE, wcs=w)
    assert _centroid(mask) == pytest.approx((30.0, 20.0), abs=0.02)
    pixels = exclusion_mask(_regions(tmp_path, "circle(30,20,5.3)", "p.reg"), SHAPE)
    assert np.array_equal(mask, pixels)
    # the same in sexagesimal, with the radius in arcminutes, and in galactic coordinates
    c = SkyCoord(ra * u.deg, dec * u.deg)
    hms = c.to_string("hmsdms", sep=":", precision=5).split()
    sexa = exclusion_mask(_regions(tmp_path, f"fk5\ncircle({hms[0]},{hms[1]},{radius / 60}')", "s.reg"),
                          SHAPE, wcs=w)
    assert np.array_equal(sexa, pixels)
    g = c.galactic
    gal = exclusion_mask(_regions(tmp_path, f"galactic;circle({g.l.deg:.9f},{g.b.deg:.9f},{radius}\")",
                                  "g.reg"), SHAPE, wcs=w)
    assert np.array_equal(gal, pixels)


def test_sky_box_angle_turns_with_north(tmp_path):
    rotation = 25.0
    w = _tan_wcs(rotation)
    ra, dec = w.all_pix2world(40.3, 30.2, 1)
    text = f'icrs; box({ra:.9f},{dec:.9f},{20 * SCALE}",{8 * SCALE}",30)'
    mask = exclusion_mask(_regions(tmp_path, text), SHAPE, wcs=w)
    # North's direction in pixels, straight from the WCS
    xn, yn = w.all_world2pix(ra, dec + 1e-4, 1)
    north = math.degrees(math.atan2(yn - 30.2, xn - 40.3))
    assert north == pytest.approx(90 - rotation, abs=0.01)
    expected = exclusion_mask(_regions(tmp_path, f"box(40.3,30.2,20,8,{30 + north - 90})", "e.reg"), SHAPE)
    assert (mask != expected).sum() <= 2


def test_sky_polygon_converts_each_vertex(tmp_path):
    w = _tan_wcs(10.0)
    vertices = [(10.2, 10.1), (50.3, 10.1), (10.2, 40.4)]
    sky = [w.all_pix2world(x, y, 1) for x, y in vertices]
    text = "fk5\npolygon(" + ",".join(f"{a:.10f},{d:.10f}" for a, d in sky) + ")"
    mask = exclusion_mask(_regions(tmp_path, text), SHAPE, wcs=w)
    pixels = exclusion_mask(_regions(tmp_path, "polygon(10.2,10.1,50.3,10.1,10.2,40.4)", "p.reg"), SHAPE)
    assert np.array_equal(mask, pixels)


def test_fits_mask_uses_the_hdu_of_the_chip_shape(tmp_path):
    good = np.ones(SHAPE, dtype=np.int16)
    good[5:10, 20:30] = 0
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((5, 5))), fits.ImageHDU(good)])
    hdul.writeto(tmp_path / "mask.fits")
    assert np.array_equal(exclusion_mask(tmp_path / "mask.fits", SHAPE), good != 0)
    hdul.writeto(tmp_path / "mask.dat")  # recognised by its FITS signature
    assert np.array_equal(exclusion_mask(tmp_path / "mask.dat", SHAPE), good != 0)
    with pytest.raises(InputError, match=r"shape \(61, 80\)") as err:
        exclusion_mask(tmp_path / "mask.fits", (61, 80))
    assert err.value.path == str(tmp_path / "mask.fits")


@pytest.mark.parametrize("text, problem", [
    ("circle(10,abc,3)", "cannot read the parameters"),
    ("circle(10,10)", "wrong number of parameters"),
    ("box(10,10,3,3,0,1)", "wrong number of parameters"),
    ("circle(10,nan,3)", "finite"),
    ("linear; circle(10,10,3)", "coordinate system"),
    ("fk5; circle(150,2,1\")", "needs the chip's WCS"),
])
def test_bad_region_files_name_the_file(tmp_path, text, problem):
    path = _regions(tmp_path, text)
    with pytest.raises(InputError, match=problem) as err:
        exclusion_mask(path, SHAPE)
    assert err.value.path == str(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        exclusion_mask(tmp_path / "nope.reg", SHAPE)
    assert err.value.path == str(tmp_path / "nope.reg")
