"""HAP point and segment catalogs (snakedrizzle.hap.catalogs, SPEC-HAP H7).

Array/file-level tests run on a small synthetic drizzled visit (ACS/WFC-like, north up, Gaussian
stars of known flux, Poisson and read noise, PHOTFLAM/PHOTPLAM) written as HAP filter and total
products; the slow test runs the workflow on the real ACS/HRC 47 Tuc visit."""
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy.special import erf
from scipy.spatial import cKDTree

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs import columns as C
from snakedrizzle.hap.catalogs import stages
from snakedrizzle.hap.catalogs.params import catalog_pars, ci_limits
from snakedrizzle.hap.catalogs.point import ab_mag

PSCALE = 0.05          # arcsec/pixel (ACS/WFC drizzled)
SIGMA = 1.0            # Gaussian PSF sigma, pixels
EXPTIME = 1000.0
SKY = 0.3              # e-/s/pixel
READNOISE = 5.0        # e- per pixel of the drizzled image (one exposure's worth)
SHAPE = (360, 360)
PHOT = {"f606w": (1.2e-19, 5921.0), "f814w": (7.0e-20, 8045.0)}
TOTAL = "hst_10001_01_acs_wfc_total_j00001"
FILTERS = {f: f"hst_10001_01_acs_wfc_{f}_j00001" for f in PHOT}


def _wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [SHAPE[1] / 2, SHAPE[0] / 2]
    w.wcs.cd = np.array([[-PSCALE / 3600, 0], [0, PSCALE / 3600]])
    return w


def _stars(rng, n=140):
    """Positions at least 14 px apart (isolated) and 40 px from the edges; fluxes over 2.5 dex."""
    xy = []
    while len(xy) < n:
        p = rng.uniform(40, SHAPE[0] - 40, 2)
        if all(np.hypot(*(p - q)) > 14 for q in xy):
            xy.append(p)
    xy = np.array(xy)
    return xy[:, 0], xy[:, 1], 10 ** rng.uniform(0.3, 2.8, n)  # e-/s in F606W


def _image(rng, x, y, flux):
    """Pixel-integrated Gaussians plus sky, with Poisson and read noise, in e-/s."""
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    model = np.full(SHAPE, SKY)
    for xi, yi, f in zip(x, y, flux):
        sl = (slice(int(yi) - 8, int(yi) + 9), slice(int(xi) - 8, int(xi) + 9))
        gx = 0.5 * (erf((xx[sl] + 0.5 - xi) / (np.sqrt(2) * SIGMA)) - erf((xx[sl] - 0.5 - xi) / (np.sqrt(2) * SIGMA)))
        gy = 0.5 * (erf((yy[sl] + 0.5 - yi) / (np.sqrt(2) * SIGMA)) - erf((yy[sl] - 0.5 - yi) / (np.sqrt(2) * SIGMA)))
        model[sl] += f * gx * gy
    counts = rng.poisson(model * EXPTIME) + rng.normal(0, READNOISE, SHAPE)
    return (counts / EXPTIME).astype(np.float32)


def _write(path, data, filter_, photflam=None, photplam=None, nexp=2):
    primary = fits.PrimaryHDU()
    primary.header.update(INSTRUME="ACS", DETECTOR="WFC", FILTER=filter_.upper(), TEXPTIME=EXPTIME,
                          EXPTIME=EXPTIME, NUMEXP=nexp, PROPOSID=10001, TARGNAME="SIM", FILENAME=path.name)
    sci = fits.ImageHDU(data, header=_wcs().to_header(), name="SCI")
    if photflam is not None:
        sci.header["PHOTFLAM"], sci.header["PHOTPLAM"] = photflam, photplam
    sci.header["BUNIT"] = "ELECTRONS/S"
    wht = fits.ImageHDU(np.full(SHAPE, EXPTIME, np.float32), name="WHT")
    ctx = fits.ImageHDU(np.full(SHAPE, 2 ** nexp - 1, np.int32), name="CTX")
    fits.HDUList([primary, sci, wht, ctx]).writeto(path)


