"""The array-level cores of the AstroDrizzle stages, called without files: drizzle, window
geometry, sky policy, blot, CR cleaning, and the median's handling of an exposure with no
usable pixels (issue 11 item 3)."""
import logging

import numpy as np
import pytest
from astropy.wcs import WCS

from snakedrizzle.drizzle import ablot, adrizzle, drizcr, median, sky
from snakedrizzle.workflow import params


def _tan(shape, crval=(10.0, -20.0), scale=0.05, rot=0.0, crpix=None):
    """A TAN WCS of ``scale`` arcsec/pixel, rotated by ``rot`` degrees, with pixel_shape."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = crpix or [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    c, s = np.cos(np.deg2rad(rot)), np.sin(np.deg2rad(rot))
    w.wcs.cd = np.array([[-c, s], [s, c]]) * scale / 3600
    w.pixel_shape = (shape[1], shape[0])
    return w


def test_drizzle_of_a_flat_chip_onto_its_own_grid_is_the_chip():
    shape = (60, 80)
    w = _tan(shape)
    data = np.full(shape, 5.0)
    chip = adrizzle.DrizzleChip.from_arrays(data * 100.0, np.ones(shape), w, 100.0, "counts")
    frame = _tan((70, 90), crpix=[45.5, 35.5])  # 5 pixels of frame around the chip
    sci, wht, ctx = adrizzle.drizzle([chip], frame, fillval=-1.0)
    assert np.allclose(sci[5:65, 5:85], 5.0, atol=1e-5)  # counts / exptime
    assert np.all(sci[:4] == -1.0) and np.all(wht[:4] == 0)
    assert ctx.shape == (1, 70, 90) and np.all(ctx[0, 5:65, 5:85] == 1)


def test_separate_window_and_overlap():
    chip = _tan((50, 40), crval=(10.0, -20.0))
    plane = _tan((200, 200), crval=(10.0, -20.0))
    x0, y0, nx, ny = adrizzle.separate_window([chip], [(50, 40)], plane)
    # The footprint is x 79.5..119.5, y 74.5..124.5 (0-based): 2 pixels before it, 2-3 after.
    assert (x0, y0) == (77, 72) and nx in (45, 46) and ny in (55, 56)
    far = _tan((10, 10), crval=(11.0, -20.0))
    assert adrizzle.reaches_frame([chip], [(50, 40)], plane)
    assert not adrizzle.reaches_frame([far], [(10, 10)], plane)
    with pytest.raises(ValueError):
        adrizzle.separate_window([far], [(10, 10)], plane, bounded=True)


def test_sky_values_local_and_global():
    own = {"1": {"value": 40.0, "pscale": 0.05, "exptime": 100.0, "in_units": "counts"},
           "2": {"value": 30.0, "pscale": 0.05, "exptime": 100.0, "in_units": "counts"}}
    other = {"value": 10.0, "pscale": 0.05, "exptime": 100.0, "in_units": "counts"}
    assert sky.sky_values(own, [], "localmin") == pytest.approx({"1": 30.0, "2": 30.0})
    assert sky.sky_values(own, list(own.values()) + [other], "globalmin") == pytest.approx({"1": 10.0, "2": 10.0})
    none = {"1": dict(own["1"], value=None)}
    assert sky.sky_values(none, [], "localmin") == {"1": 0.0}


def test_blot_of_a_flat_median_gives_counts_plus_sky():
    w = _tan((30, 30))
    frame = _tan((40, 40))
    blotted = ablot.blot_chip(np.full((40, 40), 2.0, np.float32), frame, w, (30, 30), exptime=50.0,
                              conversion=2.0, sky=7.0, interp="linear", stepsize=1)
    assert blotted.dtype == np.float32
    assert np.allclose(blotted[2:-2, 2:-2], 2.0 * 50.0 / 2.0 + 7.0)


def test_clean_cosmic_rays_replaces_only_bad_pixels():
    sci = np.arange(12, dtype=np.float32).reshape(3, 4)
    blotted = np.full((3, 4), -1.0, np.float32)
    good = np.ones((3, 4), bool)
    good[1, 2] = False
    dq = np.zeros((3, 4), np.int16)
    out, outdq = drizcr.clean_cosmic_rays(sci, blotted, good, dq, 4096)
    assert out[1, 2] == -1.0 and np.array_equal(np.delete(out.ravel(), 6), np.delete(sci.ravel(), 6))
    assert outdq[1, 2] == 4096 and outdq.sum() == 4096


def _scene(rng, shape, n_cr=40):
    truth = np.full(shape, 20.0, np.float32)
    truth[rng.integers(0, shape[0], 30), rng.integers(0, shape[1], 30)] += 300.0  # stars
    img = (truth + rng.normal(0, 1.0, shape)).astype(np.float32)
    img[rng.integers(0, shape[0], n_cr), rng.integers(0, shape[1], n_cr)] += 800.0
    return truth, img


@pytest.mark.parametrize("bad_kind", ["nan", "flagged"])
def test_an_exposure_with_no_usable_pixels_leaves_the_cr_mask_of_a_good_one_unchanged(bad_kind, caplog):
    """All-NaN SCI or all-flagged DQ: its separate drizzle has zero weight everywhere. It is left
    out of the median (with a warning naming it), so the good exposures' CR masks do not change."""
    rng = np.random.default_rng(8)
    shape = (80, 70)
    truth, _ = _scene(rng, shape)
    images = [_scene(np.random.default_rng(s), shape)[1] for s in (1, 2, 3)]
    weights = [np.full(shape, 400.0, np.float32) for _ in images]
    bad = np.full(shape, np.nan if bad_kind == "nan" else 0.0, np.float32)
    pars = dict(params.DEFAULTS, combine_type="median")
    common = dict(readnoise=[5.0] * 4, exptime=[400.0] * 4, background=[20.0] * 4)

    def crmask_of_first(imgs, whts):
        n = len(imgs)
        med = median.median_combine(imgs, whts, [(0, 0)] * n, shape, pars, names=[f"exp{k}" for k in range(n)],
                                    **{k: v[:n] for k, v in common.items()})
        return drizcr.cr_mask(images[0], med, 20.0, 5.0), med

    alone, med_alone = crmask_of_first(images, weights)
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        with_bad, med_bad = crmask_of_first(images + [np.nan_to_num(bad)], weights + [np.zeros(shape, np.float32)])
    assert np.array_equal(med_alone, med_bad)
    assert np.array_equal(alone, with_bad)
    assert (~alone).sum() < 200  # the CRs of the first exposure, not the image
    assert any("exp3" in r.getMessage() and "no usable pixels" in r.getMessage() for r in caplog.records)


def test_zero_weight_image_is_masked_by_weight_masks():
    weights = np.stack([np.full((2, 2), 10.0), np.zeros((2, 2))]).astype(np.float32)
    masks = median.weight_masks(weights, 0.3, [10.0, 0.0])
    assert not masks[0].any() and masks[1].all()
