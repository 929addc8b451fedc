"""TweakReg alignment (issue 4): truth recovery on synthetic pointing errors, parity with
DrizzlePac's TweakReg on the real ACS/HRC pair, bad input, headerlets, updatehdr/tweakback and
the align rules of the DAG."""
import json
import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from conftest import REPO, SHARED, sha256, snakemake
from snakedrizzle.align.headerlet import headerlet_status
from snakedrizzle.align.jobs import read_frame
from snakedrizzle.errors import InputError
from snakedrizzle.simulate import make_dataset, true_pixels
from snakedrizzle.align.tweakback import tweakback
from snakedrizzle.tweakreg import TweakReg
from snakedrizzle.align.updatehdr import apply_headerlet, update_from_shifts
from snakedrizzle.wcs import chip_wcs

# (dx_pix, dy_pix, rot_deg, scale) per exposure; the first is the reference.
POINTING_ERRORS = [None, (0.2, -0.3, 0.0, 1.0), (3.0, 1.5, 0.03, 1.0 + 5e-5), (-5.0, 4.0, -0.05, 1.0 - 1e-4)]
PSCALE = 0.05  # ACS/WFC arcsec per pixel


@pytest.fixture(scope="module")
def aligned_set(tmp_path_factory):
    top = tmp_path_factory.mktemp("align")
    data = make_dataset(top / "in", "ACS/WFC", 4, seed=11, chip_shape=(256, 512), n_stars=250, n_galaxies=5,
                        pointing_errors=POINTING_ERRORS)
    for p in data.paths:
        os.chmod(p, 0o444)
    before = {p: sha256(p) for p in data.paths}
    table = TweakReg(data.paths, outdir=str(top / "out"))
    return {"data": data, "out": top / "out", "table": table, "sha": before}


def _on_chip(x, y, shape, margin=5):
    ny, nx = shape
    return (x > margin) & (x < nx - margin) & (y > margin) & (y < ny - margin)


def test_aligned_wcs_puts_stars_where_they_are(aligned_set):
    """Through the headerlet's WCS the true star positions land on their true sky positions."""
    data, out = aligned_set["data"], aligned_set["out"]
    stars = Table.read(data.truth_stars)
    for i, path in enumerate(data.paths):
        hlet = out / f"{data.meta['rootnames'][i]}_hlet.fits"
        errors = []
        for v in (1, 2):
            x, y = true_pixels(data, i, v, stars["ra"], stars["dec"])
            keep = _on_chip(x, y, data.meta["chip_shape"])
            ra, dec = chip_wcs(path, v, headerlet=str(hlet)).all_pix2world(x[keep], y[keep], 1)
            dra = (ra - stars["ra"][keep]) * np.cos(np.deg2rad(dec))
            errors.append(np.hypot(dra, dec - stars["dec"][keep]) * 3600 / PSCALE)
        err = np.concatenate(errors)
        print(f"exposure {i}: aligned-WCS error rms {np.sqrt(np.mean(err ** 2)):.4f} px, max {err.max():.4f} px")
        assert np.sqrt(np.mean(err ** 2)) < 0.02 and err.max() < 0.05


def _expected_fit(data, i, frame):
    """The exact image = A . reference + offset of exposure i, from the simulation's truth."""
    stars = Table.read(data.truth_stars)
    tp = frame.deepcopy()
    tp.wcs.crpix = [0.0, 0.0]   # coordinates counted from CRPIX, as TweakReg reports shifts
    tp.wcs.set()
    img, ref = [], []
    for v in (1, 2):
        x, y = true_pixels(data, i, v, stars["ra"], stars["dec"])
        keep = _on_chip(x, y, data.meta["chip_shape"])
        ra_h, dec_h = chip_wcs(data.paths[i], v).all_pix2world(x[keep], y[keep], 1)
        img.append(np.column_stack(tp.wcs_world2pix(ra_h, dec_h, 0)))
        ref.append(np.column_stack(tp.wcs_world2pix(stars["ra"][keep], stars["dec"][keep], 0)))
    img, ref = np.vstack(img), np.vstack(ref)
    coeffs, *_ = np.linalg.lstsq(np.column_stack([ref, np.ones(len(ref))]), img, rcond=None)
    return coeffs[2]