def write_visit(root, images):
    """The filter products of ``images`` ({filter: array}) and their mean as the total, with the
    total's detection files (point sources, segment map); returns (total path, parameters)."""
    for f, (flam, plam) in PHOT.items():
        _write(root / f"{FILTERS[f]}_drc.fits", images[f], f, flam, plam)
    _write(root / f"{TOTAL}_drc.fits", (images["f606w"] + images["f814w"]) / 2, "detection", *PHOT["f606w"])
    pars = catalog_pars("acs", "wfc")
    total = str(root / f"{TOTAL}_drc.fits")
    stages.point_sources_stage(total, root / "sources.ecsv", pars)
    stages.segment_map_stage(total, root / "segm.fits", pars)
    return total, pars


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    """A two-filter synthetic visit and its catalogs made by the stages the rules call."""
    root = tmp_path_factory.mktemp("catalogs")
    rng = np.random.default_rng(7)
    x, y, flux606 = _stars(rng)
    flux = {"f606w": flux606, "f814w": flux606 * 1.6}
    images = {f: _image(rng, x, y, flux[f]) for f in PHOT}
    total, pars = write_visit(root, images)
    for kind, detection in (("point", "sources.ecsv"), ("segment", "segm.fits")):
        cats = []
        for f in PHOT:
            cats.append(str(root / f"{FILTERS[f]}_{kind}-cat.ecsv"))
            inputs = {"product": str(root / f"{FILTERS[f]}_drc.fits"), "total": total,
                      "detection": str(root / detection)}
            stages.catalog_stage(kind, "filter", inputs, cats[-1], pars)
        stages.catalog_stage(kind, "total", {"total": total, "detection": str(root / detection),
                                             "filters": cats}, str(root / f"{TOTAL}_{kind}-cat.ecsv"), pars)
    return dict(root=root, x=x, y=y, flux=flux, pars=pars)


def _read(visit, name, kind):
    return Table.read(visit["root"] / f"{name}_{kind}-cat.ecsv", format="ascii.ecsv")


def _snr_ap2(flux, pars):
    """Truth S/N in the outer aperture: source Poisson, sky Poisson and read noise."""
    area = np.pi * (pars["aperture_2"] / PSCALE) ** 2
    return flux * EXPTIME / np.sqrt(flux * EXPTIME + area * (SKY * EXPTIME + READNOISE ** 2))


def _match(cat, visit, xcol="X-Center", ycol="Y-Center", radius=1.0):
    dist, idx = cKDTree(np.column_stack([visit["x"], visit["y"]])).query(
        np.column_stack([cat[xcol], cat[ycol]]))
    return dist < radius, idx


def test_point_catalog_completeness_purity_and_positions(visit):
    cat = _read(visit, FILTERS["f606w"], "point")
    matched, idx = _match(cat, visit)
    assert matched.mean() >= 0.90                                     # purity
    bright = np.flatnonzero(_snr_ap2(visit["flux"]["f606w"], visit["pars"]) > 20)
    assert len(bright) > 50
    found = np.isin(bright, idx[matched])
    assert found.mean() >= 0.90                                       # completeness
    dx = cat["X-Center"][matched] - visit["x"][idx[matched]]
    assert np.sqrt(np.mean(dx ** 2)) < 0.1                            # 0-based pixel positions


@pytest.mark.parametrize("filter_", list(PHOT))
def test_magap2_matches_truth_after_aperture_correction(visit, filter_):
    cat = _read(visit, FILTERS[filter_], "point")
    matched, idx = _match(cat, visit)
    truth_flux = visit["flux"][filter_][idx[matched]]
    bright = _snr_ap2(truth_flux, visit["pars"]) > 50
    r2 = visit["pars"]["aperture_2"] / PSCALE
    enclosed = 1 - np.exp(-r2 ** 2 / (2 * SIGMA ** 2))             # the Gaussian PSF's aperture correction
    truth = ab_mag(truth_flux * enclosed, *PHOT[filter_])
    diff = np.asarray(cat["MagAp2"][matched][bright]) - truth[bright]
    assert bright.sum() > 30
    assert abs(np.median(diff)) < 0.03
    assert 1.4826 * np.median(np.abs(diff - np.median(diff))) < 0.03


