"""SVM parity with DrizzlePac 3.11's runsinglehap on the real ACS/HRC 47 Tuc visit (F606W x2,
F555W, F330W): one run of each side on copies of the same four FLTs (module fixture), then the
meta-WCS of the total products, the product names per level and the filter products' SCI.

DrizzlePac runs without network (benchmarks/compare_runsinglehap.NO_NETWORK: its Gaia query fails
at once and it keeps the header WCS, as we do); its catalog step fails with photutils 3 after its
drizzle products exist, so its exit status is recorded, not required. Every comparison needs only
what DrizzlePac wrote and is skipped for what it did not get to."""
import importlib.util
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits

from conftest import REPO, SHARED
from parity import sci_agreement

HRC = SHARED / "acs_hrc_47tuc"
TIMEOUT = 900       # s; DrizzlePac takes about a minute here

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(len(list(HRC.glob("*_flt.fits"))) != 4, reason="HRC data not present")]


def _bench():
    spec = importlib.util.spec_from_file_location("compare_runsinglehap",
                                                  REPO / "benchmarks" / "compare_runsinglehap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """DrizzlePac's runsinglehap and ours (snakemake --config poller=CSV), once each."""
    pytest.importorskip("drizzlepac.runsinglehap")
    bench = _bench()
    root = tmp_path_factory.mktemp("hap_parity")
    files = sorted(str(p) for p in HRC.glob("*_flt.fits"))
    dp = bench.run_drizzlepac(files, root / "drizzlepac", timeout=TIMEOUT)
    # DrizzlePac 3.11's skymatch raises on the F606W pair here and it falls back to localmin (its
    # warning): ours then runs the sky method DrizzlePac actually used, at the levels it fell back
    pars = root / "svm_pars.yaml"
    pars.write_text("".join(f"{level}:\n  skymethod: localmin\n" for level in dp["sky_fallback_levels"]))
    # the drizzle products only: DrizzlePac's catalog step fails here (photutils 3), and ours are
    # tested in test_hap_catalogs
    # offline, DrizzlePac keeps every exposure's header WCS; ours would align the exposures to
    # each other (relative_fallback): switched off here to compare the same WCSs
    align = root / "align_pars.yaml"
    align.write_text("relative_fallback: false\n")
    ours = bench.run_ours(files, root / "ours", svm_pars=pars if dp["sky_fallback_levels"] else None,
                          extra=("--omit-from", "svm_detection"), align_pars=align)
    ours_dir = next((root / "ours" / "results" / "svm").glob("*/"))
    record = {k: dp[k] for k in ("returncode", "return_value", "cut_off", "wall", "wall_to_products",
                                 "rss_tree_mb", "steps", "errors", "sky_fallback_levels", "products")}
    record["ours"] = {k: ours[k] for k in ("wall", "rss_tree_mb", "products")}
    (root / "record.json").write_text(json.dumps(record, indent=2))
    print("\nDrizzlePac runsinglehap vs ours:", json.dumps(record, indent=1))
    return SimpleNamespace(dp=root / "drizzlepac", ours=ours_dir, ours_data=root / "ours" / "data", dp_run=dp,
                           ours_run=ours)


def _products(folder):
    """{level: {name}} of the HAP drizzle products in ``folder``."""
    levels = {"exposure": set(), "filter": set(), "total": set()}
    for path in Path(folder).glob("hst_*_dr[cz].fits"):
        ipppss = re.search(r"_([a-z0-9]+)_dr[cz]\.fits$", path.name)[1]
        level = "total" if "_total_" in path.name else "exposure" if len(ipppss) == 8 else "filter"
        levels[level].add(path.name)
    return levels


def _needs(sides, name):
    path = sides.dp / name
    if not path.is_file():
        pytest.skip(f"DrizzlePac did not write {name} (steps reached: {sides.dp_run['steps']})")
    return path


def test_drizzlepac_ran_offline_to_its_drizzle_products(sides):
    run = sides.dp_run
    assert not run["cut_off"], f"DrizzlePac still running after {TIMEOUT} s"
    # no network: the Gaia alignment fails and HAP goes on with the header WCS
    assert "alignment to Gaia" in run["steps"] and "drizzle products" in run["steps"]


def test_product_names_per_level_match_drizzlepacs(sides):
    theirs, ours = _products(sides.dp), _products(sides.ours)
    if not any(theirs.values()):
        pytest.skip("DrizzlePac wrote no drizzle product")
    assert {k: sorted(v) for k, v in ours.items()} == {k: sorted(v) for k, v in theirs.items()}
    assert (len(ours["exposure"]), len(ours["filter"]), len(ours["total"])) == (4, 3, 1)
    from snakedrizzle.hap.tree import visits_of_poller

    manifests = sorted(p.name for p in sides.dp.glob("*_manifest.txt"))
    # ours is left out with the catalogs here (--omit-from): its name comes from the visit tree
    assert manifests == sorted(v.manifest for v in visits_of_poller(str(sides.ours_data / "*_flt.fits")))


def test_total_product_metawcs_equals_drizzlepacs(sides):
    (total,) = _products(sides.ours)["total"]
    theirs = fits.getheader(_needs(sides, total), "SCI")
    ours = fits.getheader(sides.ours / total, "SCI")
    assert (ours["NAXIS1"], ours["NAXIS2"]) == (theirs["NAXIS1"], theirs["NAXIS2"])
    np.testing.assert_allclose([ours["CRVAL1"], ours["CRVAL2"]], [theirs["CRVAL1"], theirs["CRVAL2"]],
                               rtol=0, atol=1e-9)      # deg: 4 micro-arcsec
    cd = ("CD1_1", "CD1_2", "CD2_1", "CD2_2")
    np.testing.assert_allclose([ours[k] for k in cd], [theirs[k] for k in cd], rtol=0, atol=1e-14)


@pytest.mark.parametrize("filt", ["f606w", "f555w", "f330w"])
def test_filter_product_sci_agrees_within_local_noise(sides, filt):
    (name,) = [n for n in _products(sides.ours)["filter"] if f"_{filt}_" in n]
    fraction, npix = sci_agreement(sides.ours / name, _needs(sides, name))
    print(f"{name}: {fraction:.5f} of {npix} pixels within 1% of the local noise")
    assert npix > 100_000
    assert fraction >= 0.99
