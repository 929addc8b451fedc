"""Recovery after kill -9 (issue 11, item 8): a run killed at any point leaves no process running,
no input touched and nothing that the README's recovery commands do not clean up; after them the
product is bit-identical to an uninterrupted run's."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from astropy.io import fits

from conftest import REPO, sha256, snakemake
from snakedrizzle.workflow import jobserver

NAME = "killed"
# An output pixel a quarter of WFC's makes the final drizzle write a ~56 MB product, long enough
# to be caught in the middle of its write; the stages before it are unchanged.
FINE_FINAL_GRID = {"final_wcs": "true", "final_scale": "0.0125"}


def run_config(small_set):
    return {"input": f"{small_set['inputs']}/*_flt.fits", "output": NAME, **FINE_FINAL_GRID}


def base_command(workdir):
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]


def config_args(config):
    return ["--config"] + [f"{k}={v}" for k, v in config.items()]


def readme_recovery(workdir, config):
    """The README's "If a run is interrupted": unlock, then the same command with
    --rerun-incomplete (which profiles/local sets)."""
    unlock = base_command(workdir) + ["--unlock"]
    rerun = base_command(workdir) + ["--profile", str(REPO / "profiles" / "local"), *config_args(config)]
    return unlock, rerun


def start(command, log):
    """Start Snakemake in a session of its own, so that its whole process group can be killed."""
    with open(log, "a") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(proc, reached, log, timeout=240):
    end = time.time() + timeout
    while not reached():
        if proc.poll() is not None:
            pytest.fail(f"the run ended ({proc.returncode}) before the stage to kill:\n{Path(log).read_text()[-3000:]}")
        assert time.time() < end, "the stage to kill never came"
        time.sleep(0.001)


def files(folder, pattern):
    return sorted(Path(folder).glob(pattern)) if Path(folder).is_dir() else []


def processes_of(workdir):
    """Processes whose command line names the run directory: Snakemake, its job processes, the job
    server and its workers (and their strip processes: forks of the server)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid != os.getpid() and str(workdir) in " ".join(proc.info["cmdline"] or ()):
            found.append(f"{proc.pid}: {' '.join(proc.info['cmdline'])[:200]}")
    return found


def assert_nothing_left_running(workdir, timeout=5):
    end = time.time() + timeout
    while (left := processes_of(workdir)) and time.time() < end:
        time.sleep(0.1)
    assert not left, "processes of the killed run still running:\n" + "\n".join(left)


def kill(proc, group=True):
    if group:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -PGID: Snakemake and its jobs, as from a terminal
    else:
        proc.kill()  # Snakemake alone, as the OOM killer would
    proc.wait()


def snakedrizzle_temp_dirs():
    return {str(p) for d in {tempfile.gettempdir(), "/tmp"} for p in Path(d).glob("snakedrizzle-*")}


@pytest.mark.slow
def test_run_killed_at_three_points_recovers_bit_identical(small_set, tmp_path):
    config = run_config(small_set)
    inputs = {p: sha256(p) for p in small_set["inputs"].iterdir()}
    temp_dirs_before = snakedrizzle_temp_dirs()

    reference = tmp_path / "uninterrupted"
    snakemake(reference, config=config)

    work = tmp_path / "interrupted"
    results, log = work / "results" / NAME, tmp_path / "interrupted.log"
    unlock, rerun = readme_recovery(work, config)
    kill_points = [
        # (a) the per-exposure jobs: as soon as the first of their outputs appears
        ("per-exposure jobs", base_command(work) + ["--cores", "2", *config_args(config)], True,
         lambda: files(results, "*_static.fits") + files(results, "*_skystats.json")
         + files(results, "*_single_*.fits")),
        # (b) the median, as soon as its job logs; Snakemake alone is killed: its jobs must follow
        ("median", rerun, False, lambda: (work / "logs" / NAME / "median" / "median.log").exists()),
        # (c) the final drizzle, in the middle of writing its product
        ("final drizzle", rerun, True, lambda: files(results, f".tmp-*-{NAME}_drz.fits")),
    ]
    for stage, command, whole_group, reached in kill_points:
        proc = start(command, log)
        wait_until(proc, reached, log)
        kill(proc, whole_group)
        assert_nothing_left_running(work)
        assert {p: sha256(p) for p in inputs} == inputs, f"an input changed (kill in the {stage})"
        assert os.listdir(work / ".snakemake" / "incomplete"), f"no job was running at the kill in the {stage}"
        if stage == "per-exposure jobs":
            # Why the README's recovery starts with --unlock: Snakemake 9 does not see that the
            # lock's owner is dead.
            blocked = snakemake(work, "--rerun-incomplete", config=config, check=False)
            assert blocked.returncode != 0 and "LockException" in blocked.stdout + blocked.stderr
        if stage == "final drizzle":
            time.sleep(2)  # a worker that outlived the kill would finish its write meanwhile
            assert files(results, f".tmp-*-{NAME}_drz.fits"), "the killed writer's temporary is gone"
            assert not (results / f"{NAME}_drz.fits").exists(), "the product was written after the kill"
        done = subprocess.run(unlock, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]

    proc = start(rerun, log)
    assert proc.wait(timeout=300) == 0, log.read_text()[-4000:]
    assert_nothing_left_running(work)
    with fits.open(reference / "results" / NAME / f"{NAME}_drz.fits") as want, \
            fits.open(results / f"{NAME}_drz.fits") as got:
        for ext in ("SCI", "WHT", "CTX"):
            assert np.array_equal(want[ext].data, got[ext].data, equal_nan=True), ext
    assert {p: sha256(p) for p in inputs} == inputs
    assert not [p for p in work.rglob(".tmp-*")], "a killed writer's temporary survived the rerun"
    assert not files(work / jobserver.RUNS, "*"), "a job server's run directory was left behind"
    assert snakedrizzle_temp_dirs() <= temp_dirs_before


def test_orphaned_job_does_not_run_after_its_snakemake_process_is_killed(tmp_path):
    """A job process that was still starting when Snakemake died finds no server: it must fail,
    not run its stage on its own and write a product after the run was killed."""
    starter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from snakedrizzle.workflow import jobserver
        print(jobserver.start({str(tmp_path)!r}).address, flush=True)
        time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    address = starter.stdout.readline().strip()
    starter.kill()
    starter.wait()
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent("""
        import sys, types
        snakemake = types.SimpleNamespace(rule="test", wildcards={}, bench_iteration=None, log=[sys.argv[1]])
        from snakedrizzle.workflow.jobs import run_in_job_server
        run_in_job_server(snakemake)
        open(sys.argv[2], "w").write("written after the run was killed")
        """))
    env = {k: v for k, v in os.environ.items() if k != jobserver.DISABLE_ENV} | {jobserver.ENV: address}
    job = subprocess.run([sys.executable, str(script), str(tmp_path / "job.log"), str(tmp_path / "product")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert job.returncode == 1
    assert "Snakemake process of this job is gone" in job.stderr
    assert not (tmp_path / "product").exists()
