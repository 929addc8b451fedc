"""The astrodrizzle/tweakreg commands and the Python entry points' boundary (issue 10 items 7-8,
issue 11 item 6): DrizzlePac parameter names, values typed as on the snakemake command line,
relative inputs read from the caller's directory, one-line errors with exit status 2, and where
the workflow files are found. Nothing here runs a workflow job."""
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from snakedrizzle import astrodrizzle, tweakreg
from snakedrizzle.errors import InputError
from snakedrizzle.workflow import runner


class Stop(Exception):
    """Raised by the stand-in for runner.run: the call got as far as running the workflow."""


@pytest.fixture
def captured(monkeypatch):
    """runner.run replaced by a recorder: what the entry point would hand to Snakemake."""
    calls = []

    def record(targets=(), config=None, workdir=".", cores=1, dryrun=False):
        calls.append({"targets": list(targets), "config": dict(config), "workdir": str(workdir), "cores": cores,
                      "dryrun": dryrun})
        raise Stop

    monkeypatch.setattr(runner, "run", record)
    return calls


@pytest.fixture
def exposures(tmp_path):
    folder = tmp_path / "caller" / "data"
    folder.mkdir(parents=True)
    for root in ("j8bt06nyq", "j8bt06o6q"):
        (folder / f"{root}_flt.fits").write_bytes(b"")
    return folder


def test_astrodrizzle_command_line_values_are_typed_as_snakemake_types_them(captured, exposures, monkeypatch):
    monkeypatch.chdir(exposures.parent)
    with pytest.raises(SystemExit):   # the stand-in's Stop ends the command as a failed run would
        astrodrizzle.main(["data/*_flt.fits", "--output", "m31", "--final_pixfrac", "0.8", "--driz_cr_snr",
                           "3.5 3.0", "--final_outnx", "100", "--final_rot", "INDEF", "--final_wcs", "true",
                           "--skysub", "False", "--cores", "2", "--workdir", "../work"])
    call = captured[0]
    config = call["config"]
    assert config["output"] == "m31" and call["cores"] == 2 and not call["dryrun"]
    assert config["final_pixfrac"] == 0.8 and config["final_outnx"] == 100 and config["skysub"] is False
    # then typed once at the configuration boundary (snakedrizzle.workflow.config)
    assert config["driz_cr_snr"] == [3.5, 3.0] and config["final_rot"] is None and config["final_wcs"] is True
    assert Path(call["workdir"]) == exposures.parent.parent / "work"
    # only what was given travels: the defaults stay the schema's
    assert set(config) == {"input", "output", "final_pixfrac", "driz_cr_snr", "final_outnx", "final_rot",
                           "final_wcs", "skysub"}


def test_relative_input_is_read_from_the_callers_directory(captured, exposures, monkeypatch, tmp_path):
    """Snakemake runs in workdir; the pattern the caller wrote names the caller's files."""
    monkeypatch.chdir(exposures.parent)
    with pytest.raises(Stop):
        astrodrizzle.AstroDrizzle("data/*_flt.fits", output="x", workdir=tmp_path / "elsewhere")
    assert captured[-1]["config"]["input"] == str(exposures / "*_flt.fits")
    with pytest.raises(Stop):
        astrodrizzle.AstroDrizzle(["data/j8bt06nyq_flt.fits", "data/j8bt06o6q_flt.fits"], workdir=tmp_path)
    assert captured[-1]["config"]["input"].split(",") == [str(exposures / "j8bt06nyq_flt.fits"),
                                                         str(exposures / "j8bt06o6q_flt.fits")]
    (exposures.parent / "list.txt").write_text("data/j8bt06nyq_flt.fits\n")
    with pytest.raises(Stop):
        astrodrizzle.AstroDrizzle("@list.txt", workdir=tmp_path)
    assert captured[-1]["config"]["input"] == "@" + str(exposures.parent / "list.txt")


def test_a_pattern_matching_nothing_says_where_it_looked(captured, exposures, monkeypatch):
    monkeypatch.chdir(exposures.parent)
    with pytest.raises(InputError) as err:
        astrodrizzle.AstroDrizzle("dta/*_flt.fits")
    assert str(exposures.parent / "dta" / "*_flt.fits") in str(err.value)
    assert f"read from {exposures.parent}" in str(err.value)
    assert not captured


