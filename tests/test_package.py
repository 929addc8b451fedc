"""The wheel carries the workflow (issue 10): built from this checkout, installed into a fresh
venv outside it, its ``astrodrizzle`` command drizzles the real ACS/HRC pair and the demo into
products identical to the checkout's."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from conftest import REPO, SHARED, snakemake

pytestmark = pytest.mark.slow

WORKFLOW_FILES = ["Snakefile", "config.yaml", "config.schema.json", "rules", "scripts", "envs", "profiles",
                  "report"]
PACKAGED = "snakedrizzle/workflow/files/"


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, venv environment, scratch folder): the wheel built by pip, installed with
    --no-deps into a venv that sees the system's science stack but not the checkout."""
    top = tmp_path_factory.mktemp("package")
    _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
          "-w", str(top / "dist")])
    wheel = next((top / "dist").glob("snakedrizzle-*.whl"))
    venv = top / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"   # the rules' scripts use the venv's python
    # --ignore-installed: the checkout's editable install is visible through the system site
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
          str(wheel)], env=env, cwd=top)
    return {"wheel": wheel, "venv": venv, "env": env, "top": top}


def test_wheel_holds_the_workflow_files_as_they_are_in_the_checkout(installed):
    print(f"wheel {installed['wheel'].name}: {installed['wheel'].stat().st_size / 1024:.0f} KiB")
    with zipfile.ZipFile(installed["wheel"]) as whl:
        names = set(whl.namelist())
        expected = [p for name in WORKFLOW_FILES for p in ([REPO / name] if (REPO / name).is_file() else
                    sorted(f for f in (REPO / name).rglob("*") if f.is_file() and "__pycache__" not in f.parts))]
        assert any(p.name == "Snakefile" for p in expected) and any(p.suffix == ".smk" for p in expected)
        for path in expected:
            packaged = PACKAGED + path.relative_to(REPO).as_posix()
            assert packaged in names, packaged
            assert whl.read(packaged) == path.read_bytes(), packaged
        assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".whl"))]
        assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]


def test_installed_package_is_the_wheels_and_finds_its_workflow(installed):
    code = ("import snakedrizzle, snakedrizzle.workflow.runner as r; "
            "print(snakedrizzle.__file__); print(r.workflow_dir())")
    out = _run([str(installed["venv"] / "bin" / "python"), "-c", code], env=installed["env"],
               cwd=installed["top"]).stdout.split()
    site = str(installed["venv"])
    assert out[0].startswith(site) and out[1].startswith(site) and out[1].endswith("snakedrizzle/workflow/files")
    assert not out[0].startswith(str(REPO))


def _same_product(ours, theirs):
    with fits.open(ours) as a, fits.open(theirs) as b:
        for ext in ("SCI", "WHT", "CTX"):
            assert np.array_equal(a[ext].data, b[ext].data, equal_nan=True), (ours, ext)


def _astrodrizzle(installed, *args):
    """The venv's console script, run outside the checkout; returns the path it printed last."""
    proc = _run([str(installed["venv"] / "bin" / "astrodrizzle"), *args, "--cores", "2"], env=installed["env"],
                cwd=installed["top"])
    return Path(installed["top"], proc.stdout.strip().splitlines()[-1])


def test_wheel_drizzles_the_hrc_pair_like_the_checkout(installed, tmp_path):
    paths = sorted((SHARED / "acs_hrc_47tuc").glob("j8bt06*_flt.fits"))
    if len(paths) != 2:
        pytest.skip("../shared/data/hst/acs_hrc_47tuc is not here")
    inputs = installed["top"] / "hrc"
    inputs.mkdir()
    for p in paths:
        shutil.copy(p, inputs)
    product = _astrodrizzle(installed, "hrc/*_flt.fits", "--output", "hrc", "--workdir", "wheel_hrc")
    assert product == installed["top"] / "wheel_hrc/results/hrc/hrc_drz.fits"
    snakemake(tmp_path, config={"input": str(inputs / "*_flt.fits"), "output": "hrc"})
    _same_product(product, tmp_path / "results/hrc/hrc_drz.fits")


def test_wheel_builds_the_demo_like_the_checkout(installed, tmp_path):
    product = _astrodrizzle(installed, "--workdir", "wheel_demo")
    assert product == installed["top"] / "wheel_demo/results/demo/demo_drz.fits"
    snakemake(tmp_path)
    _same_product(product, tmp_path / "results/demo/demo_drz.fits")
