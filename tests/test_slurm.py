"""The demo workflow through a real (single-node, throw-away) SLURM cluster.

The session fixture starts munged + slurmctld + slurmd with ``.ci/slurm.sh start`` in a
temporary directory and stops exactly those daemons at teardown.  The tests are skipped
when SLURM is not installed (``sudo .ci/slurm.sh install``) or cannot be started, except
under ``CI=true`` with SLURM installed, where a cluster that does not come up fails.

    pytest -m slurm -v -s tests/test_slurm.py

Environment:
    SNAKEDRIZZLE_TEST_SNAKEFILE   workflow to run instead of <repo>/Snakefile
    SNAKEDRIZZLE_SLURM_TIMEOUT    seconds allowed per snakemake run (default 1800)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
SLURM_SH = REPO / ".ci" / "slurm.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm"
LOCAL_PROFILE = REPO / "profiles" / "local"
PRODUCT = Path("results", "demo", "demo_drz.fits")
FINAL_RULE = "final_drizzle"
RUN_TIMEOUT = int(os.environ.get("SNAKEDRIZZLE_SLURM_TIMEOUT", "1800"))
SLURM_BINARIES = ("sbatch", "squeue", "sinfo", "scontrol", "srun", "slurmctld", "slurmd", "munged")

SUBMITTED_RE = re.compile(
    r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$", re.M
)
RUN_ID_RE = re.compile(r"^SLURM run ID: (\S+)$", re.M)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _pid_alive(pid: int) -> bool:
    """Running and not a zombie (the daemons are reparented, so not reaped by us)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@dataclass
class Cluster:
    dir: Path
    env: dict

    def logs(self) -> str:
        """Tails of the daemons' logs, for failure messages."""
        res = subprocess.run(
            ["bash", str(SLURM_SH), "logs", str(self.dir)],
            capture_output=True, text=True, timeout=30,
        )
        return res.stdout + res.stderr

    def squeue(self, *args: str) -> str:
        res = subprocess.run(
            ["squeue", *args], env=self.env, capture_output=True, text=True, timeout=30
        )
        assert res.returncode == 0, res.stderr
        return res.stdout


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    missing = [b for b in SLURM_BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(
            f"SLURM is not installed (missing: {', '.join(missing)}); "
            "install it with `sudo .ci/slurm.sh install`"
        )

    def not_up(msg):
        (pytest.fail if _in_ci() else pytest.skip)(msg)

    if os.geteuid() != 0:
        not_up("starting slurmctld/slurmd/munged with .ci/slurm.sh needs root")

    cdir = tmp_path_factory.mktemp("slurm")
    t0 = time.monotonic()
    try:
        res = subprocess.run(
            ["bash", str(SLURM_SH), "start", str(cdir)],
            capture_output=True, text=True, timeout=300,
        )
    except subprocess.TimeoutExpired as exc:
        subprocess.run(["bash", str(SLURM_SH), "stop", str(cdir)], capture_output=True)
        not_up(f"`.ci/slurm.sh start` timed out: {exc}")
    if res.returncode != 0:
        not_up(
            f"SLURM did not come up (`.ci/slurm.sh start {cdir}` exited "
            f"{res.returncode}):\n{res.stdout}\n{res.stderr}"
        )
    print(f"\nSLURM test cluster up in {time.monotonic() - t0:.1f}s: {cdir}\n{res.stderr}")
    env = dict(os.environ, SLURM_CONF=str(cdir / "slurm.conf"))
    env.pop("SLURM_JOB_ID", None)  # in case pytest itself runs inside a SLURM job
    cluster = Cluster(dir=cdir, env=env)

    # A SIGTERM (e.g. from `timeout`) would end pytest without teardown and leave the
    # daemons running: turn it into KeyboardInterrupt, which pytest tears down after.
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old_handler = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        etc_conf = Path("/etc/slurm/slurm.conf")
        if etc_conf.resolve() != (cdir / "slurm.conf").resolve():
            # slurm-jobstep drops SLURM_CONF before its srun inside the batch job
            not_up(f"{etc_conf} is not a link to {cdir / 'slurm.conf'}: srun inside the "
                   "jobs would not find this cluster")
        yield cluster
    finally:
        signal.signal(signal.SIGTERM, old_handler)
        pids = [
            int(line.split()[1])
            for line in (cdir / "pids").read_text().splitlines()
            if len(line.split()) == 2
        ] if (cdir / "pids").exists() else []
        res = subprocess.run(
            ["bash", str(SLURM_SH), "stop", str(cdir)],
            capture_output=True, text=True, timeout=120,
        )
        print(f"\nSLURM test cluster stopped: {res.stderr.strip()}")
        alive = [p for p in pids if _pid_alive(p)]
        assert res.returncode == 0 and not alive, (
            f"could not stop the SLURM daemons (alive: {alive}):\n{res.stdout}\n{res.stderr}"
        )


@pytest.fixture(scope="session")
def snakefile():
    path = Path(os.environ.get("SNAKEDRIZZLE_TEST_SNAKEFILE", REPO / "Snakefile"))
    if not path.exists():
        pytest.skip(f"no demo workflow yet: {path} does not exist")
    return path


@dataclass
class Run:
    workdir: Path
    output: str
    seconds: float
    returncode: int


def snakemake(snakefile, workdir, *args, env=None, check=True, cluster=None) -> Run:
    cmd = [
        sys.executable, "-m", "snakemake",
        "-s", str(snakefile), "--directory", str(workdir), *map(str, args),
    ]
    t0 = time.monotonic()
    try:
        res = subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=RUN_TIMEOUT,
        )
        out, rc = res.stdout, res.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        out, rc = out + f"\n*** timed out after {RUN_TIMEOUT}s", -1
    run = Run(Path(workdir), out, time.monotonic() - t0, rc)
    if check and rc != 0:
        msg = f"`{' '.join(cmd)}` failed ({rc}) after {run.seconds:.0f}s:\n{out[-8000:]}"
        if cluster is not None:
            msg += "\n\n" + _slurm_job_logs(Path(workdir)) + "\n" + cluster.logs()
        pytest.fail(msg)
    return run


