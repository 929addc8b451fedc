"""Side by side with DrizzlePac 3.11.0 (the test-only reference) on the same inputs, and against
the truth of synthetic data."""
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from conftest import SHARED, snakemake
from parity import frame_differences, mask_agreement, sci_agreement
from truth import star_measurements

pytestmark = pytest.mark.slow
drizzlepac = pytest.importorskip("drizzlepac.astrodrizzle", reason="drizzlepac is the test-only reference")


def run_drizzlepac(paths, folder, output, **params):
    """AstroDrizzle on copies (it rewrites its inputs), build=True so the product is one MEF."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for p in paths:
        shutil.copy(p, folder)
        (folder / p.name).chmod(0o644)
        copies.append(p.name)
    import os
    here = os.getcwd()
    os.chdir(folder)
    try:
        drizzlepac.AstroDrizzle(copies, output=output, build=True, preserve=False, clean=False,
                                num_cores=1, in_memory=False, **params)
    finally:
        os.chdir(here)
    return folder


def compare(ours_dir, theirs_dir, name, roots, chips):
    suffix = "drz"
    ours, theirs = ours_dir / f"{name}_{suffix}.fits", theirs_dir / f"{name}_{suffix}.fits"
    frame = frame_differences(ours, theirs)
    sci_frac, npix = sci_agreement(ours, theirs)
    masks = [mask_agreement(ours_dir / f"{r}_sci{c}_crmask.fits", theirs_dir / f"{r}_sci{c}_crmask.fits")
             for r in roots for c in chips]
    print(f"\n{name}: frame {frame}; SCI within 1% of local noise: {sci_frac:.5f} of {npix} px; "
          f"CR-mask agreement {[round(m[0], 5) for m in masks]}; CR pixels ours/theirs "
          f"{[(m[1], m[2]) for m in masks]}")
    assert frame["shape"] and frame["crpix"] < 1e-6 and frame["crval"] < 1e-9 and frame["cd"] < 1e-12
    assert sci_frac >= 0.99
    assert min(m[0] for m in masks) >= 0.995


def test_parity_acs_hrc_47tuc(tmp_path):
    paths = sorted((SHARED / "acs_hrc_47tuc").glob("j8bt06*_flt.fits"))
    if len(paths) < 2:
        pytest.skip("../shared/data/hst/acs_hrc_47tuc is not here")
    snakemake(tmp_path / "ours", config={"input": ",".join(map(str, paths)), "output": "hrc"})
    theirs = run_drizzlepac(paths, tmp_path / "theirs", "hrc")
    compare(tmp_path / "ours/results/hrc", theirs, "hrc", [p.name[:9] for p in paths], [1])


def test_parity_custom_frame_north_up_rescaled(tmp_path):
    paths = sorted((SHARED / "acs_hrc_47tuc").glob("j8bt06*_flt.fits"))
    if len(paths) < 2:
        pytest.skip("../shared/data/hst/acs_hrc_47tuc is not here")
    custom = {"final_wcs": True, "final_rot": 0.0, "final_scale": 0.03}
    snakemake(tmp_path / "ours", config={"input": ",".join(map(str, paths)), "output": "hrc",
                                         **{k: str(v).lower() for k, v in custom.items()}})
    theirs = run_drizzlepac(paths, tmp_path / "theirs", "hrc", **custom)
    ours = tmp_path / "ours/results/hrc/hrc_drz.fits"
    frame = frame_differences(ours, theirs / "hrc_drz.fits")
    assert frame["shape"] and frame["crpix"] < 1e-6 and frame["crval"] < 1e-9 and frame["cd"] < 1e-12
    assert sci_agreement(ours, theirs / "hrc_drz.fits")[0] >= 0.99


@pytest.fixture(scope="module")
def synthetic_wfc(tmp_path_factory):
    from snakedrizzle.simulate import make_dataset

    top = tmp_path_factory.mktemp("wfc")
    data = make_dataset(top / "inputs", "ACS/WFC", 4, seed=11, chip_shape=(512, 1024), n_stars=250,
                        n_galaxies=25)
    paths = [p for p in map(__import__("pathlib").Path, data.paths)]
    snakemake(top / "ours", config={"input": f"{top}/inputs/*_flt.fits", "output": "wfc"})
    run_drizzlepac(paths, top / "theirs", "wfc")
    return {"data": data, "ours": top / "ours/results/wfc", "theirs": top / "theirs",
            "roots": [p.name[:9] for p in paths]}


def test_parity_synthetic_acs_wfc(synthetic_wfc):
    s = synthetic_wfc
    compare(s["ours"], s["theirs"], "wfc", s["roots"], [1, 2])


def test_truth_star_positions_and_fluxes(synthetic_wfc):
    s = synthetic_wfc
    dx, dy, ratio = star_measurements(s["ours"] / "wfc_drz.fits", s["data"].truth_stars, min_flux=1000.0)
    rms = float(np.sqrt(np.mean(dx ** 2 + dy ** 2)))
    print(f"\n{len(dx)} isolated bright stars: position RMS {rms:.4f} px, flux ratio median "
          f"{np.median(ratio):.5f}")
    assert len(dx) >= 30
    assert rms <= 0.02
    assert abs(np.median(ratio) - 1) <= 0.002


def _star_core(shape, wcs, truth, radius=2.0):
    x, y = wcs.all_world2pix(truth["ra"], truth["dec"], 0)
    yy, xx = np.indices(shape)
    core = np.zeros(shape, bool)
    for xi, yi in zip(x, y):
        if -5 < xi < shape[1] + 5 and -5 < yi < shape[0] + 5:
            core |= (xx - xi) ** 2 + (yy - yi) ** 2 <= radius ** 2
    return core


def test_truth_cosmic_rays_and_star_cores(synthetic_wfc):
    s = synthetic_wfc
    truth = Table.read(s["data"].truth_stars)
    found = total = core_ours = core_theirs = 0
    for path, crfile, root in zip(s["data"].paths, s["data"].truth_cr, s["roots"]):
        with fits.open(path) as exp, fits.open(crfile) as cr:
            for ver in (1, 2):
                err = exp["ERR", ver].data
                injected = cr["CRE", ver].data > 5 * err
                ours = fits.getdata(s["ours"] / f"{root}_sci{ver}_crmask.fits") == 0
                theirs = fits.getdata(s["theirs"] / f"{root}_sci{ver}_crmask.fits") == 0
                found += int((ours & injected).sum())
                total += int(injected.sum())
                core = _star_core(ours.shape, WCS(exp["SCI", ver].header, exp), truth) & (cr["CR", ver].data == 0)
                core_ours += int((ours & core).sum())
                core_theirs += int((theirs & core).sum())
    print(f"\nCR pixels above 5 sigma flagged: {found}/{total} = {found / total:.4f}; star-core pixels "
          f"flagged: ours {core_ours}, DrizzlePac {core_theirs}")
    assert found / total >= 0.95
    assert core_ours <= core_theirs