def test_recovered_shift_rotation_scale(aligned_set):
    data, table = aligned_set["data"], aligned_set["table"]
    frame = read_frame(aligned_set["out"] / "shifts_wcs.fits")
    assert list(table["status"]) == ["REFERENCE", "SUCCESS", "SUCCESS", "SUCCESS"]
    for i, perr in enumerate(POINTING_ERRORS[1:], start=1):
        row = table[i]
        xsh, ysh = _expected_fit(data, i, frame)
        rot_err = (row["rot"] + perr[2] + 180.0) % 360.0 - 180.0   # TweakReg's rot is clockwise
        print(f"exposure {i}: shift error ({row['xsh'] - xsh:+.4f}, {row['ysh'] - ysh:+.4f}) px, "
              f"rot error {rot_err:+.5f} deg, scale error {row['scale'] - perr[3]:+.2e}, nmatch {row['nmatch']}")
        assert abs(row["xsh"] - xsh) < 0.02 and abs(row["ysh"] - ysh) < 0.02
        assert abs(rot_err) < 0.001
        assert abs(row["scale"] - perr[3]) < 3e-5
        assert row["nmatch"] >= 100


def test_outputs_and_inputs_untouched(aligned_set):
    out, data = aligned_set["out"], aligned_set["data"]
    assert {p: sha256(p) for p in data.paths} == aligned_set["sha"]
    root = data.meta["rootnames"][2]
    for name in (f"{root}_sci1_xy_catalog.coo", f"{root}_sci2_xy_catalog.reg", "tweakreg_shifts.txt",
                 "residuals.png", "vector.png", "shifts_wcs.fits"):
        assert (out / name).stat().st_size > 0
    lines = [ln.split() for ln in (out / "tweakreg_shifts.txt").read_text().splitlines() if not ln.startswith("#")]
    assert [ln[0] for ln in lines] == [os.path.basename(p) for p in data.paths] and all(len(ln) == 7 for ln in lines)
    with fits.open(out / f"{root}_hlet.fits") as hlet:
        assert [h.name for h in hlet] == ["PRIMARY", "SIPWCS", "SIPWCS", "WCSCORR"]
        sip = hlet["SIPWCS", 1].header
        assert sip["WCSNAME"] == "TWEAK" and sip["WCSNAMEA"] == "IDC_simulated" and hlet[0].header["FITSTAT"] == "SUCCESS"
        history = Table(hlet["WCSCORR"].data)
        assert list(history["WCS_ID"]) == ["IDC_simulated", "TWEAK"] * 2
    assert not list(REPO.glob("headerlet.log"))


def test_chip_wcs_default_unchanged_and_failed_fit_keeps_wcs(aligned_set, tmp_path, caplog):
    """minobj above the number of sources: every exposure keeps its WCS, the table and a warning say why."""
    data = aligned_set["data"]
    with caplog.at_level(logging.WARNING):
        table = TweakReg(data.paths[:2], outdir=str(tmp_path), minobj=100000)
    assert table["status"][1].startswith("FAILED: only") and "minobj=100000" in table["status"][1]
    assert any(os.path.basename(data.paths[1]) in r.getMessage() and "keeps its WCS" in r.getMessage()
               for r in caplog.records)
    hlet = tmp_path / f"{data.meta['rootnames'][1]}_hlet.fits"
    assert headerlet_status(hlet).startswith("FAILED")
    for v in (1, 2):
        a, b = chip_wcs(data.paths[1], v), chip_wcs(data.paths[1], v, headerlet=str(hlet))
        assert np.allclose(a.wcs.crval, b.wcs.crval, rtol=0, atol=1e-12) and np.allclose(a.wcs.cd, b.wcs.cd)


