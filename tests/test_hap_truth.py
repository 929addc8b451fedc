"""The SVM products against the truth (issue 12, "How well"): a synthetic two-filter visit
(snakedrizzle.simulate.make_visit: one scene, per-filter colours, HST names of one visit) whose
header WCSs are right, built by the SVM workflow. Star positions in the total (detection) product
must be within 0.02 px RMS of the truth, and aperture photometry of bright isolated stars in each
filter product within 1 +- 0.002 of the true flux in that filter (median).

Offline (SNAKEDRIZZLE_OFFLINE: no reference catalog) the exposures are aligned to each other only,
from headers that are the truth: the figures also bound what that relative fit may move."""
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry
from photutils.centroids import centroid_2dg, centroid_sources

from conftest import REPO

pytestmark = pytest.mark.slow

RADIUS = 6.0            # aperture radius, output pixels (6 sigma of the PSF: all of the flux)
MIN_STARS = 12


def _run_svm(work, poller, *targets):
    """The SVM workflow on a poller glob; `targets` empty: everything (the default target)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
           str(work), "--cores", "2", *targets, "--config", f"poller={poller}"]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "SNAKEDRIZZLE_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


def _visit(tmp_path_factory, name, instrument, filters, targets=None, **options):
    """A visit simulated into read-only inputs and built; `targets`: product names (None: all)."""
    from snakedrizzle.simulate import make_visit

    root = tmp_path_factory.mktemp(name)
    data = make_visit(root / "data", instrument, filters, **options)
    for path in data.paths:
        os.chmod(path, 0o444)
    meta = data.meta
    visit_dir = f"results/svm/{meta['visit']}"
    stem = (f"hst_{meta['proposid']}_{meta['visit'][4:6]}_"
            f"{instrument.lower().replace('/', '_')}")
    products = {f: f"{visit_dir}/{stem}_{f.lower()}_{meta['visit']}_drz.fits" for f in filters}
    products["total"] = f"{visit_dir}/{stem}_total_{meta['visit']}_drz.fits"
    _run_svm(root / "work", f"{root}/data/*_flt.fits",
             *([] if targets is None else [products[t] for t in targets]))
    return SimpleNamespace(data=data, work=root / "work", visit_dir=root / "work" / visit_dir,
                           products={k: root / "work" / v for k, v in products.items()},
                           stars=Table.read(data.truth_stars),
                           galaxies=Table.read(meta["truth_galaxies"]))


@pytest.fixture(scope="module")
def acs_visit(tmp_path_factory):
    return _visit(tmp_path_factory, "acs_visit", "ACS/WFC", {"F606W": 2, "F814W": 2},
                  visit="j8xy01", seed=5, chip_shape=(200, 400), n_stars=90, n_galaxies=5)


@pytest.fixture(scope="module")
def ir_visit(tmp_path_factory):
    return _visit(tmp_path_factory, "ir_visit", "WFC3/IR", {"F125W": 2, "F160W": 2},
                  targets=["F125W", "F160W", "total"], visit="i8xy02", seed=8,
                  chip_shape=(200, 200), n_stars=60, n_galaxies=4)


def _isolated(xy, others, fluxes, shape, min_flux, isolation=12.0, edge=20):
    """Indices of sources brighter than min_flux with no other star or galaxy within
    `isolation` pixels, away from the edges."""
    x, y = xy
    keep = []
    for i in np.flatnonzero(fluxes >= min_flux):
        if not (edge < x[i] < shape[1] - edge and edge < y[i] < shape[0] - edge):
            continue
        d = np.hypot(others[0] - x[i], others[1] - y[i])
        if np.sort(d)[1] > isolation:      # [0] is the star itself
            keep.append(i)
    return np.array(keep, dtype=int)


def measure_stars(product, stars, galaxies, flux_column, min_flux=1000.0):
    """(dx, dy, measured / true flux) of the bright isolated stars fully covered by the
    product: 2-D Gaussian centroids about the true position, aperture sums minus the median of
    an annulus. Pixels 0-based, as the product's WCS gives them."""
    with fits.open(product) as hdul:
        sci = np.nan_to_num(hdul["SCI"].data.astype(float))
        wht = hdul["WHT"].data
        wcs = WCS(hdul["SCI"].header)
    x, y = wcs.all_world2pix(stars["ra"], stars["dec"], 0)
    gx, gy = wcs.all_world2pix(galaxies["ra"], galaxies["dec"], 0)
    others = (np.concatenate([x, gx]), np.concatenate([y, gy]))
    fluxes = np.asarray(stars[flux_column])
    half = int(RADIUS) + 9
    sel = [i for i in _isolated((x, y), others, fluxes, sci.shape, min_flux)
           if np.all(wht[int(round(y[i])) - half:int(round(y[i])) + half + 1,
                         int(round(x[i])) - half:int(round(x[i])) + half + 1] > 0)]
    sel = np.array(sel, dtype=int)
    cx, cy = centroid_sources(sci, x[sel], y[sel], box_size=7, centroid_func=centroid_2dg)
    pos = np.column_stack([x[sel], y[sel]])
    summed = np.asarray(aperture_photometry(sci, CircularAperture(pos, r=RADIUS))["aperture_sum"])
    annulus = CircularAnnulus(pos, r_in=RADIUS + 4, r_out=RADIUS + 9)
    sky = np.array([np.median(m.multiply(sci)[m.data > 0]) for m in annulus.to_mask(method="center")])
    return cx - x[sel], cy - y[sel], (summed - sky * np.pi * RADIUS ** 2) / fluxes[sel]