def test_point_columns_units_formats_and_fill(visit):
    cat = _read(visit, FILTERS["f606w"], "point")
    assert tuple(cat.colnames) == C.POINT_COLUMNS
    assert str(cat["X-Center"].unit) == "pix" and str(cat["RA"].unit) == "deg"
    assert str(cat["MagAp1"].unit) == "mag(AB)" and cat["Flags"].unit is None
    assert cat["X-Center"].info.format == "10.3f" and cat["RA"].info.format == "13.7f"
    assert cat["ID"].info.format == "7d" and cat["MagAp2"].info.format == "7.3f"
    assert cat["FluxAp2"].info.format == "10.4f" and cat["Flags"].info.format == "5d"
    assert cat["ID"][0] == 1 and len(set(cat["ID"])) == len(cat)
    for name in ("MagAp1", "MagAp2", "CI"):                          # no NaN: missing is -9999
        assert np.all(np.isfinite(cat[name]))
    faint = np.asarray(cat["FluxAp1"]) <= 0
    if faint.any():
        assert np.all(np.asarray(cat["MagAp1"])[faint] == C.FILL_VALUE)
    meta = cat.meta
    keys = list(meta)
    assert keys[:9] == [f"h{i:02d}" for i in range(9)] and keys[9] == "WCSNAME"
    assert keys.index("Aper1 (arcsec)") < keys.index("Threshold (sigma)") < keys.index("Number of sources")
    assert meta["Aper2 (arcsec)"] == 0.15 and meta["Number of sources"] == len(cat)


def test_segment_catalog_columns_and_positions(visit):
    cat = _read(visit, FILTERS["f814w"], "segment")
    assert tuple(cat.colnames) == C.SEGMENT_COLUMNS
    assert str(cat["Area"].unit) == "pix2" and str(cat["Theta"].unit) == "rad"
    assert str(cat["CXX"].unit) == "1 / pix2"
    matched, _ = _match(cat, visit, "X-Centroid", "Y-Centroid")
    assert matched.mean() >= 0.90
    other = _read(visit, FILTERS["f606w"], "segment")
    assert list(other["ID"]) == list(cat["ID"])                      # one segmentation for all filters


def test_detection_files_record_regions_kernel_and_round(visit):
    """Uniform weight: one region (H7.3); isolated stars: the Gaussian round 1 segmentation (H7.5)."""
    header = fits.getheader(visit["root"] / "segm.fits")
    assert (header["NREGIONS"], header["SEGKERN"], header["SEGROUND"]) == (1, "gaussian", 1)
    assert header["SEGSIGMA"] == visit["pars"]["segm_nsigma"] and "SEGWARN" not in header
    assert Table.read(visit["root"] / "sources.ecsv", format="ascii.ecsv").meta["NREGIONS"] == 1


def test_total_catalogs_join_filters_and_trim(visit):
    point = _read(visit, TOTAL, "point")
    assert point.colnames == [*C.TOTAL_POINT_KEYS, "MagAP2_f606w", "CI_f606w", "Flags_f606w",
                              "MagAP2_f814w", "CI_f814w", "Flags_f814w"]
    f606 = _read(visit, FILTERS["f606w"], "point")
    by_id = dict(zip(f606["ID"], f606["MagAp2"]))
    assert all(by_id[i] == m for i, m in zip(point["ID"], point["MagAP2_f606w"]))
    flags = np.column_stack([point["Flags_f606w"], point["Flags_f814w"]])
    assert np.all(np.any((flags <= 5) & (flags >= 0), axis=1))       # H7.8 trimming
    segment = _read(visit, TOTAL, "segment")
    assert segment.colnames[:5] == list(C.TOTAL_SEGMENT_KEYS)


