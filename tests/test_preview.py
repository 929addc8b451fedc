"""The report's quick-look figures (snakedrizzle.drizzle.preview): cheap, faithful reductions."""
import numpy as np
from astropy.io import fits

from snakedrizzle.drizzle import preview


def test_downsample_is_a_block_mean_that_ignores_nan():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    image[0, 0] = np.nan
    small = preview.downsample(image, max_side=2)
    assert small.shape == (2, 2)
    assert small[0, 0] == np.float32(10 / 3) and small[1, 1] == 12.5
    assert preview.downsample(image, max_side=4).shape == (4, 4)


def test_downsample_any_keeps_a_single_flagged_pixel():
    mask = np.zeros((1000, 600), dtype=bool)
    mask[517, 3] = True
    small = preview.downsample_any(mask, max_side=100)
    assert small.shape == (100, 60) and small.sum() == 1 and small[51, 0]


def test_stretch_maps_into_unit_range_and_keeps_blank_pixels_blank():
    rng = np.random.default_rng(1)
    image = rng.normal(100.0, 5.0, (64, 64)).astype(np.float32)
    image[10, 10] = 1e5
    image[:, :3] = np.nan
    out = preview.stretch(image)
    assert np.isnan(out[:, :3]).all()
    finite = out[:, 3:]
    assert finite.min() >= 0.0 and finite.max() == 1.0 and out[10, 10] == 1.0
    assert 0.0 < np.median(finite) < 0.5  # the sky sits low in the range, not clipped to black
    assert np.isnan(preview.stretch(np.full((3, 3), np.nan))).all()


def test_previews_are_written_as_png(tmp_path):
    rng = np.random.default_rng(2)
    sci = rng.normal(1.0, 0.1, (300, 200)).astype(np.float32)
    product = tmp_path / "p_drz.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI")]).writeto(product)
    exposure = tmp_path / "e_flt.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI", ver=1),
                  fits.ImageHDU(sci, name="SCI", ver=2)]).writeto(exposure)
    masks = []
    for chip in (1, 2):
        good = np.ones(sci.shape, dtype=np.uint8)
        good[5:7, 9] = 0
        masks.append(tmp_path / f"e_sci{chip}_crmask.fits")
        fits.PrimaryHDU(good).writeto(masks[-1])
    for out in (preview.product_preview(product, tmp_path / "p.png", max_side=100),
                preview.crmask_preview(exposure, masks, tmp_path / "c.png", max_side=100)):
        assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
