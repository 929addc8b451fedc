"""final_wht_type=IVM (SPEC §1.11): user IVM files from an @file list, the IVM generated from the
flat (PFLTFILE through $jref), MEANDARK, MDRIZSKY and read noise, one clear error when a reference
file is missing, and parity with DrizzlePac on the real HRC pair."""
import json
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from conftest import SHARED, snakemake
from snakedrizzle import wcs as W
from snakedrizzle.drizzle import ivm
from snakedrizzle.drizzle.chips import chip_wcs, output_frame
from snakedrizzle.drizzle.files_final import final_drizzle_stage
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.workflow import params as sdparams

HRC = SHARED / "acs_hrc_47tuc"
ROOT = "j8bt06nyq"
SKY = 25.0  # MDRIZSKY of the test chip, electrons
DARK = 3.0  # its MEANDARK

pytestmark = pytest.mark.skipif(not (HRC / f"{ROOT}_flt.fits").exists(), reason="HRC data not here")


def _pars(**overrides):
    return {**sdparams.stage_params("final_drizzle", sdparams.DEFAULTS), "final_wht_type": "IVM",
            "final_kernel": "point", **overrides}


@pytest.fixture
def exposure(tmp_path):
    """A copy of the HRC exposure with a MEANDARK, a PFLTFILE in $jref and a 1100x1100 flat (the
    chip a subarray of it at LTV1/LTV2 = -10/-20); the sky file with MDRIZSKY = SKY."""
    path = tmp_path / f"{ROOT}_flt.fits"
    shutil.copy(HRC / path.name, path)
    path.chmod(0o644)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["PFLTFILE"] = "jref$test_pfl.fits"
        hdul["SCI", 1].header.update(MEANDARK=DARK, LTV1=-10.0, LTV2=-20.0)
    flat = 0.8 + 0.4 * np.random.default_rng(1).random((1100, 1100)).astype(np.float32)
    refs = tmp_path / "refs"
    refs.mkdir()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flat, name="SCI", ver=1)]).writeto(refs / "test_pfl.fits")
    sky = tmp_path / f"{ROOT}_sky.json"
    sky.write_text(json.dumps({"method": "localmin", "mdrizsky": {"1": SKY}, "subtracted": {"1": SKY}}))
    return {"path": path, "flat": flat, "refs": refs, "sky": sky}


def _drizzle(exposure, tmp_path, ivm_sources=None, **overrides):
    out = tmp_path / "out_drz.fits"
    pars = _pars(**overrides)
    final_drizzle_stage([str(exposure["path"])], None, [str(exposure["sky"])], {}, str(out), pars,
                        ivm_sources=ivm_sources)
    return fits.getdata(out, "WHT"), pars


def _good(path):
    """Good pixels with final_bits=0 after resetbits=4096 (the CR flag is cleared first)."""
    return (fits.getdata(path, ("DQ", 1)) & ~4096) == 0


def _point_kernel_weights(path, pars, weights):
    """Σ over input pixels of weight x wt_scl into the output pixel nearest each one's centre
    (what the point kernel does), computed here from the chip's pixel map."""
    frame = output_frame([str(path)], pars)
    wcs = chip_wcs(str(path), 1, pars)
    pix_ratio = W.frame_pscale(frame) / W.linear_pscale(wcs)
    wt_scl = fits.getheader(path)["EXPTIME"] ** 2 / pix_ratio ** 4
    pm = W.pixmap(wcs, frame, weights.shape, pars["stepsize"])
    nx, ny = frame.pixel_shape
    ix, iy = np.floor(pm[..., 0] + 0.5).astype(int), np.floor(pm[..., 1] + 0.5).astype(int)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    expected = np.bincount((iy * nx + ix)[inside], weights=(weights * wt_scl)[inside], minlength=nx * ny)
    return expected.reshape(ny, nx)


def _assert_same_weights(wht, expected):
    """Equal pixel by pixel, but for drops whose centre lies on a pixel boundary (the kernel maps
    a chip in tiles, each with its own interpolation grid, so a few such centres round the other
    way: 14 of ~10⁶ here); the total weight is the same."""
    close = np.isclose(wht, expected, rtol=1e-5, atol=1e-3)
    assert (expected > 0).sum() > 900_000
    assert (~close).mean() < 1e-4
    np.testing.assert_allclose(wht.sum(dtype=np.float64), expected.sum(), rtol=1e-6)


def test_user_ivm_file_gives_the_ivm_weighted_sum(exposure, tmp_path):
    values = np.random.default_rng(2).uniform(0.5, 2.0, (1024, 1024)).astype(np.float32)
    ivm_file = tmp_path / "user_ivm.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(values, name="IVM", ver=1)]).writeto(ivm_file)
    source = ivm.sources(read_exposure(exposure["path"]), str(ivm_file))
    wht, pars = _drizzle(exposure, tmp_path, {ROOT: source})
    good = _good(exposure["path"])
    expected = _point_kernel_weights(exposure["path"], pars, values * good)
    _assert_same_weights(wht, expected)


