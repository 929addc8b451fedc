"""Tests of the synthetic HST exposures: headers, geometry, photometry and truth files."""
import glob
import os
import re
import shutil
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy.optimize import least_squares
from scipy.special import erf

from snakedrizzle.errors import InputError
from snakedrizzle.simulate import INSTRUMENTS, Dataset, load_dataset, make_dataset, true_pixels
from snakedrizzle.simulate.geometry import frame_wcs

SMALL = dict(chip_shape=(128, 256), n_stars=40, n_galaxies=4, seed=3)


@pytest.fixture(scope="module")
def acs(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("acs"), "ACS/WFC", 2, **SMALL)


@pytest.fixture(scope="module")
def acs_nocr(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("acs_nocr"), "ACS/WFC", 2, cr_fraction=0.0, **SMALL)


@pytest.fixture(scope="module")
def ir(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ir"), "WFC3/IR", 1, chip_shape=(160, 160),
                        n_stars=20, n_galaxies=2, seed=6)


def _fit_star(img, x, y, half=6):
    """Least-squares fit of a pixel-integrated Gaussian + constant; returns (x, y) 1-based."""
    ix, iy = int(round(x - 1)), int(round(y - 1))
    st = img[iy - half:iy + half + 1, ix - half:ix + half + 1].astype(float)
    yy, xx = np.mgrid[iy - half:iy + half + 1, ix - half:ix + half + 1]

    def resid(p):
        f, x0, y0, s, b = p
        s2 = s * np.sqrt(2)
        ex = 0.5 * (erf((xx + 0.5 - x0) / s2) - erf((xx - 0.5 - x0) / s2))
        ey = 0.5 * (erf((yy + 0.5 - y0) / s2) - erf((yy - 0.5 - y0) / s2))
        return (f * ex * ey + b - st).ravel()

    p = least_squares(resid, [st.sum(), x - 1, y - 1, 1.0, np.median(st)]).x
    return p[1] + 1, p[2] + 1


def _isolated_bright(ds, xy_all, xy, shape, dq, min_flux=2000.0, iso=25.0, half=9):
    """Indices of bright stars far from every other source, whose box has no flagged pixel."""
    stars = Table.read(ds.truth_stars)
    ny, nx = shape
    out = []
    for k, (x, y) in enumerate(xy):
        if stars["flux"][k] < min_flux or not (half + 2 < x < nx - half - 2 and half + 2 < y < ny - half - 2):
            continue
        d = np.hypot(xy_all[:, 0] - x, xy_all[:, 1] - y)
        if np.sort(d)[1] < iso:
            continue
        ix, iy = int(round(x - 1)), int(round(y - 1))
        if dq[iy - half:iy + half + 1, ix - half:ix + half + 1].any():
            continue
        out.append(k)
    return out


def _sources_xy(ds, exposure, extver):
    stars = Table.read(ds.truth_stars)
    gals = Table.read(ds.meta["truth_galaxies"])
    sx, sy = true_pixels(ds, exposure, extver, stars["ra"], stars["dec"])
    gx, gy = true_pixels(ds, exposure, extver, gals["ra"], gals["dec"])
    return np.column_stack([sx, sy]), np.vstack([np.column_stack([sx, sy]), np.column_stack([gx, gy])])


def test_files_and_extensions(acs, ir):
    for ds, nchips in ((acs, 2), (ir, 1)):
        assert len(ds.paths) == len(ds.truth_cr) == len(ds.meta["rootnames"])
        for p in ds.paths:
            assert re.fullmatch(r"[ji]sim01a[1-9]q_flt\.fits", os.path.basename(p))
            with fits.open(p) as h:
                names = [(x.name, x.header.get("EXTVER")) for x in h[1:]]
                assert names == [(n, v) for v in range(1, nchips + 1) for n in ("SCI", "ERR", "DQ")]
                assert h[0].header["NEXTEND"] == 3 * nchips
                for v in range(1, nchips + 1):
                    assert h["SCI", v].data.dtype == np.dtype(">f4")
                    assert h["ERR", v].data.dtype == np.dtype(">f4")
                    assert h["DQ", v].data.dtype == np.dtype(">i2")
                    assert np.all(h["ERR", v].data > 0)
    # Exactly the exposures and their truth: no temporary left behind by the atomic writes.
    folder = os.path.dirname(acs.paths[0])
    truth = [acs.truth_stars, acs.meta["truth_galaxies"], acs.meta["truth_meta"]]
    assert isinstance(acs, Dataset)
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(p) for p in acs.paths + acs.truth_cr + truth)


