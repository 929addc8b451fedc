"""Same bits on any number of workers: the array-level final drizzle and median give identical
arrays whether their rows are split between 1, 2 or 3 processes (issue 11 item 4)."""
import numpy as np
import pytest

from snakedrizzle import wcs as W
from snakedrizzle.drizzle import adrizzle, median
from snakedrizzle.io.exposure import read_chip, read_exposure
from snakedrizzle.simulate import make_dataset
from snakedrizzle.workflow import params


@pytest.fixture(scope="module")
def starfield(tmp_path_factory):
    """Two dithered, distorted HRC-like exposures of a crowded field (stars on every strip edge)."""
    ds = make_dataset(tmp_path_factory.mktemp("det"), "ACS/HRC", 2, seed=11, chip_shape=(300, 320),
                      n_stars=600, n_galaxies=5, cr_fraction=0.0, orientat=35.0)
    chips = []
    for path in ds.paths:
        exp = read_exposure(path)
        chip = read_chip(path, 1)
        w = W.chip_wcs(path, 1)
        chips.append(adrizzle.DrizzleChip.from_arrays(chip.sci, np.full(chip.sci.shape, exp.exptime), w,
                                                      exp.exptime, exp.in_units))
    return chips


@pytest.mark.parametrize("rot", [None, 45.0])
def test_drizzle_is_the_same_for_1_2_and_3_workers(starfield, rot):
    frame = W.default_frame([c.wcs for c in starfield])
    if rot is not None:  # a rotated frame: chip tiles cross strip edges diagonally
        frame = W.custom_frame(frame, rot=rot)
    runs = [adrizzle.drizzle(starfield, frame, workers=k) for k in (1, 2, 3)]
    assert np.nanmax(runs[0][0]) > 100 * np.nanmedian(runs[0][0])  # stars are there
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a, b, equal_nan=True)


def test_drizzle_keeps_every_input_pixel(starfield):
    """Flux of a flat image is conserved: no input pixel is lost along strip edges (the kernel once
    lost whole pixels when given long thin bands of rows)."""
    chip = starfield[0]
    ones = adrizzle.DrizzleChip.from_arrays(np.ones(chip.shape), np.ones(chip.shape), chip.wcs, 1.0, "cps")
    frame = W.default_frame([chip.wcs])
    big = W.subframe(frame, -5, -5, frame.pixel_shape[0] + 10, frame.pixel_shape[1] + 10)
    for workers in (1, 3):
        _, wht, _ = adrizzle.drizzle([ones], big, workers=workers)
        assert wht.sum(dtype=np.float64) == pytest.approx(chip.shape[0] * chip.shape[1], rel=1e-6)


def test_median_is_the_same_for_1_2_and_3_workers():
    rng = np.random.default_rng(5)
    shape = (240, 90)
    images, weights, offsets = [], [], [(0, 0), (3, 7), (1, 2)]
    for x0, y0 in offsets:
        img = rng.normal(10.0, 1.0, (shape[0] - y0, shape[1] - x0)).astype(np.float32)
        img[rng.integers(0, img.shape[0], 60), rng.integers(0, img.shape[1], 60)] += 500.0  # "cosmic rays"
        images.append(img)
        weights.append(np.full(img.shape, 400.0, np.float32))
    pars = dict(params.DEFAULTS, combine_bufsize=0.05)  # blocks of a few rows
    runs = [median.median_combine(images, weights, offsets, shape, pars, readnoise=[5.0] * 3,
                                  exptime=[400.0] * 3, background=[20.0] * 3, workers=k) for k in (1, 2, 3)]
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], runs[2])
