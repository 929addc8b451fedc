"""Bad input and bad configuration: one clear error naming the file/parameter, no job run, no
half-written product."""
import shutil

import pytest
from astropy.io import fits

from conftest import snakemake
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.inputs import resolve_inputs


def _edit(path, func):
    with fits.open(path, mode="update") as hdul:
        func(hdul)


def test_truncated_file(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=f"{good_file.name}.*truncated"):
        read_exposure(good_file)


def test_not_fits(good_file):
    good_file.write_bytes(b"this is not a FITS file" * 100)
    with pytest.raises(InputError, match=f"{good_file.name}.*not a readable FITS"):
        read_exposure(good_file)


def test_missing_dq(good_file):
    with fits.open(good_file) as hdul:
        kept = fits.HDUList([h.copy() for h in hdul if not (h.name == "DQ" and h.ver == 2)])
    good_file.unlink()
    kept.writeto(good_file)
    with pytest.raises(InputError, match=r"missing extension DQ,2"):
        read_exposure(good_file)


@pytest.mark.parametrize("value", [0.0, -5.0])
def test_exptime_not_positive(good_file, value):
    _edit(good_file, lambda h: h[0].header.__setitem__("EXPTIME", value))
    with pytest.raises(InputError, match="EXPTIME.*not positive"):
        read_exposure(good_file)


def test_unknown_instrument(good_file):
    _edit(good_file, lambda h: h[0].header.__setitem__("INSTRUME", "NIRCAM"))
    with pytest.raises(InputError, match="unknown instrument/detector INSTRUME='NIRCAM'"):
        read_exposure(good_file)


def test_flt_and_flc_of_one_rootname(good_file):
    flc = good_file.with_name(good_file.name.replace("_flt", "_flc"))
    shutil.copy(good_file, flc)
    with pytest.raises(InputError, match="FLT and FLC"):
        resolve_inputs(f"{good_file.parent}/*_fl?.fits")


def test_bad_input_stops_the_workflow_before_any_job(good_file, tmp_path):
    _edit(good_file, lambda h: h[0].header.__setitem__("EXPTIME", 0.0))
    work = tmp_path / "work"
    proc = snakemake(work, config={"input": str(good_file), "output": "bad"}, check=False)
    assert proc.returncode != 0
    assert f"{good_file.name}: EXPTIME=0.0 is not positive" in proc.stdout + proc.stderr
    assert not (work / "results/bad").exists()


def test_no_overlap_with_the_output_frame(small_set, tmp_path):
    work = tmp_path / "work"
    config = {"input": f"{small_set['inputs']}/*_flt.fits", "output": "far", "final_wcs": "true",
              "final_ra": 150.0, "final_dec": 2.0, "driz_cr": "false"}
    proc = snakemake(work, config=config, check=False)
    assert proc.returncode != 0
    assert "does not overlap the output frame" in proc.stdout + proc.stderr
    assert not (work / "results/far/far_drz.fits").exists()
    assert not list((work / "results/far").glob(".tmp-*"))


@pytest.mark.parametrize("setting, message", [
    ("final_pixfrak=0.5", "config: unknown parameter 'final_pixfrak'"),
    ("final_kernel=boxcar", "config: final_kernel='boxcar': must be one of"),
    ("final_pixfrac=1.5", "config: final_pixfrac=1.5: must be <= 1"),
    ("driz_cr_snr=abc", "config: driz_cr_snr='abc': must be two numbers"),
])
def test_bad_config_is_one_error_and_no_job(tmp_path, setting, message):
    key, value = setting.split("=")
    proc = snakemake(tmp_path, config={key: value}, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