@pytest.mark.parametrize("case", ["no_overlap", "no_radec"])
def test_bad_reference_catalog_goes_on(aligned_set, tmp_path, case):
    data = aligned_set["data"]
    stars = Table.read(data.truth_stars)
    if case == "no_overlap":
        cat = Table({"ra": stars["ra"] + 1.0, "dec": stars["dec"]})
    else:
        cat = Table({"x": stars["ra"], "y": stars["dec"]})
    cat.write(tmp_path / "gaia.ecsv")
    table = TweakReg(data.paths[:2], outdir=str(tmp_path / "out"), refcat=str(tmp_path / "gaia.ecsv"))
    expected = "no overlap" if case == "no_overlap" else "has no RA column"
    assert all(s.startswith("FAILED") and expected in s for s in table["status"]), list(table["status"])
    assert all((tmp_path / "out" / f"{r}_hlet.fits").exists() for r in data.meta["rootnames"][:2])


def test_refcat_aligns_to_truth(aligned_set, tmp_path):
    """A Gaia-like catalog (the true star positions) as the reference: every exposure is aligned."""
    data = aligned_set["data"]
    Table.read(data.truth_stars)["ra", "dec", "flux"].write(tmp_path / "gaia.csv")
    table = TweakReg(data.paths[2:4], outdir=str(tmp_path / "out"), refcat=str(tmp_path / "gaia.csv"))
    assert list(table["status"]) == ["SUCCESS", "SUCCESS"]
    stars = Table.read(data.truth_stars)
    x, y = true_pixels(data, 3, 1, stars["ra"], stars["dec"])
    keep = _on_chip(x, y, data.meta["chip_shape"])
    hlet = tmp_path / "out" / f"{data.meta['rootnames'][3]}_hlet.fits"
    ra, dec = chip_wcs(data.paths[3], 1, headerlet=str(hlet)).all_pix2world(x[keep], y[keep], 1)
    err = np.hypot((ra - stars["ra"][keep]) * np.cos(np.deg2rad(dec)), dec - stars["dec"][keep]) * 3600 / PSCALE
    assert np.sqrt(np.mean(err ** 2)) < 0.02


def _sky(w, x, y):
    return np.column_stack(w.all_pix2world(x, y, 1))


def test_updatehdr_round_trips(aligned_set, tmp_path):
    data, out = aligned_set["data"], aligned_set["out"]
    path, root = data.paths[3], data.meta["rootnames"][3]
    hlet = str(out / f"{root}_hlet.fits")
    with pytest.raises(InputError, match="copy"):
        apply_headerlet(path, hlet)
    copy = apply_headerlet(path, hlet, output=str(tmp_path / f"{root}_flt.fits"))
    row = aligned_set["table"][3]
    shifted = update_from_shifts(path, read_frame(out / "shifts_wcs.fits"), row["xsh"], row["ysh"], row["rot"],
                                 row["scale"], output=str(tmp_path / "shifted" / f"{root}_flt.fits"))
    x, y = np.meshgrid(np.linspace(1, 512, 5), np.linspace(1, 256, 5))
    for v in (1, 2):
        aligned = _sky(chip_wcs(path, v, headerlet=hlet), x.ravel(), y.ravel())
        assert np.abs(_sky(chip_wcs(copy, v), x.ravel(), y.ravel()) - aligned).max() < 1e-10
        # the shifts table alone reproduces the fitted WCS to 1e-3 pixel
        assert np.abs(_sky(chip_wcs(shifted, v), x.ravel(), y.ravel()) - aligned).max() * 3600 / PSCALE < 1e-3
        assert fits.getheader(copy, ("SCI", v))["WCSNAMEA"] == "IDC_simulated"
    assert sha256(path) == aligned_set["sha"][path]