def test_generated_ivm_from_flat_dark_sky_and_read_noise(exposure, tmp_path, monkeypatch):
    monkeypatch.setenv("jref", str(exposure["refs"]))
    exp = read_exposure(exposure["path"])
    flat = exposure["flat"][20:1044, 10:1034].astype(np.float64)  # the subarray at LTV = (-10, -20)
    expected_ivm = flat ** 2 / (DARK + SKY * flat + exp.rdnoise ** 2)
    source = ivm.sources(exp)
    assert source == {"flat": str(exposure["refs"] / "test_pfl.fits"), "meandark": {"1": DARK}}
    np.testing.assert_allclose(ivm.read_ivm(source, exp, 1, SKY), expected_ivm, rtol=1e-6)
    np.testing.assert_allclose(ivm.read_ivm(source, exp, 1, SKY, rows=(100, 110)), expected_ivm[100:110], rtol=1e-6)
    # ... and drizzled: the stage finds the sources itself when it is called without them
    wht, pars = _drizzle(exposure, tmp_path)
    good = _good(exposure["path"])
    expected = _point_kernel_weights(exposure["path"], pars, expected_ivm * good)
    _assert_same_weights(wht, expected)


def test_missing_reference_file_is_one_clear_error(exposure, tmp_path, monkeypatch):
    exp = read_exposure(exposure["path"])
    monkeypatch.delenv("jref", raising=False)
    with pytest.raises(InputError, match=r"PFLTFILE=jref\$test_pfl.fits: environment variable \$jref is not set"):
        ivm.sources(exp)
    monkeypatch.setenv("jref", str(tmp_path / "elsewhere"))
    with pytest.raises(InputError, match=r"test_pfl.fits: reference file PFLTFILE of .* not found \(\$jref="):
        ivm.sources(exp)
    with pytest.raises(InputError, match="no IVM,1 extension"):
        bad = tmp_path / "bad_ivm.fits"
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((1024, 1024)), name="IVM", ver=2)]).writeto(bad)
        ivm.sources(exp, str(bad))


def test_missing_reference_file_stops_the_run_before_any_job(exposure, tmp_path, monkeypatch):
    monkeypatch.setenv("jref", str(tmp_path / "elsewhere"))
    proc = snakemake(tmp_path / "work", "--dry-run", check=False,
                     config={"input": str(exposure["path"]), "output": "x", "final_wht_type": "IVM"})
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "test_pfl.fits: reference file PFLTFILE of" in text and "not found" in text
    assert not (tmp_path / "work" / "results").exists()


def test_single_image_ivm_file_serves_a_one_chip_exposure(exposure, tmp_path):
    simple = tmp_path / "simple_ivm.fits"
    fits.PrimaryHDU(np.full((1024, 1024), 2.0, np.float32)).writeto(simple)
    exp = read_exposure(exposure["path"])
    source = ivm.sources(exp, str(simple))
    assert np.all(ivm.read_ivm(source, exp, 1, SKY, rows=(0, 3)) == 2.0)
    wrong = tmp_path / "wrong_ivm.fits"
    fits.PrimaryHDU(np.ones((10, 10), np.float32)).writeto(wrong)
    with pytest.raises(InputError, match=r"shape \(10, 10\)"):
        ivm.sources(exp, str(wrong))


@pytest.mark.slow
def test_parity_with_drizzlepac_user_ivm_files_hrc_pair(tmp_path):
    """The HRC pair, each with an IVM file (1/ERR², so the weights vary pixel to pixel), named in
    one @file list, through the workflow and through DrizzlePac."""
    drizzlepac = pytest.importorskip("drizzlepac.astrodrizzle", reason="drizzlepac is the test-only reference")
    from parity import sci_agreement

    data = tmp_path / "data"
    data.mkdir()
    lines = []
    for root in ("j8bt06nyq", "j8bt06o6q"):
        shutil.copy(HRC / f"{root}_flt.fits", data)
        (data / f"{root}_flt.fits").chmod(0o644)
        err = fits.getdata(HRC / f"{root}_flt.fits", ("ERR", 1)).astype(np.float64)
        values = np.where(err > 0, 1.0 / np.maximum(err, 1e-3) ** 2, 0.0).astype(np.float32)
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(values, name="IVM", ver=1)]).writeto(data / f"{root}_ivm.fits")
        lines.append(f"{root}_flt.fits {root}_ivm.fits")
    (data / "list.txt").write_text("\n".join(lines) + "\n")
    theirs = tmp_path / "theirs"
    shutil.copytree(data, theirs)
    snakemake(tmp_path / "ours", config={"input": f"@{data}/list.txt", "output": "hrc", "final_wht_type": "IVM"})
    here = os.getcwd()
    os.chdir(theirs)
    try:
        drizzlepac.AstroDrizzle("@list.txt", output="hrc", build=True, preserve=False, clean=False, num_cores=1,
                                in_memory=False, final_wht_type="IVM")
    finally:
        os.chdir(here)
    ours, their = tmp_path / "ours/results/hrc/hrc_drz.fits", theirs / "hrc_drz.fits"
    fraction, npix = sci_agreement(ours, their)
    a, b = fits.getdata(ours, "WHT"), fits.getdata(their, "WHT")
    both = (a > 0) & (b > 0)
    wht_rel = np.abs(a[both] / b[both] - 1)
    print(f"\nIVM parity: SCI within 1% of local noise {fraction:.5f} of {npix} px; "
          f"WHT relative difference median {np.median(wht_rel):.2e}, 99th percentile {np.percentile(wht_rel, 99):.2e}")
    assert fraction >= 0.99
    assert np.percentile(wht_rel, 99) < 1e-5