def test_instrument_names(tmp_path):
    """Any spelling of a known detector is accepted and recorded under its canonical name."""
    assert sorted(INSTRUMENTS) == ["ACS/HRC", "ACS/WFC", "WFC3/IR"]
    ds = make_dataset(tmp_path, "acs_hrc", 1, chip_shape=(32, 32), n_stars=1, n_galaxies=0)
    assert ds.meta["instrument"] == "ACS/HRC"
    assert fits.getval(ds.paths[0], "DETECTOR") == "HRC"


@pytest.mark.parametrize("bad, parameter", [
    ({"instrument": "ACS/SBC"}, "instrument"),
    ({"n_exposures": 0}, "n_exposures"),
    ({"rootname_prefix": "toolong"}, "rootname_prefix"),
    ({"dithers": [(0.0, 0.0)]}, "dithers"),
    ({"pointing_errors": [None]}, "pointing_errors"),
    ({"sky": [10.0]}, "sky"),
])
def test_bad_parameters_name_the_parameter_and_write_nothing(tmp_path, bad, parameter):
    args = {"instrument": "ACS/HRC", "n_exposures": 2, **bad}
    with pytest.raises(InputError) as err:
        make_dataset(tmp_path / "out", chip_shape=(32, 32), n_stars=1, n_galaxies=0, **args)
    assert err.value.path == parameter and str(err.value).startswith(parameter + ": ")
    assert not (tmp_path / "out").exists()


PRIMARY_KEYS = ["TELESCOP", "INSTRUME", "DETECTOR", "EXPTIME", "EXPSTART", "EXPEND", "ROOTNAME",
                "ATODGNA", "ATODGNB", "ATODGNC", "ATODGND", "READNSEA", "READNSEB", "READNSEC",
                "READNSED", "PA_V3", "OBSTYPE", "CCDAMP", "NEXTEND"]
SCI_KEYS = ["BUNIT", "MEANDARK", "NGOODPIX", "EXPNAME", "LTV1", "LTV2", "CCDCHIP", "CRPIX1",
            "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "IDCSCALE", "ORIENTAT",
            "WCSNAME", "VAFACTOR", "PHOTFLAM", "PHOTPLAM", "PHOTBW", "PHOTZPT", "A_ORDER", "B_ORDER"]


def test_header_keywords(acs, ir):
    with fits.open(acs.paths[1]) as h:
        p = h[0].header
        for k in PRIMARY_KEYS + ["FILTER1", "FILTER2"]:
            assert k in p, k
        assert (p["TELESCOP"], p["INSTRUME"], p["DETECTOR"], p["OBSTYPE"]) == ("HST", "ACS", "WFC", "IMAGING")
        assert p["ROOTNAME"] == "jsim01a2q" and p["EXPEND"] > p["EXPSTART"]
        assert [h["SCI", v].header["CCDCHIP"] for v in (1, 2)] == [2, 1]
        for v in (1, 2):
            s = h["SCI", v].header
            for k in SCI_KEYS:
                assert k in s, k
            assert s["BUNIT"] == "ELECTRONS" and s["IDCSCALE"] == 0.05
            assert s["CTYPE1"] == "RA---TAN-SIP" and s["CTYPE2"] == "DEC--TAN-SIP"
            assert "PC1_1" not in s and s["LTV1"] == 0 and s["LTV2"] == 0
            assert s["NGOODPIX"] == np.count_nonzero(h["DQ", v].data == 0)
            dq = h["DQ", v].data
            assert np.any(dq & 16) and np.any(dq & 4) and np.mean(dq != 0) < 0.01
            assert np.isclose(s["ORIENTAT"], np.degrees(np.arctan2(s["CD1_2"], s["CD2_2"])))
    with fits.open(ir.paths[0]) as h:
        assert h[0].header["FILTER"] == "F140W" and h[0].header["INSTRUME"] == "WFC3"
        assert h["SCI", 1].header["BUNIT"] == "ELECTRONS/S"
        assert h["SCI", 1].header["IDCSCALE"] == 0.1283