def test_flags_faint_and_edge():
    from snakedrizzle.hap.catalogs.flags import FAINT, FEW_EXPOSURES, exposure_count, source_flags

    phot = Table({"CI": [1.0, 1.0], "MagErrAp1": [0.01, 0.3], "MagErrAp2": [0.01, 0.3],
                  "FluxAp2": [100.0, 3.0], "FluxErrAp2": [1.0, 1.0]})
    ctx = np.full((50, 50), 3, np.int32)
    ctx[:, :20] = 1                                                   # one exposure on the left
    nexp = exposure_count(ctx)
    assert nexp[0, 0] == 1 and nexp[0, 40] == 2
    flags = source_flags(phot, np.array([40.0, 5.0]), np.array([25.0, 25.0]), 0.9, 1.23, 5.0, nexp=nexp,
                         radius=3.0, detector="wfc")
    assert flags[0] == 0
    assert flags[1] & FAINT and flags[1] & FEW_EXPOSURES


def test_ci_limits_from_hap_table_or_defaults():
    pars = catalog_pars("acs", "hrc")
    assert ci_limits("acs", "hrc", "f606w", pars)[:2] == (1.02, 1.42)
    assert ci_limits("acs", "hrc", "total", pars) == (0.9, 1.6, None)
    with pytest.raises(InputError, match="nsigmaa"):
        catalog_pars("acs", "hrc", {"nsigmaa": 3})


def test_bad_product_is_one_error_and_no_catalog(visit, tmp_path):
    bad = tmp_path / f"{FILTERS['f606w']}_drc.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((5, 5)), name="SCI")]).writeto(bad)
    out = tmp_path / "cat.ecsv"
    with pytest.raises(InputError, match="WHT"):
        stages.point_catalog_stage(str(bad), str(visit["root"] / "sources.ecsv"), str(out), visit["pars"])
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(InputError, match="cannot read"):
        stages.point_catalog_stage(str(visit["root"] / f"{TOTAL}_drc.fits"), str(bad), str(out), visit["pars"])
    assert not out.exists()


# ---- the workflow on the real ACS/HRC 47 Tuc visit (slow) ----------------------------------------

HRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst" / "acs_hrc_47tuc"
HRC_TOTAL = "hst_9019_06_acs_hrc_total_j8bt06"
HRC_FILTERS = {"f606w": "hst_9019_06_acs_hrc_f606w_j8bt06", "f555w": "hst_9019_05_acs_hrc_f555w_j8bt05",
               "f330w": "hst_9019_09_acs_hrc_f330w_j8bt09"}
HRC_VISIT = "results/svm/j8bt06"


@pytest.fixture(scope="module")
def hrc_run(hrc_svm_run):
    return hrc_svm_run.root


def _centroids(image_file, x, y):
    from photutils.centroids import centroid_com, centroid_sources

    data = np.nan_to_num(fits.getdata(image_file, "SCI").astype(float))
    cx, cy = centroid_sources(data, x, y, box_size=5, centroid_func=centroid_com)
    return np.array([cx, cy])


