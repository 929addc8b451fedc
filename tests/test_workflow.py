"""The AstroDrizzle DAG: a full run, its product, inputs untouched, incremental reruns, bad input."""
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from conftest import planned_jobs, sha256, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(small_set, tmp_path_factory):
    work = tmp_path_factory.mktemp("run")
    inputs = small_set["inputs"]
    before = {p.name: sha256(p) for p in inputs.iterdir()}
    config = {"input": f"{inputs}/*_flt.fits", "output": "small"}
    snakemake(work, config=config)
    return {"work": work, "config": config, "before": before, "inputs": inputs}


def test_product_structure(run):
    product = run["work"] / "results/small/small_drz.fits"
    with fits.open(product) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX", "HDRTAB"]
        p, s = hdul[0].header, hdul["SCI"].header
        assert p["NCOMBINE"] == 3 and p["NDRIZIM"] == 6
        assert p["EXPTIME"] == p["TEXPTIME"] == pytest.approx(3 * 400.0)
        assert p["D001DATA"].endswith("[sci,1]") and "D006DATA" in p
        assert any("final_pixfrac" in str(h) for h in p["HISTORY"])
        assert any("sha256" in str(h) for h in p["HISTORY"])
        assert s["BUNIT"] == "ELECTRONS/S" and "A_ORDER" not in s and s["CTYPE1"] == "RA---TAN"
        assert "PHOTFLAM" in s
        ctx = hdul["CTX"].data
        assert ctx.ndim == 2 and ctx.dtype.kind == "i" and ctx.dtype.itemsize == 4 and ctx.max() < 2 ** 6 and ctx.max() > 0
        assert len(hdul["HDRTAB"].data) == 6
        wht = hdul["WHT"].data
        assert np.isnan(hdul["SCI"].data[wht == 0]).all()


def test_inputs_never_modified(run):
    after = {p.name: sha256(p) for p in run["inputs"].iterdir()}
    assert after == run["before"]


def test_intermediates_keep_drizzlepac_names(run):
    names = set(os.listdir(run["work"] / "results/small"))
    root = sorted(p.name.split("_")[0] for p in run["inputs"].iterdir())[0]
    for expected in (f"{root}_single_sci.fits", f"{root}_single_wht.fits", "small_med.fits",
                     f"{root}_sci1_blt.fits", f"{root}_sci2_crmask.fits", "small_staticMask.fits"):
        assert expected in names


def _rules(jobs):
    return sorted({rule for rule, _ in jobs})


def test_nothing_changed_runs_nothing(run):
    assert planned_jobs(run["work"], run["config"]) == []


def test_the_same_files_spelled_differently_run_nothing(run):
    """The DAG depends on the resolved files, not on how the input names them."""
    inputs = run["inputs"]
    files = sorted(str(p) for p in inputs.iterdir())
    relative = os.path.relpath(inputs, run["work"])
    for spelling in (f"{inputs}/./*_flt.fits", f"{relative}/*_fl?.fits", f"{inputs}/*q_flt.fits",
                     ",".join(reversed(files))):
        assert planned_jobs(run["work"], {**run["config"], "input": spelling}) == [], spelling


def test_pixfrac_reruns_only_final(run):
    jobs = planned_jobs(run["work"], {**run["config"], "final_pixfrac": 0.8})
    assert _rules(jobs) == ["final_drizzle", "preview"]


def test_driz_cr_snr_reruns_driz_cr_and_final(run):
    jobs = planned_jobs(run["work"], {**run["config"], "driz_cr_snr": '"4.0 3.5"'})
    assert _rules(jobs) == ["crmask_preview", "driz_cr", "final_drizzle", "preview"]
    assert len([j for j in jobs if j[0] == "driz_cr"]) == 6


def test_skymethod_reruns_sky_and_what_follows(run):
    # localmin values live in each exposure's statistics file (made by prepare); globalmin adds a
    # sky job per exposure that reads every exposure's statistics.
    jobs = planned_jobs(run["work"], {**run["config"], "skymethod": "globalmin"})
    assert _rules(jobs) == ["blot", "crmask_preview", "driz_cr", "driz_separate", "final_drizzle", "median",
                            "prepare", "preview", "sky", "static_mask"]
    assert len([j for j in jobs if j[0] == "sky"]) == 3


def test_driz_cr_corr_adds_only_the_cleaned_exposures(run):
    jobs = planned_jobs(run["work"], {**run["config"], "driz_cr_corr": "true"})
    assert _rules(jobs) == ["crclean"] and len(jobs) == 3


def test_adding_an_exposure_runs_per_exposure_stages_for_it_alone(run, small_set, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(run["work"], work, symlinks=True)
    inputs = tmp_path / "inputs"
    shutil.copytree(run["inputs"], inputs)
    shutil.copy(small_set["spare"], inputs)
    config = {**run["config"], "input": f"{inputs}/*_flt.fits"}
    # Same files at a new place: rerun everything? No: only the paths moved, so first bring the
    # copied workflow up to date against the moved inputs, then add the exposure.
    os.remove(inputs / small_set["spare"].name)
    snakemake(work, "--touch", config=config)
    shutil.copy(small_set["spare"], inputs)
    jobs = planned_jobs(work, config)
    new = small_set["spare"].name.split("_")[0]
    per_exposure = {"prepare", "driz_separate"}
    assert {w.get("root") for r, w in jobs if r in per_exposure} == {new}
    assert {r for r, _ in jobs if r not in per_exposure} == {"static_mask", "median", "blot", "driz_cr",
                                                              "final_drizzle", "preview", "crmask_preview"}
    assert len([j for j in jobs if j[0] == "blot"]) == 8


def test_python_entry_point_runs_the_same_dag(run, tmp_path):
    from snakedrizzle.astrodrizzle import AstroDrizzle

    product = AstroDrizzle(run["config"]["input"], output="small", workdir=run["work"], cores=2,
                           dryrun=True)
    assert product.endswith("small_drz.fits")  # up to date: nothing to run, the product is there
    with pytest.raises(ValueError, match="final_pixfrak"):
        AstroDrizzle(run["config"]["input"], output="x", workdir=tmp_path, final_pixfrak=0.5)
