"""runastrodriz as DAG targets (snakedrizzle.pipeline, rules/pipeline.smk; SPEC-HAP H9).

Truth: a synthetic ACS/HRC association of three exposures whose sources sit 0.29" and 0.01 deg
off their headers, each carrying an a priori solution (``IDC_simulated-GSC240``, as good as the
header), and a Gaia-like catalog of the bright stars with proper motions. Never touches the
network (SNAKEDRIZZLE_OFFLINE)."""
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.errors import InputError
from snakedrizzle.hap.align import refcat as R
from snakedrizzle.pipeline import cascade
from snakedrizzle.pipeline import pars as P
from snakedrizzle.pipeline.inputs import product_root, read_input
from snakedrizzle.pipeline.plan import PipelinePlan
from snakedrizzle.simulate import make_dataset, write_association
from snakedrizzle.simulate.apriori import add_solution
from snakedrizzle.workflow import config as sdconfig
from truth import star_measurements, write_gaia_like

SNAKEFILE = Path(__file__).resolve().parents[1] / "Snakefile"
BRIGHT = 3000.0
ROOT = "jsim01010"
OUT = f"results/pipeline/{ROOT}"
MAS_PER_PIXEL = 25.0   # ACS/HRC


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _association(folder, n=3, apriori=True):
    data = make_dataset(folder / "data", "ACS/HRC", n, chip_shape=(512, 512), n_stars=250, seed=5,
                        pointing_errors=[(10.0, -6.0, 0.01, 1.0)] * n,
                        dithers=[(0, 0), (0.25, 0.15), (0.5, 0.3)][:n])
    if apriori:
        for path in data.paths:
            add_solution(path, "IDC_simulated-GSC240", shift_arcsec=(0.02, 0.0))
    gaia = write_gaia_like(data, folder / "gaia.ecsv", BRIGHT)
    asn = write_association(data.paths, folder / "data" / f"{ROOT}_asn.fits")
    for path in data.paths:
        os.chmod(path, 0o444)
    return data, asn, gaia


def _config(**values):
    return sdconfig.check_config(values)


# ---- inputs, parameters, decision (no workflow) ----------------------------------------------

def test_product_root_follows_the_pipeline_names():
    assert product_root("/x/J8BT06040_asn.fits") == "j8bt06040"
    assert product_root("j8bt06nyq_flt.fits") == "j8bt06nyq"
    assert product_root("j8bt06nyq_raw.fits") == "j8bt06nyq"


def test_association_member_without_files_is_one_error_naming_both(tmp_path):
    asn = write_association([str(tmp_path / "jabc01a1q_flt.fits")], tmp_path / "jabc01010_asn.fits")
    with pytest.raises(InputError, match=r"jabc01010_asn.fits.*jabc01a1q"):
        read_input(asn)


def test_exposure_with_no_time_is_left_out_and_none_left_is_an_error(tmp_path, caplog):
    data = make_dataset(tmp_path / "d", "ACS/HRC", 2, chip_shape=(64, 64), n_stars=5, seed=1)
    with fits.open(data.paths[1], mode="update") as hdul:
        hdul[0].header["EXPTIME"] = 0.0
    asn = write_association(data.paths, tmp_path / "d" / "jsim01010_asn.fits")
    found = read_input(asn)
    assert [m.root for m in found.members] == ["jsim01a1q"]
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        PipelinePlan(_config(runastrodriz=asn))
    assert "runastrodriz: jsim01a2q: left out (EXPTIME = 0)" in caplog.text   # on the console
    assert found.skipped == [("jsim01a2q", "EXPTIME = 0")]
    with fits.open(data.paths[0], mode="update") as hdul:
        hdul[1].header["NGOODPIX"] = 0
    with pytest.raises(InputError, match="no usable exposure.*jsim01a1q: no good pixel.*jsim01a2q: EXPTIME"):
        read_input(asn)


def test_drizcorr_omit_skips_drizzling_unless_forced(tmp_path):
    data = make_dataset(tmp_path / "d", "ACS/HRC", 1, chip_shape=(64, 64), n_stars=5, seed=1)
    with fits.open(data.paths[0], mode="update") as hdul:
        hdul[0].header["DRIZCORR"] = "OMIT"
    assert not read_input(data.paths[0]).drizzle
    assert read_input(data.paths[0], force=True).drizzle
    plan = PipelinePlan(_config(runastrodriz=data.paths[0]))
    assert plan.targets() == [] and plan.products == {}