def test_file_parameters_are_the_callers_too(captured, exposures, monkeypatch):
    monkeypatch.chdir(exposures.parent)
    with pytest.raises(Stop):
        tweakreg.TweakReg("data/*_flt.fits", refcat="gaia.ecsv", refimage="ref_drz.fits[sci,1]",
                          outdir="align", threshold=5, imagefindcfg={"conv_width": 2.5}, catfile="")
    call = captured[-1]
    here = str(exposures.parent)
    assert call["targets"] == ["results/tweakreg/align/tweakreg_shifts.ecsv"]
    assert call["workdir"] == "align" and call["config"]["align"] is True
    assert call["config"]["refcat"] == os.path.join(here, "gaia.ecsv")
    assert call["config"]["refimage"] == os.path.join(here, "ref_drz.fits[sci,1]")
    assert call["config"]["catfile"] == "" and call["config"]["threshold"] == 5
    assert call["config"]["conv_width"] == 2.5 and call["config"]["input"] == str(exposures / "*_flt.fits")


def _command(name, *args, cwd):
    code = f"import sys; from snakedrizzle.{name} import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd)


BAD = [
    ("astrodrizzle", ["data/*_flt.fits", "--final_pixfrak", "0.5"], ["final_pixfrak"]),
    ("astrodrizzle", ["data/*_flt.fits", "--final_outnx", "-5"], ["final_outnx=-5", ">= 1"]),
    ("astrodrizzle", ["data/*_flt.fits", "--final_wht_type", "IVX"], ["final_wht_type", "IVX"]),
    ("astrodrizzle", ["nodata/*_flt.fits"], ["nodata", "matches no file"]),
    ("astrodrizzle", ["data/*_flt.fits", "--cores", "two"], ["--cores", "two"]),
    ("tweakreg", ["data/*_flt.fits", "--threshhold", "5"], ["threshhold"]),
    ("tweakreg", ["data/*_flt.fits", "--fitgeometry", "banana"], ["fitgeometry", "banana", "rscale"]),
    ("tweakreg", ["data/*_flt.fits", "--updatehdr", "maybe"], ["updatehdr", "maybe"]),
    ("tweakreg", [], ["files"]),
]


@pytest.mark.parametrize("name, args, words", BAD)
def test_bad_parameter_or_input_is_one_line_and_exit_status_2(exposures, monkeypatch, capsys, name, args, words):
    monkeypatch.chdir(exposures.parent)
    main = {"astrodrizzle": astrodrizzle.main, "tweakreg": tweakreg.main}[name]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"{name}: error: ") and all(w in lines[0] for w in words), lines[0]
    assert not (exposures.parent / "results").exists() and not (exposures.parent / ".snakemake").exists()


def test_exit_status_of_the_real_process(exposures):
    proc = _command("astrodrizzle", "data/*_flt.fits", "--final_pixfrak", "0.5", cwd=exposures.parent)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "final_pixfrak" in proc.stderr


def test_help_lists_drizzlepac_parameter_names(capsys):
    for main in (astrodrizzle.main, tweakreg.main):
        with pytest.raises(SystemExit) as exit_:
            main(["--help"])
        assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(f"--{n} VALUE" in out for n in ("final_pixfrac", "driz_cr_snr", "combine_type", "threshold"))
    assert all(f"--{n}" in out for n in ("refcat", "threshold", "ref_threshold", "updatehdr", "outshifts"))


def test_console_scripts_are_declared():
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["astrodrizzle"] == "snakedrizzle.astrodrizzle:main"
    assert scripts["tweakreg"] == "snakedrizzle.tweakreg:main"


def test_workflow_files_packaged_first_then_the_checkout(monkeypatch, tmp_path):
    assert runner.workflow_dir() == REPO and runner.snakefile() == REPO / "Snakefile"
    packaged = tmp_path / "files"
    packaged.mkdir()
    (packaged / "Snakefile").write_text("")
    monkeypatch.setattr(runner.resources, "files", lambda package: tmp_path)
    assert runner.workflow_dir() == packaged


def test_job_errors_and_warnings_reach_the_caller(tmp_path, caplog):
    logs = tmp_path / "logs" / "x" / "align_fit"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text(
        "2026-01-01 10:00:00,000 snakedrizzle.align.jobs WARNING: /d/a_flt.fits: not aligned, keeps its WCS\n"
        "2026-01-01 10:00:00,500 py.warnings WARNING: card.py:1036: VerifyWarning: Card is too long\n"
        "2026-01-01 10:00:01,000 snakedrizzle ERROR: bad input: /d/b_flt.fits: already has a WCS named 'TWEAK'\n")
    with caplog.at_level("WARNING"):
        runner._forward_warnings(tmp_path, since=0)
    assert [r.getMessage() for r in caplog.records] == ["/d/a_flt.fits: not aligned, keeps its WCS"]
    with pytest.raises(InputError) as err:
        runner._raise_bad_input(tmp_path, since=0)
    assert err.value.path == "/d/b_flt.fits" and "already has a WCS named" in err.value.problem
    old = os.path.getmtime(logs / "a.log") + 60   # logs older than the run are not this run's
    runner._raise_bad_input(tmp_path, since=old)
