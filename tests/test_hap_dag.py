"""The SVM DAG: a HAP visit as AstroDrizzle products of the stage rules (snakedrizzle.hap.plan,
rules/hap.smk), on the real ACS/HRC 47 Tuc set (one visit: F606W x2, F555W, F330W).

The plan tests read headers only; the slow tests run the workflow once (module fixture) and then
ask Snakemake for dry runs."""
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits

from conftest import sha256
from snakedrizzle.errors import InputError
from snakedrizzle.hap.plan import FRAME_KEYS, SvmPlan
from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import dag

HRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst" / "acs_hrc_47tuc"
if not HRC.is_dir():
    HRC = Path("/work/shared/data/hst/acs_hrc_47tuc")
SNAKEFILE = Path(__file__).resolve().parents[1] / "Snakefile"
VISIT = "results/svm/j8bt06"
FILTERS = {"f606w": "hst_9019_06_acs_hrc_f606w_j8bt06", "f555w": "hst_9019_05_acs_hrc_f555w_j8bt05",
           "f330w": "hst_9019_09_acs_hrc_f330w_j8bt09"}
TOTAL = "hst_9019_06_acs_hrc_total_j8bt06"
EXPOSURES = ["hst_9019_06_acs_hrc_f606w_j8bt06ny", "hst_9019_06_acs_hrc_f606w_j8bt06o6",
             "hst_9019_05_acs_hrc_f555w_j8bt05nj", "hst_9019_09_acs_hrc_f330w_j8bt09jc"]
MANIFEST = "acs_8bt_06_manifest.txt"

pytestmark = pytest.mark.skipif(not HRC.is_dir(), reason="HRC test data not available")


def _config(**run):
    return sdconfig.check_config({"poller": str(HRC / "*_flt.fits"), **run})


# ---- the plan (headers only) -------------------------------------------------------------------

def test_hrc_visit_maps_to_eight_astrodrizzle_products_on_one_metawcs():
    plan = dag.Plan(_config())
    assert sorted(plan.products) == sorted([*FILTERS.values(), TOTAL, *EXPOSURES])
    for name in plan.products:
        p = plan.params(name)
        assert p["final_wcs"] is True
        assert p["final_refimage"] == f"{VISIT}/acs_hrc_metawcs.fits"
        assert all(p[k] is None for k in FRAME_KEYS), name   # nothing moves it off the grid
    targets = plan.targets()
    assert targets[-1] == f"{VISIT}/{MANIFEST}"
    assert all(t.startswith(VISIT + "/hst_") for t in targets[:-1])
    drizzled = [t for t in targets if t.endswith("_drz.fits")]
    catalogs = [t for t in targets if t.endswith("-cat.ecsv")]
    # 8 products; a point and a segment catalog for each filter and the total product
    assert len(drizzled) == 8 and len(catalogs) == 8 and len(targets) == 17


def test_hap_sets_per_level_and_cr_masks_of_the_total():
    plan = dag.Plan(_config())
    f606w = plan.params(FILTERS["f606w"])
    assert (f606w["driz_cr"], f606w["final_bits"], f606w["resetbits"]) == (True, "64", "4096")
    assert plan.params(FILTERS["f555w"])["driz_cr"] is False          # n = 1
    total = plan.params(TOTAL)
    assert (total["driz_cr"], total["final_bits"], total["resetbits"]) == (False, "96", "0")
    # the total drizzles the F606W pair only (single-exposure filters left out) and reads the
    # F606W filter product's CR masks
    assert [os.path.basename(p) for p in plan.exposure_files(TOTAL)] == ["j8bt06nyq_flt.fits", "j8bt06o6q_flt.fits"]
    assert plan.crmasks(SimpleNamespace(name=TOTAL)) == [
        f"results/{FILTERS['f606w']}/j8bt06nyq_sci1_crmask.fits",
        f"results/{FILTERS['f606w']}/j8bt06o6q_sci1_crmask.fits"]
    for name in EXPOSURES:    # final_bits 65535: HAP keeps CR-flagged pixels, no mask read
        assert plan.params(name)["final_bits"] == "65535"
        assert plan.crmasks(SimpleNamespace(name=name)) == []


def test_svm_pars_scope_changes_only_its_level(tmp_path):
    pars = tmp_path / "pars.yaml"
    pars.write_text("filter:\n  final_pixfrac: 0.9\n")
    base, changed = dag.Plan(_config()), dag.Plan(_config(svm_pars=str(pars)))
    for name in base.products:
        differ = base.params(name)["final_pixfrac"] != changed.params(name)["final_pixfrac"]
        assert differ == (name in FILTERS.values()), name


def test_metawcs_inputs_are_every_direct_exposure_in_hap_order():
    svm = SvmPlan(_config())
    exposures = svm.metawcs_inputs(SimpleNamespace(name="j8bt06", detkey="acs_hrc"))
    assert [os.path.basename(p) for p in exposures] == [
        "j8bt06nyq_flt.fits", "j8bt06o6q_flt.fits", "j8bt05njq_flt.fits", "j8bt09jcq_flt.fits"]
    assert svm.metawcs_pars(SimpleNamespace(name="j8bt06", detkey="acs_hrc")) == {"rot": 0.0, "scale": None}


@pytest.mark.parametrize("poller, problem", [
    ("nothere/*_flt.fits", "matches no file"),
    ("missing_poller.csv", "poller file not found"),
])
def test_bad_poller_is_one_input_error(tmp_path, poller, problem):
    with pytest.raises(InputError, match=problem):
        dag.Plan(sdconfig.check_config({"poller": str(tmp_path / poller)}))


def test_bad_svm_pars_is_one_input_error(tmp_path):
    pars = tmp_path / "pars.yaml"
    pars.write_text("filter:\n  final_pixfrak: 0.9\n")
    with pytest.raises(InputError, match="final_pixfrak"):
        dag.Plan(_config(svm_pars=str(pars)))