def test_built_in_ir_parameters_are_the_pipelines_not_astrodrizzles_defaults():
    ir = P.final_pars("WFC3", "IR", 3)
    assert ir["driz_cr_snr"] == [5.0, 4.0] and ir["driz_cr_scale"] == [3.0, 2.4]
    assert ir["resetbits"] == "4096"
    verify = P.verification_pars(ir, [100.0, 300.0])
    assert verify["combine_type"] == "median" and verify["combine_nhigh"] == 0
    assert verify["final_fillval"] is None and verify["driz_sep_kernel"] == "turbo"
    assert P.verification_pars(ir, [100.0, 150.0])["combine_type"] == ir["combine_type"]
    assert P.final_pars("ACS", "WFC", 2, mdriztab="/t/x_mdz.fits") == {"mdriztab": "/t/x_mdz.fits", "resetbits": "4096"}


def test_environment_switches_take_drizzlepacs_words(monkeypatch):
    monkeypatch.setenv("ASTROMETRY_COMPUTE_APOSTERIORI", " Off ")
    assert P.switch("ASTROMETRY_COMPUTE_APOSTERIORI", True) is False
    monkeypatch.setenv("ASTROMETRY_COMPUTE_APOSTERIORI", "maybe")
    with pytest.raises(ValueError, match="ASTROMETRY_COMPUTE_APOSTERIORI='maybe'"):
        P.switch("ASTROMETRY_COMPUTE_APOSTERIORI", True)


def test_cascade_reverts_a_failed_stage_and_keeps_the_one_before():
    verdicts = {"default": {"verified": True}, "apriori": {"verified": False, "reason": "overlap 2.1 > 1"},
                "aposteriori": {"verified": True}}
    decision = cascade.decide(["default", "apriori", "aposteriori"], verdicts, (True, "fit ok"))
    assert decision["chosen"] == "aposteriori"
    assert "apriori: rejected, the default WCS kept (overlap 2.1 > 1)" in decision["lines"]
    failed = cascade.decide(["default", "apriori", "aposteriori"], verdicts, (False, "fit failed (x)"))
    assert failed["chosen"] == "default" and not failed["stages"]["aposteriori"]["accepted"]


def test_plan_stages_follow_the_solutions_and_switches(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "d", "ACS/HRC", 2, chip_shape=(64, 64), n_stars=5, seed=1)
    asn = write_association(data.paths, tmp_path / "d" / "jsim01010_asn.fits")
    plan = PipelinePlan(_config(runastrodriz=asn))
    assert plan.stages == ["default", "aposteriori"]
    assert any("a priori: not tried (no a priori solution common" in n for n in plan.notes)
    assert set(plan.products) == {"jsim01010_default", "jsim01010_aposteriori", "jsim01010_flt"}
    assert plan.crmask_products("jsim01010_aposteriori") == ("jsim01010_default",)
    add_solution(data.paths[0], "IDC_simulated-GSC240")
    assert "apriori" not in PipelinePlan(_config(runastrodriz=asn)).stages   # not on every exposure
    add_solution(data.paths[1], "IDC_simulated-GSC240")
    assert PipelinePlan(_config(runastrodriz=asn)).stages == ["default", "apriori", "aposteriori"]
    monkeypatch.setenv("ASTROMETRY_APPLY_APRIORI", "no")
    assert PipelinePlan(_config(runastrodriz=asn, pipeline_aposteriori=False)).stages == ["default"]


# ---- the workflow on the synthetic association ---------------------------------------------------

def _snakemake(workdir, *args, env=None):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--cores", "2", *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, R.OFFLINE_ENV: "1", **(env or {})})


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    data, asn, gaia = _association(folder)
    before = {p: _sha(p) for p in data.paths}
    work = folder / "work"
    work.mkdir()
    run = _snakemake(work, "--config", f"runastrodriz={asn}", f"refcat={gaia}")
    assert run.returncode == 0, run.stderr[-3000:]
    return data, asn, gaia, work, before, run