def test_hstwcs_agrees_with_astropy(acs):
    wcsutil = pytest.importorskip("stwcs.wcsutil")
    with fits.open(acs.paths[0]) as h:
        for v in (1, 2):
            hw = wcsutil.HSTWCS(h, ext=("SCI", v))
            aw = WCS(h["SCI", v].header, h)
            p = np.column_stack([np.linspace(1, 256, 20), np.linspace(1, 128, 20)])
            assert np.abs(hw.all_pix2world(p, 1) - aw.all_pix2world(p, 1)).max() * 3600 < 1e-6
            assert hw.idcscale == 0.05 and abs(hw.pscale - 0.05) < 1e-4


def test_chip_layout_and_distortion(acs):
    """SCI,2 (chip 1) sits above SCI,1 (chip 2) with a ~50-pixel gap; SIP is a few pixels."""
    with fits.open(acs.paths[0]) as h:
        w1, w2 = WCS(h["SCI", 1].header), WCS(h["SCI", 2].header)
    ny, nx = 128, 256
    edge = np.column_stack([np.linspace(1, nx, 9), np.ones(9)])       # bottom row of SCI,2
    x, y = w1.all_world2pix(w2.all_pix2world(edge, 1), 1).T
    assert np.allclose(x, edge[:, 0], atol=8) and np.all(np.abs(y - (ny + 51)) < 8)
    corners = np.array([[1, 1], [nx, 1], [1, ny], [nx, ny]], float)
    shift = np.hypot(*(w1.sip_pix2foc(corners, 1) - (corners - w1.wcs.crpix)).T)
    assert 1.0 < shift.max() <= 4.0 + 1e-6


def test_truth_table_positions(acs):
    stars = Table.read(acs.truth_stars)
    assert {"ra", "dec", "flux", "x", "y"} <= set(stars.colnames)
    with fits.open(acs.paths[0]) as h:
        w = WCS(h["SCI", 1].header)
    x, y = w.all_world2pix(stars["ra"], stars["dec"], 1, tolerance=1e-10)
    assert np.allclose(x, stars["x"], atol=1e-6) and np.allclose(y, stars["y"], atol=1e-6)


def test_star_positions_and_counts(acs):
    """Bright isolated stars sit at all_world2pix of their truth RA/Dec (SIP included) and hold
    flux * EXPTIME electrons."""
    exptime = acs.meta["exptime"]
    stars = Table.read(acs.truth_stars)
    checked = 0
    for e, path in enumerate(acs.paths):
        with fits.open(path) as h, fits.open(acs.truth_cr[e]) as c:
            for v in (1, 2):
                sci = h["SCI", v].data - c["CRE", v].data      # CRs removed with their truth
                dq = h["DQ", v].data
                xy, xy_all = _sources_xy(acs, e, v)
                for k in _isolated_bright(acs, xy_all, xy, sci.shape, dq):
                    fx, fy = _fit_star(sci, *xy[k])
                    assert abs(fx - xy[k][0]) < 0.02 and abs(fy - xy[k][1]) < 0.02
                    ix, iy = int(round(xy[k][0] - 1)), int(round(xy[k][1] - 1))
                    box = sci[iy - 9:iy + 10, ix - 9:ix + 10]
                    total = box.sum() - box.size * acs.meta["sky"][e]
                    assert abs(total / (stars["flux"][k] * exptime) - 1) < 0.01
                    checked += 1
    assert checked >= 4


def test_ir_units(ir):
    """WFC3/IR data are e-/s: a star's summed rate equals its flux."""
    stars = Table.read(ir.truth_stars)
    with fits.open(ir.paths[0]) as h:
        sci, dq = h["SCI", 1].data, h["DQ", 1].data
        assert h[0].header["EXPTIME"] == 400.0
    xy, xy_all = _sources_xy(ir, 0, 1)
    ks = _isolated_bright(ir, xy_all, xy, sci.shape, dq, iso=15.0)
    assert ks
    for k in ks:
        ix, iy = int(round(xy[k][0] - 1)), int(round(xy[k][1] - 1))
        box = sci[iy - 9:iy + 10, ix - 9:ix + 10]
        assert abs((box.sum() - box.size * ir.meta["sky"][0]) / stars["flux"][k] - 1) < 0.01