def test_tweakback_carries_a_drz_fit_to_the_exposures(aligned_set, tmp_path):
    data, out = aligned_set["data"], aligned_set["out"]
    frame = read_frame(out / "shifts_wcs.fits")
    hdr = frame.to_header()
    hdr["WCSNAME"] = "ORIG"
    nx, ny = frame.pixel_shape
    prim = fits.PrimaryHDU()
    for k, p in enumerate(data.paths[:2], start=1):
        prim.header[f"D{k:03d}DATA"] = os.path.basename(p) + "[sci,1]"
        shutil.copy(p, tmp_path)
    fits.HDUList([prim, fits.ImageHDU(np.zeros((ny, nx), np.float32), hdr, name="SCI")]).writeto(tmp_path / "x_drz.fits")
    drz = update_from_shifts(str(tmp_path / "x_drz.fits"), frame, 1.5, -2.0, 0.02, 1.0,
                             output=str(tmp_path / "aligned" / "x_drz.fits"))
    for p in data.paths[:2]:
        shutil.copy(p, tmp_path / "aligned")
    written = tweakback(drz)
    assert len(written) == 2
    old, new = chip_wcs(str(tmp_path / "x_drz.fits"), 1), chip_wcs(drz, 1)
    x, y = np.meshgrid(np.linspace(1, 512, 6), np.linspace(1, 256, 6))
    for p, hlet in zip(data.paths[:2], written):
        for v in (1, 2):
            q = old.wcs_world2pix(_sky(chip_wcs(p, v), x.ravel(), y.ravel()), 1)
            expected = np.column_stack(new.wcs_pix2world(q[:, 0], q[:, 1], 1))
            got = _sky(chip_wcs(p, v, headerlet=hlet), x.ravel(), y.ravel())
            assert np.abs(got - expected).max() * 3600 / PSCALE < 1e-3


def test_schema_and_config_know_every_parameter():
    import yaml

    from snakedrizzle.workflow.params import DEFAULTS
    schema = json.loads((REPO / "config.schema.json").read_text())["properties"]
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for key, default in DEFAULTS.items():
        assert schema[key]["default"] == default and config.get(key, default) == default, key


# --- the DAG --------------------------------------------------------------------------------

def _planned_rules(workdir, target, config):
    proc = snakemake(workdir, "--dry-run", target, config=config)
    return sorted(re.findall(r"^\s*(?:local)?rule (\w+):", proc.stdout + proc.stderr, re.M))


def test_align_rules_rerun_only_for_alignment_parameters(small_set, tmp_path):
    config = {"input": str(small_set["inputs"] / "*_flt.fits"), "output": "s"}
    target = "results/s/align/s_shifts.ecsv"
    snakemake(tmp_path, target, config=config)
    shifts = Table.read(tmp_path / target)
    assert list(shifts["status"]) == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert _planned_rules(tmp_path, target, {**config, "final_pixfrac": 0.7, "driz_cr_snr": "3 2"}) == []
    assert _planned_rules(tmp_path, target, {**config, "searchrad": 2.0}) == ["align_fit"] * 3 + ["align_shifts"]
    assert _planned_rules(tmp_path, target, {**config, "threshold": 5.0}) == sorted(
        ["align_catalog"] * 6 + ["align_refcat"] + ["align_fit"] * 3 + ["align_shifts"])
    # refimagefindpars do nothing without a refimage
    assert _planned_rules(tmp_path, target, {**config, "ref_threshold": 9.0}) == []