@pytest.mark.slow
def test_the_a_posteriori_stage_is_chosen_and_puts_stars_on_the_truth(pipeline_run):
    data, _, _, work, before, run = pipeline_run
    decision = json.loads((work / OUT / f"{ROOT}_cascade.json").read_text())
    assert decision["chosen"] == "aposteriori"
    assert decision["stages"]["apriori"]["accepted"] and decision["stages"]["aposteriori"]["accepted"]
    product = work / OUT / f"{ROOT}_drz.fits"
    sci = fits.getheader(product, "SCI")
    assert sci["WCSNAME"] == "IDC_simulated-FIT_REL_GAIAeDR3"
    assert "relatively aligned to" in sci["WCSTYPE"]
    fit = Table.read(work / OUT / "aposteriori" / f"{ROOT}_fit.ecsv")
    assert set(fit["quality"]) == {1} and fit.meta["start_stage"] == "apriori"
    dx, dy, ratio = star_measurements(product, data.truth_stars, min_flux=1000.0)
    offsets = np.hypot(dx, dy) * MAS_PER_PIXEL
    assert len(offsets) > 30
    assert np.sqrt(np.mean(offsets ** 2)) < 5.0 and np.median(offsets) < 3.0
    assert abs(np.median(ratio) - 1.0) < 0.005
    assert {p: _sha(p) for p in data.paths} == before
    for root in ("jsim01a1q", "jsim01a2q", "jsim01a3q"):
        hlet = fits.getheader(work / OUT / f"{root}_flt_hlet.fits", 0)
        assert hlet["WCSNAME"] == "IDC_simulated-FIT_REL_GAIAeDR3" and hlet["AUTHOR"] == "OPUS"
    assert f"snakedrizzle: product {work / OUT / f'{ROOT}_drz.fits'}" in run.stdout


@pytest.mark.slow
def test_the_trailer_tells_every_stage_and_the_fit(pipeline_run):
    _, _, _, work, _, _ = pipeline_run
    text = (work / OUT / f"{ROOT}.tra").read_text()
    assert "default: accepted" in text and "apriori: accepted" in text and "chosen: aposteriori" in text
    assert "a posteriori: fit by relative" in text and "FIT_REL_GAIAeDR3" in text
    assert "--- logs/" in text   # the jobs' logs follow


@pytest.mark.slow
def test_nothing_reruns_and_an_alignment_parameter_reruns_only_the_a_posteriori_stage(pipeline_run, tmp_path):
    _, asn, gaia, work, _, _ = pipeline_run
    same = _snakemake(work, "-n", "--config", f"runastrodriz={asn}", f"refcat={gaia}")
    assert "Nothing to be done" in same.stdout + same.stderr
    pars = tmp_path / "align.yaml"
    pars.write_text("max_fit_rms: 25.0\n")
    changed = _snakemake(work, "-n", "--rerun-triggers", "params", "--config", f"runastrodriz={asn}",
                         f"refcat={gaia}", f"align_pars={pars}")
    text = changed.stdout + changed.stderr
    jobs = {line.split()[1].rstrip(":") for line in text.splitlines() if line.startswith(("rule ", "checkpoint "))}
    outputs = [line.split(":", 1)[1] for line in text.splitlines() if line.strip().startswith("output:")]
    assert {"pipeline_fit", "pipeline_verify", "pipeline_select", "final_drizzle"} <= jobs
    assert not {"pipeline_stage_wcs", "pipeline_align_sources", "pipeline_refcat"} & jobs
    # the default and a priori stages' drizzles stay
    assert outputs and not [o for o in outputs if f"{ROOT}_default/" in o or f"{ROOT}_apriori/" in o]


@pytest.mark.slow
def test_a_catalog_of_another_field_is_rejected_and_the_a_priori_wcs_kept(pipeline_run, tmp_path):
    data, asn, gaia, work, _, _ = pipeline_run
    elsewhere = Table.read(gaia)
    elsewhere["dec"] += 1.0
    wrong = tmp_path / "elsewhere.ecsv"
    elsewhere.write(wrong)
    other = tmp_path / "work"
    shutil.copytree(work, other, symlinks=True)
    run = _snakemake(other, "--config", f"runastrodriz={asn}", f"refcat={wrong}")
    assert run.returncode == 0, run.stderr[-3000:]
    decision = json.loads((other / OUT / f"{ROOT}_cascade.json").read_text())
    assert decision["chosen"] == "apriori"
    assert fits.getval(other / OUT / f"{ROOT}_drz.fits", "WCSNAME", "SCI") == "IDC_simulated-GSC240"
    text = (other / OUT / f"{ROOT}.tra").read_text()
    assert "aposteriori: rejected, the a priori WCS kept (fit failed" in text


