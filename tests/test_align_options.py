"""TweakReg's source options (catfile user catalogs, exclusions, nbright), the growing reference
catalog (expand_refcat, enforce_user_order), refcat in reference-frame pixels, reusename and the
headerlet keywords, on synthetic exposures with known pointing errors."""
import os
import re
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from conftest import snakemake
from snakedrizzle.align.jobs import read_frame
from snakedrizzle.align.order import overlap_order
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.simulate import make_dataset
from snakedrizzle.tweakreg import TweakReg
from test_align import POINTING_ERRORS, _expected_fit, aligned_set  # noqa: F401  (module fixture)


def _assert_recovers_truth(data, table, frame, first=1, tol=0.02):
    for i in range(first, len(data.paths)):
        row = table[table["image"] == os.path.basename(data.paths[i])][0]
        assert row["status"] == "SUCCESS", row["status"]
        xsh, ysh = _expected_fit(data, i, frame)
        assert abs(row["xsh"] - xsh) < tol and abs(row["ysh"] - ysh) < tol, (i, row["xsh"] - xsh, row["ysh"] - ysh)


def _write_catfile(folder, data, out, units="pixels"):
    """User catalogs made from the finder's catalogs of ``out``: plain text x y flux (or ra dec
    flux), one per chip, listed in a catfile."""
    folder.mkdir(exist_ok=True)
    lines = []
    for path, root in zip(data.paths, data.meta["rootnames"]):
        names = []
        for v in (1, 2):
            t = Table.read(out / f"{root}_sci{v}_xy_catalog.ecsv")
            a, b = (t["ra"], t["dec"]) if units == "degrees" else (t["x"], t["y"])
            name = f"{root}_{v}.txt"
            np.savetxt(folder / name, np.column_stack([a, b, t["flux"]]), fmt="%.10f")
            names.append(name)
        lines.append(" ".join([os.path.basename(path)] + names))
    (folder / "catfile.list").write_text("\n".join(lines) + "\n")
    return str(folder / "catfile.list")


@pytest.mark.parametrize("units", ["pixels", "degrees"])
def test_catfile_user_catalogs_recover_the_pointing_errors(aligned_set, tmp_path, units):  # noqa: F811
    data = aligned_set["data"]
    catfile = _write_catfile(tmp_path / "cats", data, aligned_set["out"], units)
    table = TweakReg(data.paths, outdir=str(tmp_path / "out"), catfile=catfile, xyunits=units, fluxcol=3,
                     nbright=120)
    frame = read_frame(tmp_path / "out" / "shifts_wcs.fits")
    _assert_recovers_truth(data, table, frame)
    root = data.meta["rootnames"][1]
    cat = Table.read(tmp_path / "out" / f"{root}_sci1_xy_catalog.ecsv")
    found = Table.read(aligned_set["out"] / f"{root}_sci1_xy_catalog.ecsv")
    assert len(cat) == min(120, len(found)) and cat.meta["usercat"].endswith(f"{root}_1.txt")
    assert np.min(cat["flux"]) >= np.sort(found["flux"])[::-1][len(cat) - 1] - 1e-6  # the brightest were kept
    assert table[1]["nmatch"] <= 240


def test_catfile_flux_limits_in_magnitudes(aligned_set, tmp_path):  # noqa: F811
    """fluxunits='mag': minflux is the faint limit, maxflux the bright one, as in TweakReg."""
    data, out = aligned_set["data"], aligned_set["out"]
    root = data.meta["rootnames"][0]
    t = Table.read(out / f"{root}_sci1_xy_catalog.ecsv")
    t = t[t["flux"] > 0]
    mag = -2.5 * np.log10(np.asarray(t["flux"]))
    np.savetxt(tmp_path / "c1.txt", np.column_stack([t["x"], t["y"], mag]))
    (tmp_path / "cat.list").write_text(f"{os.path.basename(data.paths[0])} c1.txt None\n")
    faint, bright = np.percentile(mag, 75), np.percentile(mag, 25)
    TweakReg(data.paths[:1], outdir=str(tmp_path / "out"), catfile=str(tmp_path / "cat.list"), fluxcol=3,
             fluxunits="mag", minflux=faint, maxflux=bright)
    got = Table.read(tmp_path / "out" / f"{root}_sci1_xy_catalog.ecsv")
    expected = (mag <= faint) & (mag >= bright)
    assert len(got) == expected.sum() > 0
    assert np.allclose(np.sort(got["x"]), np.sort(np.asarray(t["x"])[expected]))
    # chip 2 has the None placeholder: its sources are found on the image
    assert Table.read(tmp_path / "out" / f"{root}_sci2_xy_catalog.ecsv").meta["usercat"] == ""