def test_runsinglehap_checks_before_running(tmp_path):
    from snakedrizzle.hap import runsinglehap

    with pytest.raises(InputError, match="matches no file"):
        runsinglehap(str(tmp_path / "*_flt.fits"), workdir=tmp_path / "w")
    with pytest.raises(InputError, match="final_pixfrak"):
        runsinglehap(str(HRC / "*_flt.fits"), workdir=tmp_path / "w", filter={"final_pixfrak": 1})
    assert not (tmp_path / "w" / "results").exists()      # no job ran


# ---- the workflow (slow) -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hrc_run(hrc_svm_run):
    return hrc_svm_run


def _dryrun_jobs(run, *targets, **config):
    """{rule: [wildcards lines]} of a Snakemake dry run in the run's workdir."""
    settings = {"poller": str(run.data / "*_flt.fits"), **config}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--cores", "1", "-n", *targets,
           "--config", *[f"{k}={v}" for k, v in settings.items()]]
    out = subprocess.run(cmd, cwd=run.work, capture_output=True, text=True, check=True).stdout
    jobs = {}
    for rule, body in re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", out, re.M):
        wc = re.search(r"wildcards: (.*)", body)
        jobs.setdefault(rule, []).append(wc[1] if wc else "")
    return jobs


@pytest.mark.slow
def test_hrc_visit_products_manifest_and_one_grid(hrc_run):
    names = sorted(os.path.basename(p) for p in hrc_run.products if not p.endswith(".ecsv"))
    assert names == sorted([f"{n}_drz.fits" for n in [*FILTERS.values(), TOTAL, *EXPOSURES]] + [MANIFEST])
    manifest = (hrc_run.work / VISIT / MANIFEST).read_text().split()
    drizzled = [m for m in manifest if m.endswith("_drz.fits")]
    assert drizzled[0] == f"{FILTERS['f606w']}_drz.fits" and drizzled[-1] == f"{TOTAL}_drz.fits"
    grids = set()
    for path in hrc_run.products:
        if not path.endswith(".fits"):
            continue
        with fits.open(path) as hdul:
            assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX", "HDRTAB"]
            sci, primary = hdul["SCI"].header, hdul[0].header
            grids.add((sci["NAXIS1"], sci["NAXIS2"], sci["CRVAL1"], sci["CRVAL2"], sci["CRPIX1"],
                       sci["CRPIX2"], sci["CD1_1"], sci["CD1_2"], sci["CD2_1"], sci["CD2_2"]))
            assert abs(sci["CD1_2"]) < 1e-15 and abs(sci["CD2_1"]) < 1e-15 and sci["CD1_1"] < 0  # north up
            level = 1 if primary["ROOTNAME"] in EXPOSURES else 2
            assert primary["HAPLEVEL"] == level
            assert primary["FILTER"] == ("detection" if TOTAL in path else primary["FILTER"])
            assert primary["NUMEXP"] == (2 if (TOTAL in path or FILTERS["f606w"] + "_" in path) else 1)
            assert sci["S_REGION"].startswith("POLYGON ICRS")
            assert "DATE-BEG" in primary and "DATE-END" in primary
            if level == 2:
                assert 0 < primary["NPIXFRAC"] <= 1 and primary["MEANWHT"] > 0
            assert np.nanmax(hdul["WHT"].data) > 0
    assert len(grids) == 1                      # every product on the one meta-WCS
    # inputs untouched
    assert {f.name: sha256(f) for f in hrc_run.data.iterdir()} == hrc_run.before


@pytest.mark.slow
def test_filter_levels_of_the_products(hrc_run):
    with fits.open(hrc_run.work / VISIT / f"{FILTERS['f555w']}_drz.fits") as hdul:
        assert hdul[0].header["FILTER"] == "F555W"
    with fits.open(hrc_run.work / VISIT / f"{TOTAL}_drz.fits") as hdul:
        assert hdul[0].header["FILTER"] == "detection"


@pytest.mark.slow
def test_nothing_changed_runs_nothing(hrc_run):
    assert _dryrun_jobs(hrc_run) == {}


@pytest.mark.slow
def test_filter_parameter_reruns_only_filter_products(hrc_run):
    pars = hrc_run.root / "filter_pars.yaml"
    pars.write_text("filter:\n  final_pixfrac: 0.9\n")
    jobs = _dryrun_jobs(hrc_run, svm_pars=str(pars))
    # the filter products, their trailers, their catalogs (and the total catalogs that join
    # them), the manifest
    assert sorted(jobs) == ["all", "final_drizzle", "svm_manifest", "svm_point_catalog", "svm_product",
                            "svm_segment_catalog", "svm_trailer"]
    redrizzled = sorted(re.search(r"name=([^,]+)", w)[1] for w in jobs["final_drizzle"])
    assert redrizzled == sorted(FILTERS.values())


@pytest.mark.slow
def test_a_filter_product_target_plans_only_its_filter(hrc_run, tmp_path):
    fresh = SimpleNamespace(work=tmp_path, data=hrc_run.data)
    jobs = _dryrun_jobs(fresh, f"{VISIT}/{FILTERS['f555w']}_drz.fits")
    # the visit's alignment and meta-WCS (they need every exposure), then only F555W's own jobs
    visit_wide = {"svm_metawcs", "svm_align_refcat", "svm_align_sources", "svm_align_fit", "svm_align_headerlet"}
    assert sorted(jobs) == sorted(visit_wide | {"final_drizzle", "prepare", "static_mask", "svm_product"})
    assert all(FILTERS["f555w"] in w for rule, ws in jobs.items() if rule not in visit_wide for w in ws)
