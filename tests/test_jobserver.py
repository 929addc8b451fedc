"""The job server (snakedrizzle.workflow.jobserver) is invisible: a job run through it fails,
stops, dies and is measured as if it had run in its own process, and the products do not depend
on the threads given to a job."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil
import pytest
from astropy.io import fits

from conftest import REPO
from snakedrizzle.workflow import benchmarks, jobserver

# What a rule script looks like to the server, with a stand-in for Snakemake's ``snakemake``.
PREAMBLE = """\
import os, sys, time, types
snakemake = types.SimpleNamespace(rule="test", wildcards={}, bench_iteration=None, log=[sys.argv[1]])
from snakedrizzle.workflow import jobserver
from snakedrizzle.workflow.jobs import run_in_job_server
run_in_job_server(snakemake)
print(f"in worker: {jobserver.in_worker()}", flush=True)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("jobserver")
    srv = jobserver.start(workdir)
    os.environ.pop(jobserver.ENV)  # only the jobs of these tests use it
    yield srv
    jobserver.stop(srv, None)


def job(folder, body, server=None, **env):
    """Start a job script (PREAMBLE + body) in ``folder``, through ``server`` if given."""
    script = folder / "job.py"
    script.write_text(PREAMBLE + textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if k != jobserver.ENV} | env
    if server:
        env[jobserver.ENV] = server.address
    return subprocess.Popen([sys.executable, str(script), str(folder / "job.log")], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path, timeout=30):
    end = time.time() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.time() < end, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text().split()