def test_exclusions_keep_sources_out_of_regions(aligned_set, tmp_path):  # noqa: F811
    data, out = aligned_set["data"], aligned_set["out"]
    root = data.meta["rootnames"][2]
    (tmp_path / "left.reg").write_text("# Region file format: DS9\nimage\n-box(128.5,128.5,256,256,0)\n")
    fits.PrimaryHDU(np.ones((256, 512), np.uint8)).writeto(tmp_path / "all_good.fits")
    (tmp_path / "excl.list").write_text(f"{os.path.basename(data.paths[2])} left.reg all_good.fits\n")
    table = TweakReg(data.paths[2:3], outdir=str(tmp_path / "out"), exclusions=str(tmp_path / "excl.list"))
    assert list(table["status"]) == ["REFERENCE"]
    got = Table.read(tmp_path / "out" / f"{root}_sci1_xy_catalog.ecsv")
    found = Table.read(out / f"{root}_sci1_xy_catalog.ecsv")
    assert len(got) > 0 and np.all(got["x"] > 256.5)
    right = found[found["x"] > 260]
    assert len(got) >= 0.9 * len(right)   # outside the region nothing was lost
    same = Table.read(tmp_path / "out" / f"{root}_sci2_xy_catalog.ecsv")
    assert len(same) == len(Table.read(out / f"{root}_sci2_xy_catalog.ecsv"))


def test_expand_refcat_grows_the_reference_and_still_recovers_truth(aligned_set, tmp_path):  # noqa: F811
    data = aligned_set["data"]
    table = TweakReg(data.paths, outdir=str(tmp_path), expand_refcat=True)
    frame = read_frame(tmp_path / "shifts_wcs.fits")
    _assert_recovers_truth(data, table, frame)
    roots = data.meta["rootnames"]
    sizes = [len(Table.read(tmp_path / f"{r}_cumulative_refcat.ecsv")) for r in roots]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]   # dithers bring new sources in
    coo = np.loadtxt(tmp_path / "cumulative_sky_refcat_tweakreg.coo")
    assert len(coo) == sizes[-1]


def test_overlap_order_starts_from_the_best_pair(tmp_path):
    """Exposures dithered 0, 20, 22 and 10 arcsec along x: the pair (20, 22) overlaps most, then
    the one at 10, then the one at 0."""
    data = make_dataset(tmp_path, "ACS/HRC", 4, seed=3, chip_shape=(200, 200), n_stars=20, n_galaxies=0,
                        dithers=[(0, 0), (4.0, 0), (4.4, 0), (2.0, 0)], distortion=False)
    order = overlap_order([read_exposure(p) for p in data.paths])
    r = data.meta["rootnames"]
    assert order == [r[1], r[2], r[3], r[0]]