def test_cosmic_ray_truth(acs, acs_nocr):
    """Same seed with and without CRs: the difference is exactly the recorded CR electrons."""
    for e in range(2):
        with fits.open(acs.paths[e]) as a, fits.open(acs_nocr.paths[e]) as b, \
                fits.open(acs.truth_cr[e]) as c:
            for v in (1, 2):
                diff = a["SCI", v].data.astype(float) - b["SCI", v].data
                cre, mask = c["CRE", v].data, c["CR", v].data
                assert mask.dtype == np.uint8 and cre.dtype == np.dtype(">f4")
                assert np.allclose(diff, cre, atol=0.01)
                assert np.array_equal(mask == 1, cre > 0)
                assert 0.004 < mask.mean() < 0.02                    # ~1% of pixels per 400 s
                assert 20 < cre[mask == 1].min() and cre.max() <= 20000   # 500-20000 e-/event


def test_reproducible_by_seed(acs, tmp_path):
    again = make_dataset(tmp_path / "a", "ACS/WFC", 2, **SMALL)
    other = make_dataset(tmp_path / "b", "ACS/WFC", 2, **{**SMALL, "seed": 4})
    with fits.open(acs.paths[1]) as a, fits.open(again.paths[1]) as b, fits.open(other.paths[1]) as c:
        assert np.array_equal(a["SCI", 2].data, b["SCI", 2].data)
        assert a["SCI", 2].header == b["SCI", 2].header
        assert not np.array_equal(a["SCI", 2].data, c["SCI", 2].data)
    assert Table.read(acs.truth_stars)["flux"].tolist() == Table.read(again.truth_stars)["flux"].tolist()
    assert load_dataset(again.meta["truth_meta"]).paths == again.paths


def test_dithers_move_the_pointing(acs):
    """The second exposure's box-dither step (5.5, 0.5) px moves sources by that much."""
    stars = Table.read(acs.truth_stars)
    x0, y0 = true_pixels(acs, 0, 1, stars["ra"], stars["dec"])
    x1, y1 = true_pixels(acs, 1, 1, stars["ra"], stars["dec"])
    near = np.hypot(x0 - 128, y0 - 64) < 40             # SIP changes little over 5 px near the centre
    assert abs(np.median((x1 - x0)[near]) - 5.5) < 0.1 and abs(np.median((y1 - y0)[near]) - 0.5) < 0.1
    with fits.open(acs.paths[1]) as h:
        assert (h[0].header["POSTARG1"], h[0].header["POSTARG2"]) == pytest.approx((0.275, 0.025))


def test_pointing_errors_move_sources_not_headers(tmp_path):
    """A pointing error (dx, dy, rot, scale) is an affine move in the undistorted aperture frame:
    headers stay as without it, the stars move (by ~(dx, dy) detector pixels, modulo SIP)."""
    kw = {**SMALL, "n_galaxies": 0, "cr_fraction": 0.0}
    perr = (3.0, -2.0, 0.02, 1.0001)
    ref = make_dataset(tmp_path / "r", "ACS/WFC", 2, **kw)
    off = make_dataset(tmp_path / "o", "ACS/WFC", 2, pointing_errors=[None, perr], **kw)
    stars = Table.read(off.truth_stars)
    radec = np.column_stack([stars["ra"], stars["dec"]])
    with fits.open(ref.paths[1]) as a, fits.open(off.paths[1]) as b:
        assert a["SCI", 1].header == b["SCI", 1].header
        hw = WCS(b["SCI", 1].header)
        sci, dq = b["SCI", 1].data, b["DQ", 1].data
    hx, hy = hw.all_world2pix(radec, 1, tolerance=1e-10).T
    tx, ty = true_pixels(off, 1, 1, stars["ra"], stars["dec"])
    assert abs(np.median(tx - hx) - 3.0) < 0.3 and abs(np.median(ty - hy) + 2.0) < 0.3
    # exact statement, in the aperture frame
    fr = off.meta["frames"][1]
    frame = frame_wcs(fr["crval"], fr["scale"], fr["orientat"])
    u = frame.wcs_world2pix(radec, 1)
    c, s = np.cos(np.radians(perr[2])), np.sin(np.radians(perr[2]))
    want = perr[3] * (u @ np.array([[c, s], [-s, c]])) + perr[:2]
    got = frame.wcs_world2pix(hw.all_pix2world(np.column_stack([tx, ty]), 1), 1)
    assert np.abs(got - want).max() < 1e-6
    xy = np.column_stack([tx, ty])
    ks = _isolated_bright(off, xy, xy, sci.shape, dq)
    assert ks
    for k in ks:
        fx, fy = _fit_star(sci, *xy[k])
        assert abs(fx - tx[k]) < 0.02 and abs(fy - ty[k]) < 0.02