def gone(pid, timeout=10):
    """Whether process ``pid`` ends (or is a zombie nobody reaps) within ``timeout`` s."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("through_server", [True, False])
def test_bad_input_is_one_line_and_fails_the_job(server, tmp_path, through_server):
    proc = job(tmp_path, """
        from snakedrizzle.errors import InputError
        raise InputError("x_flt.fits", "EXPTIME=0.0 is not positive")
        """, server if through_server else None)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"in worker: {through_server}" in out
    assert [line for line in err.splitlines() if line.strip()] == [err.strip()]  # one line
    assert "bad input: x_flt.fits: EXPTIME=0.0 is not positive" in err
    assert "bad input: x_flt.fits: EXPTIME=0.0 is not positive" in (tmp_path / "job.log").read_text()


def test_job_runs_in_worker_with_the_jobs_cwd_env_and_streams(server, tmp_path):
    proc = job(tmp_path, """
        print(os.getcwd(), os.environ["JOB_ONLY"])
        print("to stderr", file=sys.stderr)
        sys.exit(3)
        """, server, JOB_ONLY="set by the job")
    out, err = proc.communicate(timeout=60)
    assert out.splitlines() == ["in worker: True", f"{tmp_path} set by the job"]
    assert err.startswith("to stderr\n")
    assert proc.returncode == 3


def test_worker_killed_mid_job_fails_the_job_clearly(server, tmp_path):
    proc = job(tmp_path, """
        open("pid", "w").write(str(os.getpid()))
        time.sleep(60)
        """, server)
    (pid,) = wait_for_file(tmp_path / "pid")
    assert int(pid) != proc.pid
    os.kill(int(pid), signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "the worker process running this job was killed by SIGKILL" in err


def test_sigterm_to_the_job_stops_its_worker_and_strips(server, tmp_path):
    proc = job(tmp_path, """
        child = os.fork()  # like a strip process of a parallel stage
        if child == 0:
            time.sleep(60)
            os._exit(0)
        open("pid", "w").write(f"{os.getpid()} {child}")
        time.sleep(60)
        """, server)
    worker, strip = map(int, wait_for_file(tmp_path / "pid"))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert gone(worker) and gone(strip)


def test_server_and_workers_die_with_the_process_that_started_them(tmp_path):
    starter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from snakedrizzle.workflow import jobserver
        server = jobserver.start({str(tmp_path)!r})
        print(server.proc.pid, server.address, flush=True)
        time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    server_pid, address = starter.stdout.readline().split()
    proc = job(tmp_path, """
        open("pid", "w").write(str(os.getpid()))
        time.sleep(60)
        """, SimpleNamespace(address=address))
    (worker,) = wait_for_file(tmp_path / "pid")
    assert int(worker) != proc.pid  # the job was handed over
    runs = tmp_path / jobserver.RUNS
    assert (runs / str(starter.pid)).is_dir()
    starter.kill()
    starter.wait()
    assert gone(int(server_pid)) and gone(int(worker))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "job server stopped while running this job" in err
    # The next run in the same folder removes what the killed one left; its own stop the rest.
    jobserver.stop(jobserver.start(tmp_path), None)
    os.environ.pop(jobserver.ENV, None)
    assert not runs.exists()


def test_server_only_for_local_runs_without_software_deployment(monkeypatch):
    monkeypatch.delenv(jobserver.DISABLE_ENV, raising=False)

    def workflow(main=True, local=True, methods=()):
        return SimpleNamespace(is_main_process=main, local_exec=local,
                               deployment_settings=SimpleNamespace(deployment_method=set(methods)))

    assert jobserver.wanted(workflow())
    assert not jobserver.wanted(workflow(methods=["CONDA"]))
    assert not jobserver.wanted(workflow(methods=["APPTAINER"]))
    assert not jobserver.wanted(workflow(main=False))  # a cluster job
    assert not jobserver.wanted(workflow(local=False))  # the main process of a cluster run
    monkeypatch.setenv(jobserver.DISABLE_ENV, "1")
    assert not jobserver.wanted(workflow())


def jobserver_block():
    """The repository Snakefile's job-server block, for a small workflow of the tests' own."""
    text = (REPO / "Snakefile").read_text()
    block = text[text.index("from snakedrizzle.workflow import jobserver"):text.index("rule all:")]
    # the block ends a run by naming the products of the repository's plan; this workflow has none
    return "from types import SimpleNamespace\nplan = SimpleNamespace(finished_products=list)\n" + block


def test_benchmark_file_records_the_worker(tmp_path):
    (tmp_path / "alloc.py").write_text(textwrap.dedent("""
        from snakedrizzle.workflow import jobserver
        from snakedrizzle.workflow.jobs import run_in_job_server
        run_in_job_server(snakemake)
        import time
        import numpy as np
        block = np.ones(300 * 2**20 // 8)  # 300 MB, touched
        end = time.process_time() + 0.5
        while time.process_time() < end:
            pass
        open(snakemake.output[0], "w").write(f"in worker: {jobserver.in_worker()}")
        """))
    (tmp_path / "Snakefile").write_text(jobserver_block() + textwrap.dedent("""
        rule alloc:
            output: "out/{n}.txt"
            log: "logs/alloc/{n}.log"
            benchmark: "logs/alloc/{n}.benchmark.tsv"
            script: "alloc.py"
        """))
    env = {k: v for k, v in os.environ.items() if k not in (jobserver.ENV, jobserver.DISABLE_ENV)}
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "out/1.txt"], cwd=tmp_path,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "out" / "1.txt").read_text() == "in worker: True"
    lines = (tmp_path / "logs" / "alloc" / "1.benchmark.tsv").read_text().splitlines()
    bench = dict(zip(lines[0].split("\t"), lines[1].split("\t")))
    assert float(bench["max_rss"]) >= 300
    assert float(bench["cpu_time"]) >= 0.45
    assert float(bench["s"]) >= float(bench["cpu_time"]) / 2
    assert bench["max_uss"] == "NA"
    assert not (tmp_path / jobserver.RUNS).exists()


def test_benchmark_rows_of_repeats_and_jsonl_files_are_rewritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\tjobid"
    Path("a.benchmark.tsv").write_text(header + "\n" + "2.00\t0:00:02\t25\t30\t20\t21\t0\t0\t1\t0.09\t7\n" * 2)
    Path("b.benchmark.jsonl").write_text('{"s": 4.0, "max_rss": 25, "jobid": 8}\n')
    measured = {"worker_s": 1.9, "max_rss": 269.0, "max_vms": 500.0, "cpu_time": 1.0, "io_in": 0.0, "io_out": 3.0}
    records = [{"rule": "r", "wildcards": {"n": "a"}, "iteration": 1, **measured},
               {"rule": "r", "wildcards": {"n": "b"}, "iteration": 0, **measured},
               {"rule": "r", "wildcards": {"n": "gone"}, "iteration": 0, **measured}]  # failed job: no file
    Path(benchmarks.RECORDS).write_text("".join(json.dumps(r) + "\n" for r in records))
    rule = SimpleNamespace(benchmark="{n}.benchmark.tsv")
    jsonl_rule = SimpleNamespace(benchmark="{n}.benchmark.jsonl")
    calls = iter([rule, jsonl_rule, rule])
    benchmarks.rewrite_benchmark_files(".", SimpleNamespace(get_rule=lambda name: next(calls)))
    rows = Path("a.benchmark.tsv").read_text().splitlines()
    assert rows[1] == "2.00\t0:00:02\t25\t30\t20\t21\t0\t0\t1\t0.09\t7"  # iteration 0: untouched
    assert rows[2] == "2.00\t0:00:02\t269.00\t500.00\tNA\tNA\t0.00\t3.00\t50.00\t1.00\t7"
    row = json.loads(Path("b.benchmark.jsonl").read_text())
    assert row["max_rss"] == 269.0 and row["mean_load"] == 25.0 and row["jobid"] == 8 and row["s"] == 4.0


def drizzle_products(workdir, inputs, *options):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           *options, "--config", f"input={inputs}/*_flt.fits", "output=threads"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    with fits.open(Path(workdir) / "results" / "threads" / "threads_drz.fits") as hdus:
        return {ext: hdus[ext].data.copy() for ext in ("SCI", "WHT", "CTX")}


@pytest.mark.slow
def test_threads_do_not_change_the_products(small_set, tmp_path):
    one = drizzle_products(tmp_path / "one", small_set["inputs"], "--cores", "1")
    four = drizzle_products(tmp_path / "four", small_set["inputs"], "--cores", "4",
                            "--set-threads", "median=4", "final_drizzle=4")
    for ext in one:
        assert np.array_equal(one[ext], four[ext], equal_nan=True), ext
