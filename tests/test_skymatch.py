"""Sky matching (skymethod=match, globalmin+match): recovered offsets against the simulator's
truth, repeatability, no and perfect overlap, the solver, DrizzlePac's skymatch side by side, and
the workflow's pair/solve jobs."""
import json
import logging
import shutil

import numpy as np
import pytest

from conftest import planned_jobs, snakemake
from snakedrizzle import wcs as W
from snakedrizzle.drizzle import skymatch as SM
from snakedrizzle.io.exposure import read_chip, read_exposure
from snakedrizzle.simulate import make_dataset

CHIP = (256, 512)
SKY = [80.0, 130.0, 95.0, 130.0]  # e-/pixel; the last is the first + 50 e- and overlaps only partly
DITHERS = [(0, 0), (1.0, 0.5), (-0.8, 1.2), (12.0, 6.0)]  # arcsec


def sky_chips(paths, use_dq=True):
    """{rootname: [SkyChip]} of the files (good = finite, and DQ == 0 when ``use_dq``)."""
    out = {}
    for p in paths:
        e = read_exposure(p)
        chips = []
        for v in e.chips:
            c, w = read_chip(p, v), W.chip_wcs(p, v)
            good = c.finite & (c.dq == 0) if use_dq else c.finite
            chips.append(SM.SkyChip(c.sci, good, w, W.linear_pscale(w), e.exptime, e.in_units))
        out[e.rootname] = chips
    return out


@pytest.fixture(scope="module")
def offset_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("skymatch")
    data = make_dataset(folder, "ACS/WFC", 4, seed=3, chip_shape=CHIP, sky=SKY, dithers=DITHERS,
                        n_stars=100, n_galaxies=10)
    return {"paths": data.paths, "chips": sky_chips(data.paths)}


def brightness(chip, electrons):
    return chip.brightness(electrons)


def test_recovers_known_offsets_with_a_partly_overlapping_exposure(offset_set):
    chips = offset_set["chips"]
    names = list(chips)
    # the +50 e- exposure overlaps the first only partly
    pair = SM.pair_sky(chips[names[0]], chips[names[3]])
    whole = sum(SM.chip_footprint(c.wcs, c.sci.shape).area() for c in chips[names[0]]) * SM.STERADIAN_ARCSEC2
    assert 0.1 * whole < pair.area_arcsec2 < 0.7 * whole
    solution = SM.match_exposures(chips, "match")
    c0 = chips[names[0]][0]
    noise = brightness(c0, np.sqrt(min(SKY) + 4.2 ** 2))  # sky noise of one pixel (ACS/WFC read noise)
    for k, n in enumerate(names):
        true = brightness(c0, SKY[k] - min(SKY))
        assert abs(solution.skies[n] - true) <= max(0.005 * true, 0.1 * noise), (n, solution.skies[n], true)
    assert solution.skies[names[0]] == 0.0 and solution.groups == [names]


def test_identical_values_in_five_runs(offset_set):
    runs = [SM.match_exposures(offset_set["chips"], "globalmin+match") for _ in range(5)]
    assert all(r.skies == runs[0].skies and r.offsets == runs[0].offsets for r in runs[1:])


def test_globalmin_plus_match_adds_the_lowest_residual_chip_sky(offset_set):
    chips = offset_set["chips"]
    match = SM.match_exposures(chips, "match")
    both = SM.match_exposures(chips, "globalmin+match")
    residual = min(c.brightness(SM.sky_statistic(c.sci[c.good])[0]) - match.offsets[n]
                   for n, cs in chips.items() for c in cs)
    assert both.globalmin == pytest.approx(residual, rel=1e-12)
    for n in chips:
        assert both.skies[n] == pytest.approx(match.skies[n] + residual, rel=1e-12)
    # the lowest exposure's sky is its true level (80 e-) to within 1 e-
    c0 = chips[list(chips)[0]][0]
    assert both.skies[list(chips)[0]] == pytest.approx(brightness(c0, 80.0), abs=brightness(c0, 1.0))


def test_single_exposure(offset_set):
    one = {k: v for k, v in list(offset_set["chips"].items())[:1]}
    name = list(one)[0]
    assert SM.match_exposures(one, "match").skies == {name: 0.0}
    own_min = min(c.brightness(SM.sky_statistic(c.sci[c.good])[0]) for c in one[name])
    assert SM.match_exposures(one, "globalmin+match").skies[name] == pytest.approx(own_min, rel=1e-12)


def test_no_overlap_gives_separate_groups_each_at_zero(tmp_path, caplog):
    data = make_dataset(tmp_path, "ACS/WFC", 3, seed=5, chip_shape=CHIP, sky=[100.0, 140.0, 120.0],
                        dithers=[(0, 0), (0.5, 0.5), (40.0, 0.0)], n_stars=50, n_galaxies=5)
    chips = sky_chips(data.paths)
    names = list(chips)
    far = SM.pair_sky(chips[names[0]], chips[names[2]])
    assert far.sky is None and far.area_arcsec2 == 0.0
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        solution = SM.match_exposures(chips, "match")
    assert solution.groups == [names[:2], names[2:]]
    assert solution.skies[names[2]] == 0.0 and solution.skies[names[0]] == 0.0
    c0 = chips[names[0]][0]
    assert solution.skies[names[1]] == pytest.approx(brightness(c0, 40.0), abs=brightness(c0, 1.0))
    assert "groups of exposures share no usable overlap" in caplog.text