@pytest.mark.slow
@pytest.mark.parametrize("instrument,shape", [("ACS/WFC", (200, 400)), ("WFC3/IR", (256, 256))])
def test_drizzlepac_accepts_and_places_stars(tmp_path, instrument, shape):
    """AstroDrizzle 3.11.0 runs every step on the files; stars land at truth RA/Dec in its output
    and keep their flux."""
    astrodrizzle = pytest.importorskip("drizzlepac.astrodrizzle")
    ds = make_dataset(tmp_path / "truth", instrument, 3, chip_shape=shape, n_stars=60,
                      n_galaxies=5, suffix="flc", seed=11)
    work = tmp_path / "run"
    work.mkdir()
    files = []
    for p in ds.paths:
        shutil.copy(p, work)
        files.append(os.path.basename(p))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            astrodrizzle.AstroDrizzle(files, output="sim", build=True, preserve=False, clean=False,
                                      num_cores=1, in_memory=False)
    finally:
        os.chdir(cwd)
    assert (work / "sim_med.fits").exists() and glob.glob(str(work / "*_crmask.fits"))
    with fits.open(work / "sim_drc.fits") as h:
        sci, w = h["SCI"].data, WCS(h["SCI"].header)
    stars = Table.read(ds.truth_stars)
    x, y = w.all_world2pix(stars["ra"], stars["dec"], 1)
    ny, nx = sci.shape
    ratios = []
    for k in range(len(stars)):
        if stars["flux"][k] < 2000 or not (15 < x[k] < nx - 15 and 15 < y[k] < ny - 15):
            continue
        if np.sort(np.hypot(x - x[k], y - y[k]))[1] < 20:
            continue
        ix, iy = int(round(x[k] - 1)), int(round(y[k] - 1))
        box = sci[iy - 12:iy + 13, ix - 12:ix + 13]
        if not np.isfinite(box).all():
            continue
        fx, fy = _fit_star(sci, x[k], y[k])
        assert abs(fx - x[k]) < 0.05 and abs(fy - y[k]) < 0.05
        yy, xx = np.mgrid[-12:13, -12:13]
        r = np.hypot(xx + ix + 1 - x[k], yy + iy + 1 - y[k])
        flux = (box[r < 7] - np.median(box[(r > 9) & (r < 12)])).sum()
        ratios.append(flux / stars["flux"][k])
    # Single stars scatter by a few % where driz_cr masked one of the 3 undersampled samples.
    assert len(ratios) >= 3
    assert abs(np.median(ratios) - 1) < 0.015 and np.all(np.abs(np.array(ratios) - 1) < 0.06)


# ---- make_visit: one scene through several filters, one HST visit --------------------------------

VISIT_SMALL = dict(chip_shape=(64, 128), n_stars=15, n_galaxies=2, seed=9)


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    from snakedrizzle.simulate import make_visit

    return make_visit(tmp_path_factory.mktemp("visit"), "ACS/WFC", {"F606W": 2, "F814W": 1},
                      visit="j8xy01", proposid=4321, **VISIT_SMALL)


