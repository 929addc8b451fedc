"""Memory and speed measures of the HAP catalog stages (snakedrizzle.hap.catalogs) keep their results.

Each lean computation is checked against the straightforward one it replaces (same values, bit for
bit), and the stages' peak of traced allocations (numpy reports its arrays to tracemalloc) is
bounded in units of one image, on the small synthetic visit of tests/test_hap_catalogs.py."""
import shutil
import tracemalloc

import numpy as np
import pytest
from astropy.io import fits
from photutils.segmentation import SegmentationImage, SourceCatalog
from photutils.utils import calc_total_error
from scipy import ndimage

from snakedrizzle.hap.catalogs import stages
from snakedrizzle.hap.catalogs.background import background_subtracted, compute_background, constant_map
from snakedrizzle.hap.catalogs.flags import _few_exposures, exposure_count
from snakedrizzle.hap.catalogs.product import read_product
from snakedrizzle.hap.catalogs.segment import convolved_image, segment_flux_errors
from test_hap_catalogs import FILTERS, PHOT, _image, _stars, write_visit


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Filter and total products of a two-filter synthetic visit, and the total's detection files."""
    root = tmp_path_factory.mktemp("catalogs_memory")
    rng = np.random.default_rng(11)
    x, y, flux = _stars(rng)
    images = {f: _image(rng, x, y, flux * (1 + i)) for i, f in enumerate(PHOT)}
    total, pars = write_visit(root, images)
    return dict(root=root, total=total, filter=str(root / f"{FILTERS['f606w']}_drc.fits"), pars=pars,
                nbytes=images["f606w"].nbytes)


def test_blockwise_arithmetic_equals_the_whole_image_formulas():
    rng = np.random.default_rng(3)
    data = rng.normal(0.3, 0.05, (700, 300)).astype(np.float32)
    data[5, 7] = np.nan
    for level in (rng.normal(0.3, 0.01, data.shape).astype(np.float32), constant_map(np.float32(0.29), data.shape),
                  constant_map(np.float64(0.29), data.shape)):
        expected = np.nan_to_num(data - level)
        got = background_subtracted(data, level)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
        assert np.array_equal(background_subtracted(data, level, dtype=np.float32), expected.astype(np.float32))
    scratch = data.copy()
    assert background_subtracted(scratch, level, in_place=True) is not scratch  # float64 result: no in place
    image = np.nan_to_num(data - np.float32(0.3))
    image[300:320, 100:130] += 5.0  # a bright source: its Poisson term dominates
    labels = np.zeros(data.shape, np.int32)
    labels[290:330, 90:140], labels[600:690, 10:290], labels[20:23, 5:9] = 3, 1, 7
    segm = SegmentationImage(labels)
    for rms in (np.full(data.shape, 0.01, np.float32), constant_map(np.float32(0.01), data.shape)):
        for exptime in (800.0, 1e-12):
            error = calc_total_error(image, rms, max(exptime, 1e-9))
            expected = SourceCatalog(image, segm, error=error).segment_flux_err
            assert np.allclose(segment_flux_errors(image, rms, exptime, segm), expected, rtol=1e-6, atol=0)


def test_exposure_flags_equal_a_full_image_minimum_filter():
    rng = np.random.default_rng(5)
    ctx = rng.integers(0, 2 ** 32, size=(2, 90, 80), dtype=np.uint64).astype(np.uint32).view(">i4")
    bitwise = np.zeros(ctx.shape[1:], np.int16)
    for plane in ctx:
        bits = plane.astype(np.uint32)
        bitwise += sum(((bits >> b) & 1).astype(np.int16) for b in range(32))
    assert np.array_equal(exposure_count(ctx), bitwise)
    nexp = rng.integers(0, 8, (90, 80)).astype(np.int16)
    x, y = rng.uniform(-2, 82, 400), rng.uniform(-2, 92, 400)
    for radius in (0.5, 3.0, 6.4):
        r = max(int(np.ceil(radius)), 1)
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        least = ndimage.minimum_filter(nexp, footprint=xx ** 2 + yy ** 2 <= radius ** 2, mode="constant", cval=0)
        ix, iy = np.clip(np.round(x).astype(int), 0, 79), np.clip(np.round(y).astype(int), 0, 89)
        assert np.array_equal(_few_exposures(nexp, x, y, radius, "wfc"), least[iy, ix] < 2.5)


def test_constant_background_is_a_view_of_one_value(products):
    image = read_product(products["filter"])
    background = compute_background(image.data, image.wht, products["pars"], numexp=2, exptime=1000.0)
    assert background.kind == "sigma_clipped_background"
    for plane in (background.level, background.rms):
        assert plane.shape == image.data.shape and plane.strides == (0, 0) and not plane.flags.writeable
    assert background.rms_median == float(np.median(np.asarray(background.rms)[background.footprint]))


def test_segment_catalog_same_from_a_map_without_the_convolved_image(products, tmp_path):
    """CONV saves the catalogs a convolution; a segment map written before it existed (no CONV)
    still gives the same catalogs, and CONV is the convolution the catalogs would make."""
    root, pars = products["root"], products["pars"]
    with fits.open(root / "segm.fits") as hdul:
        total = read_product(products["total"])
        background = stages._stored_segmentation(root / "segm.fits")[1]
        assert np.array_equal(hdul["CONV"].data, convolved_image(total.data, background, total.pscale, pars))
        fits.HDUList([h.copy() for h in hdul if h.name != "CONV"]).writeto(tmp_path / "old_segm.fits")
    shutil.copy(root / "sources.ecsv", tmp_path)
    for segmap, out in ((root / "segm.fits", tmp_path / "new.ecsv"), (tmp_path / "old_segm.fits", tmp_path / "old.ecsv")):
        stages.catalog_stage("segment", "filter", {"product": products["filter"], "total": products["total"],
                                                   "detection": str(segmap)}, str(out), pars)
    assert (tmp_path / "new.ecsv").read_text() == (tmp_path / "old.ecsv").read_text()


def _traced_peak(stage, *args):
    stage(*args)  # first call: lazy imports and caches are not the stage's memory
    tracemalloc.start()
    try:
        stage(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("job, limit", [("point_sources", 8), ("segment_map", 8), ("segment_filter", 17),
                                        ("segment_total", 9)])
def test_stage_peak_memory_in_images(products, tmp_path, job, limit):
    """Peak of traced allocations in units of one float32 image (before these measures: 10, 10,
    21 and 14 on this visit)."""
    root, pars, total = products["root"], products["pars"], products["total"]
    calls = {
        "point_sources": (stages.point_sources_stage, total, tmp_path / "s.ecsv", pars),
        "segment_map": (stages.segment_map_stage, total, tmp_path / "m.fits", pars),
        "segment_filter": (stages.catalog_stage, "segment", "filter", {
            "product": products["filter"], "total": total, "detection": str(root / "segm.fits")},
            str(tmp_path / "f.ecsv"), pars),
        "segment_total": (stages.catalog_stage, "segment", "total", {
            "filters": [], "total": total, "detection": str(root / "segm.fits")}, str(tmp_path / "t.ecsv"), pars),
    }
    assert _traced_peak(*calls[job]) <= limit * products["nbytes"]