def test_reusename_and_headerlet_keywords(aligned_set, tmp_path):  # noqa: F811
    data = aligned_set["data"]
    work = tmp_path / "work"
    work.mkdir()
    paths = [shutil.copy(p, work) for p in data.paths[:2]]
    for p in paths:
        os.chmod(p, 0o644)
    (tmp_path / "history.txt").write_text("aligned to the first exposure\nsecond line\n")
    TweakReg(paths, outdir=str(tmp_path / "a"), updatehdr=True, hdrname="MYFIT", author="A. Observer",
             descrip="test fit", history=str(tmp_path / "history.txt"))
    with fits.open(tmp_path / "a" / f"{data.meta['rootnames'][1]}_hlet.fits") as hlet:
        h = hlet[0].header
        assert (h["HDRNAME"], h["AUTHOR"], h["DESCRIP"]) == ("MYFIT", "A. Observer", "test fit")
        assert "aligned to the first exposure" in str(h["HISTORY"])
    assert fits.getheader(paths[1], ("SCI", 1))["WCSNAME"] == "TWEAK"
    with pytest.raises(InputError, match="reusename"):
        TweakReg(paths, outdir=str(tmp_path / "b"))
    table = TweakReg(paths, outdir=str(tmp_path / "c"), reusename=True)
    assert list(table["status"]) == ["REFERENCE", "SUCCESS"]


def test_refcat_in_reference_frame_pixels(aligned_set, tmp_path):  # noqa: F811
    """refxyunits='pixels': the truth placed in the reference frame of the first exposure."""
    data, out = aligned_set["data"], aligned_set["out"]
    frame = read_frame(out / "shifts_wcs.fits")
    stars = Table.read(data.truth_stars)
    x, y = frame.wcs_world2pix(stars["ra"], stars["dec"], 1)
    Table({"xpix": x, "ypix": y}).write(tmp_path / "ref.ecsv")
    table = TweakReg(data.paths[:2], outdir=str(tmp_path / "out"), refcat=str(tmp_path / "ref.ecsv"),
                     refxyunits="pixels", refxcol="xpix", refycol="ypix")
    assert list(table["status"]) == ["SUCCESS", "SUCCESS"]
    frame = read_frame(tmp_path / "out" / "shifts_wcs.fits")
    x0, y0 = _expected_fit(data, 0, frame)
    assert abs(table[0]["xsh"] - x0) < 0.02 and abs(table[0]["ysh"] - y0) < 0.02


def test_dag_expand_refcat_and_user_files(small_set, tmp_path):
    """In the DAG: expand_refcat chains the fits (each fit waits for the grown catalog), and
    editing an exclusions region file reruns just that chip's catalog and what follows."""
    config = {"input": str(small_set["inputs"] / "*_flt.fits"), "output": "s", "expand_refcat": "true"}
    target = "results/s/align/s_shifts.ecsv"
    snakemake(tmp_path, target, config=config)
    shifts = Table.read(tmp_path / target)
    assert list(shifts["status"]) == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert (tmp_path / "results/s/align/cumulative_sky_refcat_s.coo").stat().st_size > 0
    roots = [os.path.basename(p).split("_")[0] for p in sorted(small_set["inputs"].glob("*_flt.fits"))]
    (tmp_path / "r.reg").write_text("image\n-circle(100,100,30)\n")
    (tmp_path / "excl.list").write_text(f"{roots[2]}_flt.fits None r.reg\n")
    config["exclusions"] = "excl.list"
    planned = _planned_outputs(tmp_path, target, config)
    assert [o for o in planned if "xy_catalog.ecsv" in o] == [f"results/s/align/{roots[2]}_sci2_xy_catalog.ecsv"]
    # the last exposure of the chain: only its fit and what depends on it follow
    assert f"results/s/align/{roots[1]}_hlet.fits" not in planned and f"results/s/align/{roots[2]}_hlet.fits" in planned
    snakemake(tmp_path, target, config=config)
    cat = Table.read(tmp_path / f"results/s/align/{roots[2]}_sci2_xy_catalog.ecsv")
    assert not np.any(np.hypot(cat["x"] - 100, cat["y"] - 100) < 29)
    (tmp_path / "r.reg").write_text("image\n-circle(100,100,45)\n")   # an edited region reruns that chip
    assert [o for o in _planned_outputs(tmp_path, target, config) if "xy_catalog.ecsv" in o] == [
        f"results/s/align/{roots[2]}_sci2_xy_catalog.ecsv"]


def _planned_outputs(workdir, target, config):
    proc = snakemake(workdir, target, "--dry-run", config=config)
    return [f for line in re.findall(r"^\s*output: (.*)$", proc.stdout, re.M) for f in line.split(", ")]