# ---- alignment overrides (shared with SVM) ---------------------------------------------------------

def test_alignment_overrides_are_scoped_and_checked(tmp_path):
    from snakedrizzle.hap.align.overrides import alignment_overrides

    good = tmp_path / "align.yaml"
    good.write_text("max_fit_rms: 30\nacs_hrc:\n  max_sources: 400\n")
    assert alignment_overrides(str(good), "acs_hrc") == {"max_fit_rms": 30.0, "max_sources": 400}
    assert alignment_overrides(str(good), "acs_wfc") == {"max_fit_rms": 30.0}
    bad = tmp_path / "bad.yaml"
    bad.write_text("acs_hrc:\n  serchrad: 100\n")
    with pytest.raises(InputError, match=r"bad.yaml \[acs_hrc\].*unknown alignment parameter 'serchrad'"):
        alignment_overrides(str(bad), "acs_wfc")
    bad.write_text("max_sources: many\n")
    with pytest.raises(InputError, match="max_sources='many': must be int"):
        alignment_overrides(str(bad), "acs_wfc")


# ---- real data: the ACS/HRC 47 Tuc exposures, offline --------------------------------------------

HRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst" / "acs_hrc_47tuc"


@pytest.mark.slow
@pytest.mark.skipif(not HRC.is_dir(), reason="../shared/data not present")
def test_hrc_pair_and_singleton_run_offline_and_keep_the_default_wcs(tmp_path):
    """No network and no refcat: the a posteriori stage has an empty catalog, fails without being
    drizzled, and both products keep the distortion-only WCS; the files carry no a priori one."""
    data = tmp_path / "data"
    data.mkdir()
    pair = [data / "j8bt06nyq_flt.fits", data / "j8bt06o6q_flt.fits"]
    for path in pair:
        shutil.copy(HRC / path.name, path)
        os.chmod(path, 0o444)
    asn = write_association([str(p) for p in pair], data / "j8bt06010_asn.fits")
    # HRC pixels are ~1.13x the 0.025" output pixels in area
    for target, root, chips in ((asn, "j8bt06010", (1.3, 2.3)), (str(pair[0]), "j8bt06nyq", (1.0, 1.25))):
        work = tmp_path / root
        work.mkdir()
        run = _snakemake(work, "--config", f"runastrodriz={target}")
        assert run.returncode == 0, run.stderr[-3000:]
        out = work / "results" / "pipeline" / root
        decision = json.loads((out / f"{root}_cascade.json").read_text())
        assert decision["chosen"] == "default"
        assert "fit failed" in decision["stages"]["aposteriori"]["reason"]
        assert "Gaia archive not asked" in decision["stages"]["aposteriori"]["reason"]
        product = out / f"{root}_drz.fits"
        assert fits.getval(product, "WCSNAME", "SCI") == "IDC_n721640fj"
        with fits.open(product) as hdul:
            assert np.isfinite(hdul["SCI"].data[hdul["WHT"].data > 0]).all()
            covered = (hdul["WHT"].data > 0).sum() / 1024 ** 2     # in HRC chips (native scale)
            assert chips[0] < covered < chips[1], covered
        assert not (work / "results" / f"{root}_aposteriori").exists()   # a failed fit is not drizzled
        assert "a priori: not tried" in (out / f"{root}.tra").read_text()


# ---- the command ------------------------------------------------------------------------------------

def test_command_skips_drizcorr_omit_and_names_a_missing_input(tmp_path, capsys):
    from snakedrizzle.pipeline.run import main

    data = make_dataset(tmp_path / "d", "ACS/HRC", 1, chip_shape=(64, 64), n_stars=5, seed=1)
    with fits.open(data.paths[0], mode="update") as hdul:
        hdul[0].header["DRIZCORR"] = "OMIT"
    assert main([data.paths[0], "--workdir", str(tmp_path / "w")]) == 0
    assert "DRIZCORR=OMIT: astrodrizzle skipped" in capsys.readouterr().out
    assert not (tmp_path / "w" / "results").exists()
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nothere_asn.fits")])
    assert stop.value.code == 2
    assert "nothere_asn.fits: runastrodriz input not found" in capsys.readouterr().err
