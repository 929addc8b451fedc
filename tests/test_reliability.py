"""Reliability (issue 11): broken chip WCSs are caught when an exposure is read, products honour
the umask, and a killed writer's temporary file is removed when the product is rebuilt."""
import os
import stat

import numpy as np
import pytest
from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.fitsio import write_image


def _set(path, ver, **cards):
    with fits.open(path, mode="update") as hdul:
        for key, value in cards.items():
            hdul["SCI", ver].header[key] = value


ZERO_CD = {"CD1_1": 0.0, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 0.0}


@pytest.mark.parametrize("ver, cards, message", [
    (1, ZERO_CD, r"SCI,1: WCS CD matrix is singular"),
    (2, ZERO_CD, r"SCI,2: WCS CD matrix is singular"),
    (1, {"CD1_1": 1e-5, "CD1_2": 2e-5, "CD2_1": 0.5e-5, "CD2_2": 1e-5}, "singular"),  # rank 1
    (1, {"CRVAL1": "NaN"}, r"SCI,1: WCS has non-finite values"),
    (2, {"CD2_2": "inf"}, r"SCI,2: WCS has non-finite values"),
    (1, {"CD1_1": -0.05, "CD2_2": 0.05, "CD1_2": 0.0, "CD2_1": 0.0}, r"pixel scale 180 arcsec is implausible"),
    (1, {"CD1_1": -1.4e-8, "CD2_2": 1.4e-8, "CD1_2": 0.0, "CD2_1": 0.0}, "implausible"),
])
def test_broken_chip_wcs_is_named(good_file, ver, cards, message):
    _set(good_file, ver, **cards)
    with pytest.raises(InputError, match=f"{good_file.name}.*{message}"):
        read_exposure(good_file)


def test_missing_crval_is_named(good_file):
    with fits.open(good_file, mode="update") as hdul:
        del hdul["SCI", 1].header["CRVAL2"]
    with pytest.raises(InputError, match=r"SCI,1: WCS keyword\(s\) CRVAL2 missing"):
        read_exposure(good_file)


def test_products_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_image(tmp_path / "a.fits", np.zeros((2, 2), np.float32))
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o644
        os.umask(0o027)
        out = write_image(tmp_path / "b.fits", np.zeros((2, 2), np.float32))
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    finally:
        os.umask(old)


def test_stale_temporary_of_a_killed_writer_is_removed(tmp_path):
    stale = tmp_path / ".tmp-abc123-prod.fits"
    stale.write_bytes(b"half a product")
    other = tmp_path / ".tmp-abc123-other.fits"  # another product's temporary: not ours to remove
    other.write_bytes(b"x")
    write_image(tmp_path / "prod.fits", np.ones((2, 2), np.float32))
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-abc123-other.fits", "prod.fits"]


# ---- exposures that overlap none of the others ---------------------------------------------------

def _caps(paths):
    from snakedrizzle.wcs.groups import exposure_cap

    return [exposure_cap(str(p), read_exposure(p).chips) for p in paths]


def test_far_exposure_is_named_with_its_distance(small_set, tmp_path):
    from snakedrizzle.simulate import make_dataset
    from snakedrizzle.wcs.groups import check_overlapping, overlap_groups

    far = make_dataset(tmp_path / "far", "ACS/WFC", 1, seed=3, chip_shape=(256, 512), n_stars=20,
                       n_galaxies=0, dec=-71.0814, rootname_prefix="jfar")  # 1 degree north
    good = sorted(small_set["inputs"].iterdir())
    caps = _caps(good + [far.paths[0]])
    groups = overlap_groups(caps)
    assert [len(g) for g in groups] == [3, 1] and groups[1][0].name == str(far.paths[0])
    with pytest.raises(InputError, match=r"1 of 4 exposures overlap none of the other 3: .*jfar.*\((59|60)\.\d arcmin"):
        check_overlapping(caps)
    check_overlapping(_caps(good))  # the dithered set itself is one group


def test_neighbouring_pointings_that_touch_are_one_group(tmp_path):
    """Two pointings half a chip apart overlap: no error (the guard must never split a mosaic)."""
    from snakedrizzle.simulate import make_dataset
    from snakedrizzle.wcs.groups import check_overlapping

    a = make_dataset(tmp_path / "a", "ACS/HRC", 1, seed=1, chip_shape=(256, 256), n_stars=10, n_galaxies=0)
    # 256 HRC pixels = 6.4 arcsec; move the second pointing 4 arcsec east
    b = make_dataset(tmp_path / "b", "ACS/HRC", 1, seed=2, chip_shape=(256, 256), n_stars=10, n_galaxies=0,
                     ra=6.0220 + 4 / 3600 / np.cos(np.radians(72.0814)), rootname_prefix="jhrb")
    check_overlapping(_caps([a.paths[0], b.paths[0]]))