def _slurm_job_logs(workdir: Path, tail: int = 40) -> str:
    parts = []
    for log in sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        parts.append(f"----- tail -n {tail} {log}\n" + "\n".join(lines[-tail:]))
    return "\n".join(parts[-10:])


def job_stats(output: str) -> dict[str, int]:
    """Rule -> job count from the last 'Job stats:' table snakemake printed."""
    blocks = output.split("Job stats:")
    if len(blocks) < 2:
        return {}
    stats = {}
    for line in blocks[-1].splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("job") or set(line) <= set("- "):
            if stats:
                break
            continue
        name, _, count = line.rpartition(" ")
        name = name.strip()
        if name == "total":
            break
        stats[name] = int(count)
    return stats


def job_reasons(output: str) -> dict[str, set[str]]:
    """Rule -> set of 'reason:' texts of the jobs snakemake listed."""
    reasons: dict[str, set[str]] = {}
    rule = None
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\S+):$", line.strip())
        if m:
            rule = m.group(1)
            continue
        m = re.match(r"^reason: (.*)$", line.strip())
        if m and rule is not None:
            reasons.setdefault(rule, set()).add(m.group(1).strip())
            rule = None
    return reasons


def started_jobs(output: str) -> tuple[list[str], list[str]]:
    """What snakemake started: (remote units, local jobs).

    A remote unit is a job of its own (an unindented "rule X:" block) or a group job
    ("Group job G (jobs in lexicogr. order):" followed by indented rule blocks); each
    becomes one sbatch submission.
    """
    remote = re.findall(r"^(?:rule|checkpoint) (\S+):$", output, re.M)
    remote += [f"group_{g}" for g in re.findall(r"Group job (\S+) \(", output)]
    local = re.findall(r"^\s*local(?:rule|checkpoint) (\S+):$", output, re.M)
    return remote, local


def read_product(workdir: Path) -> dict:
    from astropy.io import fits

    path = workdir / PRODUCT
    assert path.exists(), f"{path} was not built"
    with fits.open(path) as hdul:
        return {ext: hdul[ext].data.copy() for ext in ("SCI", "WHT", "CTX")}


def assert_same_product(a: dict, b: dict, what: str):
    import numpy as np

    for ext in ("SCI", "WHT", "CTX"):
        assert a[ext].dtype == b[ext].dtype and a[ext].shape == b[ext].shape, (
            f"{what}: {ext} differs in dtype/shape: {a[ext].dtype}{a[ext].shape} "
            f"vs {b[ext].dtype}{b[ext].shape}"
        )
        assert np.array_equal(a[ext], b[ext], equal_nan=a[ext].dtype.kind == "f"), (
            f"{what}: {ext} is not bit-identical "
            f"(max |diff| = {np.nanmax(np.abs(a[ext].astype('f8') - b[ext].astype('f8')))})"
        )


def check_went_through_slurm(run: Run, cluster: Cluster) -> list[str]:
    """All non-local jobs of `run` were sbatch'ed, and SLURM ran them to COMPLETED."""
    out = run.output
    submitted = SUBMITTED_RE.findall(out)
    remote, local = started_jobs(out)
    assert submitted, f"no 'submitted with SLURM jobid' lines in the log:\n{out[-4000:]}"
    assert len(submitted) == len(remote), (
        f"{len(submitted)} SLURM submissions for {len(remote)} non-local jobs "
        f"({sorted(set(remote))}; local: {sorted(set(local))})"
    )
    run_id = RUN_ID_RE.search(out)
    assert run_id, "no 'SLURM run ID:' in the log"
    # MinJobAge=3600 keeps finished jobs in slurmctld, so squeue still knows them
    states = dict(
        line.split("|", 1)
        for line in cluster.squeue(
            "--states=all", "--noheader", "--format=%i|%T", "--name", run_id.group(1)
        ).split()
    )
    slurm_ids = [sid for _, sid, _ in submitted]
    assert {sid: states.get(sid) for sid in slurm_ids} == {sid: "COMPLETED" for sid in slurm_ids}
    # the rules' job logs (kept by slurm-keep-successful-logs) ran on a SLURM node
    for _, sid, log in submitted:
        assert Path(log).exists(), f"SLURM log {log} of job {sid} is missing"
    # .snakemake/slurm_logs/rule_<name>[/<wildcards>]/<jobid>.log -> <name>,
    # .snakemake/slurm_logs/group_<group>_<rules>/<jobid>.log -> group_<group>_<rules>
    logdir = (run.workdir / ".snakemake" / "slurm_logs").resolve()
    return [
        Path(log).resolve().relative_to(logdir).parts[0].removeprefix("rule_")
        for _, _, log in submitted
    ]


