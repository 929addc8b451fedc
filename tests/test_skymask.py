"""skymask_cat (SPEC §1.5): user masks per chip, ANDed into the pixels the sky statistics use
(prepare: localmin/globalmin) and sky matching uses (sky_pair). A bright extended blob biases the
sky; masked, the true sky comes back. Bad catalogs stop with one InputError; an edited mask file
reruns prepare, its pairs and the solve."""
import json
import os
import re
import shutil

import numpy as np
import pytest
from astropy.io import fits

from conftest import snakemake
from snakedrizzle import wcs as W
from snakedrizzle.drizzle import files, files_sky, skymask
from snakedrizzle.drizzle import skymatch as SM
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_chip, read_exposure
from snakedrizzle.simulate import make_dataset
from snakedrizzle.workflow.params import stage_params

CHIP = (256, 512)
SKY = [100.0, 130.0]          # e-/pixel; the second exposure carries the blob
BLOB_AMP, BLOB_SIGMA = 150.0, 40.0  # e- and pixels: above the 11 e- pixel noise over ~30000 pixels
MASK_RADIUS = 4 * BLOB_SIGMA   # the blob is 0.05 e- there
NOISE = np.sqrt(SKY[0] + 4.2 ** 2)  # one pixel's sky noise (ACS/WFC read noise 4.2 e-)


def blob_centre(shape):
    return shape[0] / 2, shape[1] / 2


def add_blob(path):
    """A smooth Gaussian 'galaxy' in the middle of every chip: the clipping cannot remove it."""
    with fits.open(path, mode="update") as hdul:
        for hdu in hdul:
            if hdu.name == "SCI":
                y, x = np.indices(hdu.data.shape)
                cy, cx = blob_centre(hdu.data.shape)
                blob = BLOB_AMP * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * BLOB_SIGMA ** 2))
                hdu.data = (hdu.data + blob).astype(np.float32)


def write_mask(path, shape, radius=MASK_RADIUS):
    """1 = the sky may use the pixel, 0 inside ``radius`` of the blob."""
    y, x = np.indices(shape)
    cy, cx = blob_centre(shape)
    fits.PrimaryHDU((np.hypot(x - cx, y - cy) > radius).astype(np.uint8)).writeto(path, overwrite=True)
    return path


@pytest.fixture(scope="module")
def blob_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("skymask")
    data = make_dataset(folder, "ACS/WFC", 2, seed=11, chip_shape=CHIP, sky=SKY,
                        dithers=[(0, 0), (0.6, 0.4)], n_stars=30, n_galaxies=0)
    add_blob(data.paths[1])
    root = os.path.basename(data.paths[1])
    for v in (1, 2):
        write_mask(folder / f"mask_sci{v}.fits", CHIP)
    (folder / "skymask.cat").write_text(f"# user masks\n{root}, mask_sci1.fits, mask_sci2.fits\n")
    return {"paths": data.paths, "folder": folder, "catalog": str(folder / "skymask.cat")}


def prepared(path, out, catalog="", method="localmin"):
    pars = stage_params("prepare", {"skymask_cat": catalog, "skymethod": method})
    static, stats = out / (os.path.basename(path) + "_static.fits"), out / (os.path.basename(path) + ".json")
    files.prepare_stage(path, str(static), str(stats), pars)
    return str(static), json.loads(stats.read_text())


# ---- the catalog ---------------------------------------------------------------------------

def test_catalog_format_extensions_none_and_blank_separator(blob_set, tmp_path):
    path = shutil.copy(blob_set["paths"][1], tmp_path)
    name = os.path.basename(path)
    write_mask(tmp_path / "m1.fits", CHIP)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros(CHIP, np.int16), name="MASK")]).writeto(tmp_path / "m2.fits")
    exp = read_exposure(path)
    cases = {
        f"{name}, m1.fits, m2.fits[MASK,1]": {1: "ring", 2: "none"},
        f"{name} m1.fits": {1: "ring"},                          # blanks before the first mask
        f"{name}, None, m1.fits": {2: "ring"},                    # None: no mask for chip 1
        f"{name}, , m1.fits": {2: "ring"},                        # an empty entry: the same
        f"{name}{{('sci',2)}}, m1.fits": {2: "ring"},             # the masks follow the extensions
        f"{name}[4], m1.fits": {2: "ring"},                       # HDU 4 is SCI,2
        f"# {name}, m1.fits\n\n{name}[sci,1], m2.fits[1]": {1: "none"},
    }
    for k, (text, want) in enumerate(cases.items()):
        cat = tmp_path / f"c{k}.cat"
        cat.write_text(text + "\n")
        masks = skymask.user_masks(str(cat), path, exp.chips, exp.shapes)
        assert sorted(masks) == sorted(want), text
        for v, kind in want.items():
            assert masks[v].shape == CHIP and masks[v].any() == (kind == "ring"), text
            assert not masks[v][128, 256], text


