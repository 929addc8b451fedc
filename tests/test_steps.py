"""The step functions on arrays, checked against DrizzlePac's own helpers (test-only reference)
and against known answers."""
import numpy as np
import pytest

from snakedrizzle.drizzle import drizcr, median, stats
from snakedrizzle import wcs as W
from snakedrizzle.drizzle.masks import good_pixels
from conftest import SHARED

rng = np.random.default_rng(3)


def test_clipped_stats_and_mode_match_imagestats():
    imagestats = pytest.importorskip("stsci.imagestats")
    data = np.concatenate([rng.normal(100, 5, 200_000), rng.normal(400, 50, 3000)]).astype(np.float32)
    ref = imagestats.ImageStats(data, fields="mode,mean,stddev", nclip=3, lower=data.min(), upper=data.max())
    ours = stats.clipped_stats(data, nclip=3)
    mode, _ = stats.histogram_mode(data, ours, 0.1)
    assert ours.mean == pytest.approx(ref.mean, rel=1e-5)
    assert ours.stddev == pytest.approx(ref.stddev, rel=1e-4)
    assert mode == pytest.approx(ref.mode, abs=0.05 * ref.stddev)


def test_masked_median_and_mean_with_rejection():
    stack = rng.normal(size=(5, 40, 30)).astype(np.float32)
    good = np.ones(stack.shape, bool)
    assert np.allclose(median.masked_combine(stack, good, "median"), np.median(stack, axis=0), atol=1e-6)
    s = np.sort(stack, axis=0)
    assert np.allclose(median.masked_combine(stack, good, "mean", nlow=1, nhigh=1), s[1:4].mean(axis=0), atol=1e-6)
    good[:, 0, 0] = False
    good[1:, 1, 1] = False
    out = median.masked_combine(stack, good, "median", nhigh=1)
    assert out[0, 0] == 0 and out[1, 1] == stack[0, 1, 1]  # nothing good -> 0; one good -> kept


def test_minmed_matches_drizzlepac():
    minmed_ref = pytest.importorskip("drizzlepac.minmed")
    n = 4
    sky = 50.0
    stack = rng.normal(20.0, 0.5, size=(n, 60, 50)).astype(np.float32)
    stack[2, 10:13, 10:12] += 500.0  # a cosmic ray in one image
    weights = np.full(stack.shape, 400.0, np.float32)
    weights[1, 30:40, :] = 0.0
    masks = weights < 0.3 * 400.0
    rn, exp, bkg = [4.0] * n, [400.0] * n, [sky] * n
    ref = minmed_ref.min_med(stack, weights, rn, exp, bkg, weight_masks=masks.astype(np.uint8),
                             combine_grow=1, combine_nsigma1=4, combine_nsigma2=3)
    ours = median.minmed(stack, weights, masks, rn, exp, bkg, (4.0, 3.0), grow=1)
    assert np.allclose(ours, ref, atol=1e-5)
    assert ours[11, 11] < 25  # the cosmic ray is gone


def test_qderiv_matches_drizzlepac():
    ref = pytest.importorskip("drizzlepac.quickDeriv")
    image = rng.normal(size=(37, 41)).astype(np.float32)
    assert np.array_equal(drizcr.qderiv(image), ref.qderiv(image))


def test_cr_mask_finds_a_cosmic_ray_and_spares_noise():
    sky, rn = 100.0, 5.0
    blotted = np.full((200, 200), sky, np.float32)
    image = rng.normal(sky, np.sqrt(sky + rn ** 2), blotted.shape).astype(np.float32)
    image[50, 60] += 400.0
    image[51, 60] += 60.0
    good = drizcr.cr_mask(image, blotted, 0.0, rn)
    assert not good[50, 60] and not good[51, 60]
    # Pure noise is flagged only where it passes 3 sigma next to a 3.5 sigma pixel: about the
    # number of 3.5 sigma pixels (4.7e-4 of them), not more than twice that.
    assert (~good).sum() - 2 <= 2 * 4.7e-4 * good.size


def test_bits_follow_drizzlepac_semantics():
    dq = np.array([0, 4, 64, 68, 4096], dtype=np.int16)
    assert good_pixels(dq, "0").tolist() == [True, False, False, False, False]
    assert good_pixels(dq, "64,4").tolist() == [True, True, True, True, False]
    assert good_pixels(dq, "~4096").tolist() == [True, True, True, True, False]  # ignore all but 4096
    assert good_pixels(dq, None).all()


def test_pixmap_grid_interpolation_is_close_to_exact():
    path = SHARED / "acs_hrc_47tuc" / "j8bt06nyq_flt.fits"
    if not path.exists():
        pytest.skip("shared data not here")
    w = W.chip_wcs(path, 1)
    frame = W.default_frame([w])
    exact = W.pixmap(w, frame, (1024, 1024), 1)
    grid = W.pixmap(w, frame, (1024, 1024), 10)
    assert np.abs(exact - grid).max() < 2e-3


def test_custom_frame_rotation_scale_and_size():
    base = W.frame_from_header(_north_frame_header(orientat=30.0))
    north = W.custom_frame(base, rot=0.0)
    assert W.frame_orientat(north) == pytest.approx(0.0, abs=1e-9)
    assert abs(north.wcs.cd[0, 1]) < 1e-15
    half = W.custom_frame(base, scale=0.025)
    assert half.pixel_shape == (200, 100)
    assert W.frame_pscale(half) == pytest.approx(0.025)
    fixed = W.custom_frame(base, outnx=64, outny=32, ra=10.0, dec=-20.0)
    assert fixed.pixel_shape == (64, 32) and tuple(fixed.wcs.crpix) == (32.5, 16.5)
    assert tuple(fixed.wcs.crval) == (10.0, -20.0)


def _north_frame_header(orientat):
    from astropy.io import fits
    o = np.deg2rad(orientat)
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"], h["CRVAL2"] = 10.0, -20.0
    h["CRPIX1"], h["CRPIX2"] = 50.0, 25.0
    for (i, j), v in {(1, 1): -np.cos(o), (1, 2): np.sin(o), (2, 1): np.sin(o), (2, 2): np.cos(o)}.items():
        h[f"CD{i}_{j}"] = v * 0.05 / 3600
    h["NAXIS1"], h["NAXIS2"] = 100, 50
    return h