@pytest.mark.slow
def test_hrc_catalogs_made_and_filter_positions_agree(hrc_run):
    visit = hrc_run / "work" / HRC_VISIT
    for name in [*HRC_FILTERS.values(), HRC_TOTAL]:
        for kind in ("point", "segment"):
            cat = Table.read(visit / f"{name}_{kind}-cat.ecsv", format="ascii.ecsv")
            assert len(cat) > 100, (name, kind)
    manifest = (visit / "acs_8bt_06_manifest.txt").read_text().split()
    assert f"{HRC_TOTAL}_point-cat.ecsv" in manifest
    # Detection is on the total, so both filter catalogs carry the same X/Y by design; what can
    # differ is where each filter image puts a star: measure it on each image and compare.
    f606 = Table.read(visit / f"{HRC_FILTERS['f606w']}_point-cat.ecsv", format="ascii.ecsv")
    f555 = Table.read(visit / f"{HRC_FILTERS['f555w']}_point-cat.ecsv", format="ascii.ecsv")
    assert np.array_equal(f606["X-Center"], f555["X-Center"])
    # F555W's product has PHOTFLAM 0 (so does its FLT): magnitudes are -9999, fluxes are not
    bright = ((f606["FluxAp2"] > 50 * f606["FluxErrAp2"]) & (f555["FluxAp2"] > 50 * f555["FluxErrAp2"])
              & (f606["FluxErrAp2"] > 0) & (f555["FluxErrAp2"] > 0))
    assert bright.sum() > 200
    x, y = np.asarray(f606["X-Center"][bright]), np.asarray(f606["Y-Center"][bright])
    d = (_centroids(visit / f"{HRC_FILTERS['f606w']}_drz.fits", x, y)
         - _centroids(visit / f"{HRC_FILTERS['f555w']}_drz.fits", x, y))
    d = d[:, np.all(np.isfinite(d), axis=0) & (np.hypot(*d) < 1.0)]
    assert d.shape[1] > 0.9 * bright.sum()
    rms = np.sqrt(np.mean(np.sum(d ** 2, axis=0)))
    scatter = np.sqrt(np.mean(np.sum((d - np.median(d, axis=1)[:, None]) ** 2, axis=0)))
    wcsname = fits.getheader(visit / f"{HRC_FILTERS['f555w']}_drz.fits", "SCI").get("WCSNAME", "")
    # the visit fit registers the filters (issue 13): to the catalog, or offline (no reference
    # catalog) to each other, which removes the obsets' guide-star offset (-0.14, -0.11 px a priori)
    assert "FIT" in wcsname or wcsname.endswith("SVM_RELATIVE"), wcsname
    assert rms <= 0.1 and scatter <= 0.1, (rms, scatter)


@pytest.mark.slow
def test_hrc_catalog_parameter_reruns_only_catalogs(hrc_run, tmp_path):
    import re
    import subprocess
    import sys

    pars = tmp_path / "catalog_pars.yaml"
    pars.write_text("acs_hrc:\n  nsigma: 6.0\n")
    work = hrc_run / "work"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(Path(__file__).resolve().parents[1] / "Snakefile"),
           "--cores", "1", "-n", "--config", f"poller={hrc_run / 'data' / '*_flt.fits'}",
           f"svm_catalog_pars={pars}"]
    out = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=True).stdout
    rules = set(re.findall(r"^(?:local)?rule (\w+):", out, re.M)) - {"all"}
    assert rules == {"svm_detection", "svm_point_catalog", "svm_segment_catalog", "svm_manifest"}


def test_the_detection_job_gives_what_the_two_detection_stages_give(visit, tmp_path):
    """The workflow's one detection job (background and weight regions made once) writes the
    same point sources and segment map as the two stages apart."""
    total = str(visit["root"] / f"{TOTAL}_drc.fits")
    stages.detection_stage(total, tmp_path / "points.ecsv", tmp_path / "segments.fits", visit["pars"])
    apart, together = (Table.read(p, format="ascii.ecsv") for p in (visit["root"] / "sources.ecsv",
                                                                       tmp_path / "points.ecsv"))
    assert len(together) > 50 and apart.colnames == together.colnames
    assert all(np.array_equal(apart[c], together[c]) for c in apart.colnames)
    with fits.open(visit["root"] / "segm.fits") as a, fits.open(tmp_path / "segments.fits") as b:
        assert [h.name for h in a] == [h.name for h in b] and b["SEGM"].data.max() > 50
        assert all(np.array_equal(x.data, y.data) for x, y in zip(a[1:], b[1:]))