@pytest.fixture(scope="module")
def slurm_demo_run(slurm_cluster, snakefile, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo_slurm")
    run = snakemake(
        snakefile, workdir, "--profile", SLURM_PROFILE,
        env=slurm_cluster.env, cluster=slurm_cluster,
    )
    print(f"\nSLURM demo run: {run.seconds:.1f}s, {job_stats(run.output)}")
    return run


@pytest.mark.slow
def test_demo_through_slurm_bit_identical(
    slurm_cluster, snakefile, slurm_demo_run, tmp_path_factory, record_property
):
    rules = check_went_through_slurm(slurm_demo_run, slurm_cluster)
    assert FINAL_RULE in rules, f"{FINAL_RULE} was not submitted to SLURM: {rules}"
    print(f"\n{len(rules)} SLURM jobs: {dict(Counter(rules))}")

    local1 = snakemake(
        snakefile, tmp_path_factory.mktemp("demo_local1"), "--cores", "1",
        env=slurm_cluster.env,
    )
    local2 = snakemake(
        snakefile, tmp_path_factory.mktemp("demo_local2"), "--profile", LOCAL_PROFILE,
        "--cores", "2", env=slurm_cluster.env,
    )
    assert "SLURM jobid" not in local1.output + local2.output

    times = {
        "slurm": slurm_demo_run.seconds, "local_cores1": local1.seconds,
        "local_cores2": local2.seconds,
    }
    for k, v in times.items():
        record_property(f"seconds_{k}", round(v, 1))
    print("\nwall-clock seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))

    via_slurm = read_product(slurm_demo_run.workdir)
    assert_same_product(read_product(local1.workdir), via_slurm, "--cores 1 vs SLURM")
    assert_same_product(read_product(local2.workdir), via_slurm, "--cores 2 vs SLURM")


@pytest.mark.slow
def test_slurm_rerun_submits_only_stale(slurm_cluster, snakefile, slurm_demo_run):
    workdir = slurm_demo_run.workdir
    args = ("--profile", SLURM_PROFILE, "--config", "final_pixfrac=0.8")
    jobs_before = slurm_cluster.squeue("--states=all", "--noheader", "--format=%i").split()

    dry = snakemake(snakefile, workdir, *args, "--dry-run", env=slurm_cluster.env)
    stats = job_stats(dry.output)
    assert stats.get(FINAL_RULE, 0) >= 1, f"{FINAL_RULE} not in the dry-run jobs: {stats}"
    # every job but final_drizzle may only be there because final_drizzle reruns
    # (a target rule like `all`, or a product derived from the drizzled image)
    reasons = job_reasons(dry.output)
    stale = {
        rule for rule, why in reasons.items()
        if any(not w.startswith("Input files updated by another job") for w in why)
    }
    assert stale == {FINAL_RULE}, (
        f"dry run with final_pixfrac=0.8 plans {stats}; stale by their own reason: "
        f"{ {r: sorted(reasons[r]) for r in stale} }"
    )
    assert "SLURM jobid" not in dry.output
    jobs_after = slurm_cluster.squeue("--states=all", "--noheader", "--format=%i").split()
    assert jobs_after == jobs_before, "the dry run submitted SLURM jobs"

    before = read_product(workdir)
    rerun = snakemake(snakefile, workdir, *args, env=slurm_cluster.env, cluster=slurm_cluster)
    print(f"\nSLURM rerun with final_pixfrac=0.8: {rerun.seconds:.1f}s, {job_stats(rerun.output)}")
    rules = check_went_through_slurm(rerun, slurm_cluster)
    # only what the dry run planned was submitted, final_drizzle included
    assert FINAL_RULE in rules and set(rules) <= set(stats), (rules, stats)
    after = read_product(workdir)
    import numpy as np

    assert not np.array_equal(before["SCI"], after["SCI"], equal_nan=True) or not \
        np.array_equal(before["WHT"], after["WHT"], equal_nan=True), \
        "final_pixfrac=0.8 did not change the drizzled product"

    again = snakemake(snakefile, workdir, *args, "--dry-run", env=slurm_cluster.env)
    assert job_stats(again.output) == {}, (
        f"still jobs to run after the rerun: {job_stats(again.output)}"
    )