def test_lines_for_other_images_are_skipped(blob_set, tmp_path):
    (tmp_path / "c.cat").write_text(f"{blob_set['paths'][1]}, {blob_set['folder']}/mask_sci1.fits\n")
    exp = read_exposure(blob_set["paths"][0])
    assert skymask.user_masks(str(tmp_path / "c.cat"), exp.path, exp.chips, exp.shapes) == {}


@pytest.mark.parametrize("line, needle", [
    ("{image}, nowhere.fits", "nowhere.fits, which does not exist"),
    ("missing_flt.fits, {folder}/mask_sci1.fits", "missing_flt.fits, which does not exist"),
    ("{image}, small.fits", "has shape (10, 20), but"),
    ("{image}, {folder}/mask_sci1.fits, {folder}/mask_sci1.fits, {folder}/mask_sci1.fits", "3 masks for 2"),
])
def test_bad_catalog_is_one_input_error_naming_catalog_and_file(blob_set, tmp_path, line, needle):
    fits.PrimaryHDU(np.ones((10, 20), np.uint8)).writeto(tmp_path / "small.fits")
    cat = tmp_path / "bad.cat"
    cat.write_text(line.format(image=blob_set["paths"][1], folder=blob_set["folder"]) + "\n")
    with pytest.raises(InputError) as err:
        prepared(blob_set["paths"][1], tmp_path, str(cat))
    assert str(cat) in str(err.value) and needle in str(err.value), str(err.value)


# ---- prepare: localmin ---------------------------------------------------------------------

def test_user_mask_removes_the_blob_bias_from_the_chip_sky(blob_set, tmp_path):
    path = blob_set["paths"][1]
    _, plain = prepared(path, tmp_path)
    _, masked = prepared(path, tmp_path, blob_set["catalog"])
    for v in ("1", "2"):
        bias_plain = plain["chips"][v]["value"] - SKY[1]
        bias_masked = masked["chips"][v]["value"] - SKY[1]
        print(f"chip {v}: sky without mask {bias_plain:+.3f} e-, with mask {bias_masked:+.3f} e- from truth")
        assert abs(bias_masked) < 0.05 * NOISE
        assert bias_plain > 5 * 0.05 * NOISE
    # localmin's MDRIZSKY follows
    assert abs(masked["mdrizsky"]["1"] - SKY[1]) < 0.05 * NOISE < plain["mdrizsky"]["1"] - SKY[1]


# ---- sky_pair: match -----------------------------------------------------------------------

def pair_difference(blob_set, out, catalog):
    pars = stage_params("sky_pair", {"skymask_cat": catalog})
    statics = [prepared(p, out, catalog, "match")[0] for p in blob_set["paths"]]
    files_sky.sky_pair_stage(blob_set["paths"], statics, str(out / "pair.json"), pars)
    pair = json.loads((out / "pair.json").read_text())
    a, b = (read_exposure(p).rootname for p in blob_set["paths"])
    chip = read_chip(blob_set["paths"][0], 1)
    w = W.chip_wcs(blob_set["paths"][0], 1)
    c0 = SM.SkyChip(chip.sci, chip.finite, w, W.linear_pscale(w), 400.0, "counts")
    return (pair["sky"][b] - pair["sky"][a]) / c0.brightness(1.0)  # e-/pixel


def test_user_mask_removes_the_blob_bias_from_sky_matching(blob_set, tmp_path):
    plain = pair_difference(blob_set, tmp_path, "")
    masked = pair_difference(blob_set, tmp_path, blob_set["catalog"])
    true = SKY[1] - SKY[0]
    print(f"matched difference: without mask {plain:.3f}, with mask {masked:.3f}, true {true} e-")
    assert abs(masked - true) <= max(0.005 * true, 0.1 * NOISE)
    assert plain - true > 3 * max(0.005 * true, 0.1 * NOISE)


