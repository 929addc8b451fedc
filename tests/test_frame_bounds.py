"""Runaway output frames are an InputError when the frame is computed, before anything of its
size is allocated (issue 11 item 1): an exposure of another field, a tiny final_scale, an
explicit size beyond memory; a real mosaic still passes."""
import re
import tracemalloc

import pytest

from snakedrizzle.drizzle import frame_bounds
from snakedrizzle.drizzle.chips import output_frame
from snakedrizzle.drizzle.files import separate_frame_stage
from snakedrizzle.errors import InputError
from snakedrizzle.simulate import make_dataset
from snakedrizzle.workflow import params

SMALL = dict(chip_shape=(64, 128), n_stars=20, n_galaxies=0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pair"), "ACS/WFC", 2, seed=7, **SMALL).paths


@pytest.fixture(scope="module")
def far(tmp_path_factory):
    """One exposure 0.2 degree north of the pair."""
    return make_dataset(tmp_path_factory.mktemp("far"), "ACS/WFC", 1, seed=8, dec=-72.0814 + 0.2,
                        rootname_prefix="jfar", **SMALL).paths[0]


def _pars(**overrides):
    return {**params.DEFAULTS, **overrides}


@pytest.mark.parametrize("prefix", ["final_", "driz_sep_"])
def test_an_exposure_of_another_field_is_named(pair, far, prefix):
    tracemalloc.start()
    with pytest.raises(InputError) as err:
        output_frame(pair + [far], _pars(), prefix)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    message = str(err.value)
    frame = "final output frame" if prefix == "final_" else "separate-drizzle frame"
    assert re.search(frame + r" of \d+ x \d+ pixels .* times the area of the 6 input chips", message)
    assert re.search(r"jfar01a1q_flt\.fits is 1[12]\.\d arcmin from the others", message)
    assert "jsim" not in message  # the good ones are not accused
    assert peak < 50e6  # nothing the size of the frame (> 70 megapixels) was allocated


def test_the_separate_frame_stage_writes_nothing_for_a_runaway_frame(pair, far, tmp_path):
    out = tmp_path / "sep_frame.fits"
    with pytest.raises(InputError, match="separate-drizzle frame"):
        separate_frame_stage(pair + [far], str(out), _pars())
    assert not out.exists()


def test_a_tiny_final_scale_names_final_scale_and_memory(pair):
    with pytest.raises(InputError) as err:
        output_frame(pair, _pars(final_wcs=True, final_scale=1e-5))  # degrees meant as arcsec
    message = str(err.value)
    assert message.startswith("final_scale: final output frame of ")
    assert re.search(r"would need \d+ GB", message)
    assert "tiny final_scale (1e-05 arcsec/pixel against the inputs' 0.05" in message


def test_an_explicit_size_beyond_memory_names_outnx_outny(pair):
    with pytest.raises(InputError, match=r"^final_outnx/final_outny: final output frame of 50000 x 50000 "
                                         r"pixels .* would need 30 GB .* Likely cause: the requested size"):
        output_frame(pair, _pars(final_wcs=True, final_outnx=50000, final_outny=50000))


def test_an_explicit_size_is_not_held_to_the_relative_bound(pair):
    # 40 times the inputs' area, but the user asked for it and it fits in memory.
    frame = output_frame(pair, _pars(final_wcs=True, final_outnx=20000, final_outny=20000))
    assert frame.pixel_shape == (20000, 20000)


def test_a_mosaic_passes_the_relative_bound_without_the_floor(tmp_path, monkeypatch):
    """A 2 x 2 mosaic (with a rotated final frame, the worst case of a normal mosaic) must pass
    the relative bound on its own: the floor, which would let any small frame through, is 0."""
    monkeypatch.setattr(frame_bounds, "FLOOR_PIXELS", 0)
    step = 0.9 * 128 * 0.05  # arcsec: tiles overlapping by a tenth of a chip
    mosaic = make_dataset(tmp_path, "ACS/WFC", 4, seed=9, dithers=[(0, 0), (step, 0), (0, 2 * step), (step, 2 * step)], distortion=False,
                          **SMALL).paths
    for pars in (_pars(), _pars(final_wcs=True, final_rot=45.0)):
        frame = output_frame(mosaic, pars)
        assert frame.pixel_shape[0] * frame.pixel_shape[1] > 4 * 2 * 64 * 128  # it is a mosaic
    with pytest.raises(InputError, match="times the area of the 4 input chips"):
        output_frame(mosaic[:1] + [_far_copy(mosaic[3], tmp_path)], _pars())


def _far_copy(path, tmp_path):
    """A copy of an exposure moved 0.1 degree south (CRVAL2 of every chip)."""
    from astropy.io import fits
    out = tmp_path / "jfarmov_flt.fits"
    with fits.open(path) as hdul:
        for hdu in hdul[1:]:
            if "CRVAL2" in hdu.header:
                hdu.header["CRVAL2"] -= 0.1
        hdul.writeto(out)
    return str(out)
