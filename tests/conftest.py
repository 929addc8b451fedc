"""Shared fixtures: small synthetic datasets with truth, workflow runs in temporary folders."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "hst"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snakemake(workdir, *args, config=None, check=True):
    """Run the repository's workflow in ``workdir``; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    if config:
        cmd += ["--config"] + [f"{k}={v}" for k, v in config.items()]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(workdir, config):
    """(rule, wildcards) of every job a dry run would run."""
    proc = snakemake(workdir, "--dry-run", config=config)
    text = proc.stdout + proc.stderr
    jobs = []
    # Grouped jobs are printed indented under a "group job" header: split on any indentation.
    for block in re.split(r"\n(?=[ \t]*(?:local)?(?:rule|checkpoint) )", text):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block.strip())
        if not m:
            continue
        wc = re.search(r"wildcards: (.*)", block)
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        jobs.append((m.group(1), wildcards))
    return [j for j in jobs if j[0] != "all"]


@pytest.fixture(scope="session")
def small_set(tmp_path_factory):
    """Three dithered ACS/WFC-like exposures (2 chips of 256x512) plus a fourth kept aside."""
    from snakedrizzle.simulate import make_dataset

    folder = tmp_path_factory.mktemp("small_set")
    data = make_dataset(folder / "all", "ACS/WFC", 4, seed=7, chip_shape=(256, 512), n_stars=120,
                        n_galaxies=10)
    inputs = folder / "inputs"
    inputs.mkdir()
    for p in data.paths[:3]:
        shutil.copy(p, inputs)
    for p in inputs.iterdir():
        os.chmod(p, 0o444)  # read-only, like archive data: any write attempt fails loudly
    return {"data": data, "inputs": inputs, "spare": Path(data.paths[3])}


@pytest.fixture
def good_file(small_set, tmp_path):
    """A writable copy of one exposure of the small set, for tests that break it."""
    src = sorted(small_set["inputs"].iterdir())[0]
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    dst.chmod(0o644)
    return dst


@pytest.fixture(scope="session")
def hrc_svm_run(tmp_path_factory):
    """The real ACS/HRC 47 Tuc visit built once by runsinglehap from read-only copies (shared by
    the SVM product and catalog tests: one run of the whole visit is minutes of CI)."""
    from types import SimpleNamespace

    from snakedrizzle.hap import runsinglehap

    source = SHARED / "acs_hrc_47tuc"
    if not source.is_dir():
        pytest.skip("HRC test data not available")
    root = tmp_path_factory.mktemp("svm")
    data = root / "data"
    data.mkdir()
    for f in sorted(source.glob("*_flt.fits")):
        shutil.copy(f, data / f.name)
        os.chmod(data / f.name, 0o444)
    before = {f.name: sha256(f) for f in data.iterdir()}
    products = runsinglehap(str(data / "*_flt.fits"), workdir=root / "work", cores=2)
    return SimpleNamespace(root=root, work=root / "work", data=data, before=before, products=products)