def test_visit_is_one_hst_visit_that_hap_reads(visit):
    from snakedrizzle.hap.exclusions import DIRECT, screen_exposures
    from snakedrizzle.hap.poller import read_poller

    roots = [os.path.basename(p)[:9] for p in visit.paths]
    assert roots == ["j8xy01a1q", "j8xy01a2q", "j8xy01a3q"]
    wheels = {"F606W": ("F606W", "CLEAR2L"), "F814W": ("CLEAR1L", "F814W")}
    starts = []
    for path, filter_ in zip(visit.paths, visit.meta["exposure_filters"]):
        with fits.open(path) as h:
            p, sci = h[0].header, h["SCI", 1].header
            assert (p["PROPOSID"], p["FGSLOCK"], p["MTFLAG"]) == (4321, "FINE", "")
            assert (p["FILTER1"], p["FILTER2"]) == wheels[filter_]
            assert p["ASN_ID"] == ("J8XY01010" if filter_ == "F606W" else "J8XY01020")
            assert sci["PHOTFLAM"] == visit.meta["filters"][filter_]["photflam"]
            assert sci["PHOTMODE"] == f"ACS WFC1 {filter_}"
            assert p["EXPEND"] > p["EXPSTART"]
            starts.append(p["EXPSTART"])
    assert starts == sorted(starts)
    rows = read_poller(visit.paths)
    assert {(r.proposal_id, r.program_id, r.obset_id) for r in rows} == {("4321", "8XY", "01")}
    assert [r.filter for r in rows] == ["f606w", "f606w", "f814w"]
    assert all(v.use == DIRECT for v in screen_exposures(rows))


def test_visit_truth_has_per_filter_fluxes_from_colours(visit):
    stars = Table.read(visit.truth_stars)
    assert np.array_equal(stars["flux"], stars["flux_f606w"])       # the first filter's
    # colour = m_blue - m_red between the visit's bluest and reddest filter
    colour = -2.5 * np.log10(stars["flux_f606w"] / stars["flux_f814w"])
    assert np.allclose(colour, stars["colour"], atol=1e-9)
    assert np.std(stars["colour"]) > 0.2 and -0.5 <= stars["colour"].min()


def test_visit_of_one_filter_has_make_dataset_pixels(tmp_path):
    """Colours draw from their own stream and the filter only changes headers: a one-filter
    visit without the flat-field area factor is make_dataset's data."""
    from snakedrizzle.simulate import make_visit

    one = make_visit(tmp_path / "v", "ACS/WFC", {"F606W": 2}, flat_fielded=False, **VISIT_SMALL)
    ref = make_dataset(tmp_path / "d", "ACS/WFC", 2, **VISIT_SMALL)
    for a, b in zip(one.paths, ref.paths):
        with fits.open(a) as ha, fits.open(b) as hb:
            for ext in (("SCI", 1), ("SCI", 2), ("ERR", 2), ("DQ", 1)):
                assert np.array_equal(ha[ext].data, hb[ext].data)


def test_flat_fielded_sources_lose_their_pixel_area(visit):
    """As in a flat-fielded FLT, a source's counts are its flux divided by its pixel's area in
    IDCSCALE pixels (so that drizzling gives the true flux back)."""
    from snakedrizzle.simulate.geometry import frame_wcs, pixel_area_ratio
    from snakedrizzle.simulate.scene import render_sources

    with fits.open(visit.paths[0]) as h:
        wcs = WCS(h["SCI", 1].header, h)
    fr = visit.meta["frames"][0]
    frame = frame_wcs(fr["crval"], fr["scale"], fr["orientat"])
    corner = wcs.all_pix2world([[20.0, 15.0]], 1)[0]          # far from CRPIX: SIP matters
    star = Table({"ra": [corner[0]], "dec": [corner[1]], "flux": [100.0]})
    gals = Table({"ra": [], "dec": [], "flux": []})
    plain, flat = np.zeros((64, 128)), np.zeros((64, 128))
    render_sources(plain, wcs, frame, None, star, gals, 10.0, 1.0)
    render_sources(flat, wcs, frame, None, star, gals, 10.0, 1.0, flat_scale=0.05)
    area = pixel_area_ratio(wcs, [20.0], [15.0], 0.05)[0]
    assert abs(area - 1.0) > 1e-3                              # the distortion changes the area
    assert flat.sum() == pytest.approx(plain.sum() / area, rel=1e-9)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"filters": {"F999W": 1}}, "filters"),
    ({"filters": {"F606W": 0}}, "filters"),
    ({"visit": "i8xy01"}, "visit"),
])
def test_bad_visit_arguments_name_the_parameter(tmp_path, kwargs, parameter):
    from snakedrizzle.simulate import make_visit

    with pytest.raises(InputError, match=parameter):
        make_visit(tmp_path / "v", "ACS/WFC", **{"filters": {"F606W": 1}, **kwargs})
    assert not (tmp_path / "v").exists()