@pytest.mark.slow
def test_hrc_shift_matches_drizzlepac_tweakreg(tmp_path):
    pytest.importorskip("drizzlepac.tweakreg", reason="drizzlepac is the test-only reference")
    paths = sorted((SHARED / "acs_hrc_47tuc").glob("j8bt06*_flt.fits"))
    if len(paths) < 2:
        pytest.skip("../shared/data/hst/acs_hrc_47tuc is not here")
    before = [sha256(p) for p in paths]
    snakemake(tmp_path / "ours", "results/hrc/align/hrc_shifts.ecsv",
              config={"input": ",".join(map(str, paths)), "output": "hrc"})
    ours = Table.read(tmp_path / "ours/results/hrc/align/hrc_shifts.ecsv")
    theirs_dir = tmp_path / "theirs"
    theirs_dir.mkdir()
    for p in paths:
        shutil.copy(p, theirs_dir)
        (theirs_dir / p.name).chmod(0o644)
    script = ("from drizzlepac import tweakreg\n"
              f"tweakreg.TweakReg({[p.name for p in paths]!r}, updatehdr=False, interactive=False, see2dplot=False,"
              " residplot='No plot', shiftfile=True, outshifts='shifts.txt')\n")
    subprocess.run([sys.executable, "-c", script], cwd=theirs_dir, check=True, capture_output=True)
    from snakedrizzle.align.shifts import read_shiftfile
    theirs = read_shiftfile(theirs_dir / "shifts.txt")
    row = ours[1]
    xsh, ysh, rot, scale = theirs[row["image"]]
    drot = (row["rot"] - rot + 180) % 360 - 180
    print(f"\nHRC {row['image']}: ours xsh {row['xsh']:.4f} ysh {row['ysh']:.4f} rot {row['rot']:.5f} "
          f"scale {row['scale']:.6f}; DrizzlePac xsh {xsh:.4f} ysh {ysh:.4f} rot {rot:.5f} scale {scale:.6f}")
    assert abs(row["xsh"] - xsh) < 0.05 and abs(row["ysh"] - ysh) < 0.05
    assert abs(drot) < 0.001 and abs(row["scale"] - scale) < 1e-4
    assert [sha256(p) for p in paths] == before


# --- alignment feeding the drizzle stages ------------------------------------------------------

@pytest.mark.slow
def test_align_true_drizzles_with_the_aligned_wcs(aligned_set, tmp_path):
    from truth import star_measurements

    data = aligned_set["data"]
    inputs = os.path.dirname(data.paths[0])
    for name, align in (("raw", "false"), ("aligned", "true")):
        snakemake(tmp_path, config={"input": f"{inputs}/*_flt.fits", "output": name, "align": align})
    raw = star_measurements(tmp_path / "results/raw/raw_drz.fits", data.truth_stars, min_flux=1000.0)
    ali = star_measurements(tmp_path / "results/aligned/aligned_drz.fits", data.truth_stars, min_flux=1000.0)
    rms = {k: float(np.sqrt(np.mean(m[0] ** 2 + m[1] ** 2))) for k, m in (("raw", raw), ("aligned", ali))}
    print("star position RMS vs truth (px):", rms, "stars:", len(ali[0]))
    assert len(ali[0]) >= 30
    assert rms["aligned"] < 0.02, rms
    assert rms["raw"] > 5 * rms["aligned"], rms  # the pointing errors were real, and alignment removed them
    assert np.median(ali[2]) == pytest.approx(1.0, abs=0.01)
    with fits.open(tmp_path / "results/aligned/aligned_drz.fits") as hdul:
        assert hdul["SCI"].header["WCSNAME"] == "TWEAK"
    assert (tmp_path / "results/aligned/align/aligned_shifts.ecsv").exists()
    assert {p: sha256(p) for p in data.paths} == aligned_set["sha"]

    # Drizzle parameters leave alignment alone; an alignment parameter reruns it and what follows.
    config = {"input": f"{inputs}/*_flt.fits", "output": "aligned", "align": "true"}
    assert _planned_rules(tmp_path, "all", {**config, "final_pixfrac": 0.7}) == ["all", "final_drizzle", "preview"]
    rules = set(_planned_rules(tmp_path, "all", {**config, "searchrad": 2.0}))
    assert {"align_fit", "driz_separate", "median", "blot", "driz_cr", "final_drizzle"} <= rules
    assert "align_catalog" not in rules and "prepare" not in rules