def test_drizzlepac_skymatch_with_the_same_catalog(blob_set, tmp_path):
    """stsci.skypac's match with the same masks (its @-file takes the skymask_cat format), DQ
    ignored on both sides; the iter_polygons_flat patch as in test_skymatch."""
    skypac = pytest.importorskip("stsci.skypac.skymatch")
    from spherical_geometry.polygon import SphericalPolygon

    paths = [shutil.copy(p, tmp_path) for p in blob_set["paths"]]
    for v in (1, 2):
        shutil.copy(blob_set["folder"] / f"mask_sci{v}.fits", tmp_path)
    root = os.path.basename(paths[1])
    (tmp_path / "cat").write_text(f"{os.path.basename(paths[0])}\n{root}, mask_sci1.fits, mask_sci2.fits\n")
    had = hasattr(SphericalPolygon, "iter_polygons_flat")
    if not had:
        SphericalPolygon.iter_polygons_flat = lambda self: iter(self.polygons)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # skypac reads the catalog's relative names from the current folder
        skypac.skymatch("@cat", skymethod="match", skystat="median", lower=None, upper=None, nclip=5,
                        lsigma=4.0, usigma=4.0, binwidth=0.1, skyuser_kwd="MDRIZSKY", units_kwd="BUNIT",
                        readonly=False, dq_bits=None, subtractsky=False, verbose=False)
    finally:
        os.chdir(cwd)
        if not had:
            del SphericalPolygon.iter_polygons_flat
    theirs = [fits.getheader(p, ("SCI", 1))["MDRIZSKY"] for p in paths]
    chips = {}
    for p in blob_set["paths"]:
        e = read_exposure(p)
        user = skymask.user_masks(blob_set["catalog"], p, e.chips, e.shapes)
        chips[e.rootname] = []
        for v in e.chips:
            c, w = read_chip(p, v), W.chip_wcs(p, v)
            good = c.finite & user.get(v, True)
            chips[e.rootname].append(SM.SkyChip(c.sci, good, w, W.linear_pscale(w), e.exptime, e.in_units))
    ours = SM.match_exposures(chips, "match")
    c0 = next(iter(chips.values()))[0]
    data_units = [v / c0.brightness(1.0) for v in ours.skies.values()]
    print(f"skypac {theirs}, ours {data_units}")
    assert np.allclose(data_units, theirs, atol=0.01), (data_units, theirs)


# ---- the workflow --------------------------------------------------------------------------

@pytest.mark.slow
def test_editing_a_mask_file_reruns_its_prepare_pairs_and_solve(blob_set, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for p in blob_set["paths"]:
        shutil.copy(p, inputs)
    for v in (1, 2):
        shutil.copy(blob_set["folder"] / f"mask_sci{v}.fits", inputs)
    shutil.copy(blob_set["catalog"], inputs)
    work = tmp_path / "work"
    config = {"input": f"{inputs}/*_flt.fits", "output": "m", "skymethod": "match",
              "skymask_cat": str(inputs / "skymask.cat")}
    target = "results/m/m_skymatch.json"
    snakemake(work, target, config=config)
    solve = json.loads((work / target).read_text())
    (a, b), c0 = sorted(solve["skies"]), read_chip(blob_set["paths"][0], 1)
    w = W.chip_wcs(blob_set["paths"][0], 1)
    unit = SM.SkyChip(c0.sci, c0.finite, w, W.linear_pscale(w), 400.0, "counts").brightness(1.0)
    assert abs((solve["skies"][b] - solve["skies"][a]) / unit - (SKY[1] - SKY[0])) <= 0.1 * NOISE
    assert "nothing to be done" in snakemake(work, target, "--dry-run", config=config).stdout.lower()
    write_mask(inputs / "mask_sci2.fits", CHIP, radius=MASK_RADIUS / 2)
    jobs = dry_run_jobs(work, target, config)
    assert sorted(jobs) == sorted([("prepare", b), ("sky_pair", a), ("sky_match", None)]), jobs


def dry_run_jobs(work, target, config):
    """(rule, root wildcard) of each job a dry run for ``target`` lists."""
    text = snakemake(work, target, "--dry-run", config=config).stdout
    jobs = []
    for block in re.split(r"\n(?=[ \t]*(?:local)?rule )", text):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            root = re.search(r"wildcards: .*?root=(\w+)", block)
            jobs.append((m.group(1), root.group(1) if root else None))
    return jobs


def test_bad_catalog_stops_the_run_before_any_job(blob_set, tmp_path):
    cat = tmp_path / "bad.cat"
    cat.write_text(f"{blob_set['paths'][1]}, gone.fits\n")
    from snakedrizzle.astrodrizzle import AstroDrizzle

    with pytest.raises(InputError) as err:
        AstroDrizzle(blob_set["paths"], output="x", workdir=tmp_path / "w", dryrun=True, skymask_cat=str(cat))
    assert str(err.value) == f"{cat}: line 1 names {tmp_path / 'gone.fits'}, which does not exist"