def test_perfect_overlap_works(tmp_path):
    data = make_dataset(tmp_path, "ACS/WFC", 2, seed=6, chip_shape=CHIP, sky=[100.0, 160.0],
                        dithers=[(0, 0), (0, 0)], n_stars=50, n_galaxies=5)
    chips = sky_chips(data.paths)
    names = list(chips)
    solution = SM.match_exposures(chips, "match")
    c0 = chips[names[0]][0]
    assert solution.skies[names[1]] == pytest.approx(brightness(c0, 60.0), abs=0.005 * brightness(c0, 60.0))


def test_solver_is_exact_on_consistent_differences():
    truth = {"a": 3.0, "b": 1.0, "c": 7.5, "d": 0.0, "e": 2.0}
    pairs = [(a, b, truth[a] + 10, truth[b] + 10, w) for a, b, w in
             [("a", "b", 100), ("b", "c", 5), ("a", "c", 30), ("d", "e", 8)]]
    offsets, groups = SM.match_offsets(list(truth), pairs)
    assert groups == [["a", "b", "c"], ["d", "e"]]
    for n, v in {"a": 2.0, "b": 0.0, "c": 6.5, "d": 0.0, "e": 2.0}.items():
        assert offsets[n] == pytest.approx(v, abs=1e-12)


def test_fill_polygon_counts_pixel_centres():
    mask = SM.fill_polygon(np.array([1.5, 5.5, 5.5, 1.5]), np.array([0.2, 0.2, 3.7, 3.7]), (6, 8))
    assert mask.sum() == 4 * 3 and mask[1:4, 2:6].all()


def test_drizzlepac_skymatch_side_by_side(offset_set, tmp_path):
    """stsci.skypac's match on the same files. Here it stops at a spherical_geometry API it
    expects (iter_polygons_flat, gone in spherical_geometry 1.4), which is why AstroDrizzle falls
    back to localmin/globalmin in this environment; with that one method supplied it runs."""
    skypac = pytest.importorskip("stsci.skypac.skymatch")
    from astropy.io import fits
    from spherical_geometry.polygon import SphericalPolygon

    paths = []
    for p in offset_set["paths"]:
        paths.append(shutil.copy(p, tmp_path))
    had = hasattr(SphericalPolygon, "iter_polygons_flat")
    if not had:
        SphericalPolygon.iter_polygons_flat = lambda self: iter(self.polygons)
    try:
        skypac.skymatch(",".join(str(p) for p in paths), skymethod="match", skystat="median", lower=None,
                        upper=None, nclip=5, lsigma=4.0, usigma=4.0, binwidth=0.1, skyuser_kwd="MDRIZSKY",
                        units_kwd="BUNIT", readonly=False, dq_bits=None, subtractsky=False, verbose=False)
    finally:
        if not had:
            del SphericalPolygon.iter_polygons_flat
    theirs = [fits.getheader(p, ("SCI", 1))["MDRIZSKY"] for p in paths]
    ours = SM.match_exposures(sky_chips(offset_set["paths"], use_dq=False), "match")
    c0 = sky_chips(offset_set["paths"][:1])
    c0 = list(c0.values())[0][0]
    data_units = [v * c0.pscale ** 2 * c0.exptime for v in ours.skies.values()]
    # same masks (DQ ignored, as skypac with dq_bits=None): within 0.01 e- of one pixel's 10 e- noise
    assert np.allclose(data_units, theirs, atol=0.01), (data_units, theirs)


# ---- the workflow ------------------------------------------------------------------------------

@pytest.mark.slow
def test_workflow_match_pairs_solve_and_an_added_exposure(small_set, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(small_set["inputs"], inputs)
    work = tmp_path / "work"
    config = {"input": f"{inputs}/*_flt.fits", "output": "m", "skymethod": "match"}
    snakemake(work, config=config)
    res = work / "results/m"
    solve = json.loads((res / "m_skymatch.json").read_text())
    roots = sorted(p.name.split("_")[0] for p in inputs.iterdir())
    assert sorted(solve["skies"]) == roots and min(solve["skies"].values()) == 0.0
    assert len(list(res.glob("skypair/*/*_skypair.json"))) == 3
    first = {r: json.loads((res / f"{r}_sky.json").read_text())["mdrizsky"] for r in roots}
    assert any(v["1"] > 0 for v in first.values())
    # the pair and solve jobs rerun give the same values
    snakemake(work, "--forcerun", "sky_pair", "sky_match", config=config)
    again = {r: json.loads((res / f"{r}_sky.json").read_text())["mdrizsky"] for r in roots}
    assert again == first
    # a new exposure adds only its own pairs, the solve and what follows
    shutil.copy(small_set["spare"], inputs)
    jobs = planned_jobs(work, config)
    new = small_set["spare"].name.split("_")[0]
    pairs = sorted(tuple(sorted((w["root"], w["other"]))) for r, w in jobs if r == "sky_pair")
    assert pairs == sorted(tuple(sorted((r, new))) for r in roots)
    assert [w.get("root") for r, w in jobs if r == "prepare"] == [new]
    assert len([1 for r, _ in jobs if r == "sky_match"]) == 1
    assert len([1 for r, _ in jobs if r == "sky"]) == 4