def _rms(dx, dy):
    return float(np.sqrt(np.mean(dx ** 2 + dy ** 2)))


def _grid(path):
    with fits.open(path) as hdul:
        h = hdul["SCI"].header
        return tuple(h[k] for k in ("NAXIS1", "NAXIS2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
                                    "CD1_1", "CD1_2", "CD2_1", "CD2_2"))


def test_acs_visit_products_on_one_grid(acs_visit):
    v = acs_visit
    products = sorted(p.name for p in v.visit_dir.glob("hst_*_drz.fits"))
    roots = [os.path.basename(p)[:8] for p in v.data.paths]
    exposures = [f"hst_12345_01_acs_wfc_{f.lower()}_{r}_drz.fits"
                 for f, r in zip(v.data.meta["exposure_filters"], roots)]
    assert products == sorted([p.name for p in v.products.values()] + exposures)
    assert (v.visit_dir / "acs_8xy_01_manifest.txt").is_file()
    assert len({_grid(v.visit_dir / p) for p in products}) == 1
    for f in ("F606W", "F814W"):
        assert fits.getval(v.products[f], "FILTER") == f
    assert fits.getval(v.products["total"], "FILTER") == "detection"


def test_acs_total_star_positions(acs_visit):
    dx, dy, _ = measure_stars(acs_visit.products["total"], acs_visit.stars, acs_visit.galaxies,
                              "flux")
    print(f"\nACS/WFC total: {len(dx)} stars, position RMS {_rms(dx, dy):.4f} px, mean "
          f"({dx.mean():+.4f}, {dy.mean():+.4f})")
    assert len(dx) >= MIN_STARS
    assert _rms(dx, dy) <= 0.02


@pytest.mark.parametrize("filter_", ["F606W", "F814W"])
def test_acs_filter_photometry(acs_visit, filter_):
    v = acs_visit
    dx, dy, ratio = measure_stars(v.products[filter_], v.stars, v.galaxies,
                                  f"flux_{filter_.lower()}")
    print(f"\nACS/WFC {filter_}: {len(ratio)} stars, flux ratio median {np.median(ratio):.5f}, "
          f"scatter {np.std(ratio):.5f}; position RMS {_rms(dx, dy):.4f} px")
    assert len(ratio) >= MIN_STARS
    assert abs(np.median(ratio) - 1.0) <= 0.002
    assert _rms(dx, dy) <= 0.02


def test_ir_visit_positions_and_photometry(ir_visit):
    v = ir_visit
    assert len({_grid(p) for p in v.products.values()}) == 1
    dx, dy, _ = measure_stars(v.products["total"], v.stars, v.galaxies, "flux")
    print(f"\nWFC3/IR total: {len(dx)} stars, position RMS {_rms(dx, dy):.4f} px")
    assert len(dx) >= 8 and _rms(dx, dy) <= 0.02
    for filter_ in ("F125W", "F160W"):
        _, _, ratio = measure_stars(v.products[filter_], v.stars, v.galaxies,
                                    f"flux_{filter_.lower()}")
        print(f"WFC3/IR {filter_}: {len(ratio)} stars, flux ratio median {np.median(ratio):.5f}, "
              f"scatter {np.std(ratio):.5f}")
        assert len(ratio) >= 8 and abs(np.median(ratio) - 1.0) <= 0.002
