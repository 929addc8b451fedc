"""Same bits for any --cores: an SVM visit (alignment, every HAP product, catalogs) built with
--cores 1 and with --cores 2 gives identical pixels and catalog values."""
import glob
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.simulate import make_dataset
from truth import write_gaia_like

pytestmark = pytest.mark.slow
SNAKEFILE = Path(__file__).resolve().parents[1] / "Snakefile"


def _build(work, data, gaia, cores):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(work), "--cores", str(cores),
           "--config", f"poller={data}/*_flt.fits", f"refcat={gaia}"]
    run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SNAKEDRIZZLE_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    return work / "results" / "svm"


def test_svm_products_and_catalogs_are_the_same_for_1_and_2_cores(tmp_path):
    data = make_dataset(tmp_path / "data", "ACS/HRC", 3, chip_shape=(400, 400), n_stars=200, seed=9,
                        pointing_errors=[(6.0, -4.0, 0.01, 1.0)] * 3, dithers=[(0, 0), (0.25, 0.15), (0.5, 0.3)])
    gaia = write_gaia_like(data, tmp_path / "gaia.ecsv", 3000.0)
    one, two = (_build(tmp_path / f"cores{c}", tmp_path / "data", gaia, c) for c in (1, 2))
    names = sorted(os.path.relpath(p, one) for p in glob.glob(str(one / "**" / "*"), recursive=True)
                   if p.endswith((".fits", ".ecsv")))
    assert names == sorted(os.path.relpath(p, two) for p in glob.glob(str(two / "**" / "*"), recursive=True)
                           if p.endswith((".fits", ".ecsv")))
    assert sum(n.endswith("_drz.fits") for n in names) >= 3 and sum(n.endswith("-cat.ecsv") for n in names) >= 4
    for name in names:
        if name.endswith(".fits"):
            with fits.open(one / name) as a, fits.open(two / name) as b:
                for x, y in zip(a, b):
                    if x.is_image and x.data is not None:
                        assert np.array_equal(x.data, y.data, equal_nan=True), (name, x.name)
        else:
            a, b = Table.read(one / name, format="ascii.ecsv"), Table.read(two / name, format="ascii.ecsv")
            assert a.colnames == b.colnames and len(a) == len(b), name
            for c in a.colnames:
                assert np.array_equal(np.asarray(a[c]), np.asarray(b[c])) or \
                    np.array_equal(np.asarray(a[c], float), np.asarray(b[c], float), equal_nan=True), (name, c)
