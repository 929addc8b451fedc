"""The visit meta-WCS (snakedrizzle.hap.metawcs, SPEC-HAP H4) on the real ACS/HRC visit, against
DrizzlePac's make_mosaic_wcs; HAP keywords (snakedrizzle.hap.keywords, SPEC-HAP H8) on synthetic
arrays of known values and on real HAP headers."""
import numpy as np
import pytest
from astropy import wcs as pywcs
from astropy.io import fits

from conftest import SHARED
from snakedrizzle.errors import InputError
from snakedrizzle.hap import keywords as K
from snakedrizzle.hap.metawcs import exposure_chip_wcss, metawcs_pars, visit_metawcs
from snakedrizzle.wcs import custom_frame, frame_pscale, linear_pscale, subframe

HRC = sorted((SHARED / "acs_hrc_47tuc").glob("*_flt.fits"))
CUTOUTS = SHARED / "cutouts"


@pytest.fixture(scope="module")
def hrc_frame():
    if len(HRC) != 4:
        pytest.skip("ACS/HRC 47 Tuc data not present")
    return visit_metawcs(HRC)


def test_hrc_metawcs_is_north_up_at_native_scale(hrc_frame):
    cd = hrc_frame.wcs.cd
    assert abs(cd[0, 1]) <= 1e-12 * abs(cd[0, 0]) and abs(cd[1, 0]) <= 1e-12 * abs(cd[1, 1])
    assert cd[0, 0] < 0 < cd[1, 1] and cd[0, 0] == pytest.approx(-cd[1, 1], rel=1e-12)
    native = linear_pscale(exposure_chip_wcss(HRC[:1])[0])
    assert frame_pscale(hrc_frame) == pytest.approx(native, rel=1e-12)


def test_hrc_metawcs_holds_every_exposure(hrc_frame):
    nx, ny = hrc_frame.pixel_shape
    for chip in exposure_chip_wcss(HRC):
        cnx, cny = chip.pixel_shape
        x, y = K._chip_outline((cny, cnx))
        fx, fy = hrc_frame.all_world2pix(*chip.all_pix2world(x, y, 0), 0)
        # pixel edges of the outermost chip pixels lie within the grid's edges (-0.5 ... n-0.5)
        assert fx.min() >= -1.0 and fx.max() <= nx and fy.min() >= -1.0 and fy.max() <= ny
    # HAP does not trim: the grid is the north-up box around the rotated default frame, so the
    # footprint need not touch its edges; every chip still lands entirely on it
    chips = [(c, 1.0) for c in exposure_chip_wcss(HRC)]
    nchip = K.footprint_maps(hrc_frame, chips)[0]
    assert nchip.max() >= 2 and 0.3 < (nchip > 0).mean() < 1.0


@pytest.mark.parametrize("scale", [None, 0.05])
def test_hrc_metawcs_equals_drizzlepacs(hrc_frame, scale):
    wcs_functions = pytest.importorskip("drizzlepac.wcs_functions")
    ours = hrc_frame if scale is None else visit_metawcs(HRC, scale=scale)
    ref = wcs_functions.make_mosaic_wcs([str(p) for p in HRC], rot=0.0, scale=scale)
    assert tuple(ours.pixel_shape) == tuple(ref.pixel_shape)
    np.testing.assert_allclose(ours.wcs.crval, ref.wcs.crval, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.wcs.crpix, ref.wcs.crpix, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.wcs.cd, ref.wcs.cd, rtol=0, atol=1e-15)


def test_metawcs_pars_rebuild_the_grid(hrc_frame):
    pars = metawcs_pars(hrc_frame)
    assert pars["final_rot"] == 0.0 and pars["final_wcs"] is True
    again = custom_frame(hrc_frame, **{k[6:]: v for k, v in pars.items() if k not in ("final_wcs",)})
    assert again.pixel_shape == hrc_frame.pixel_shape
    np.testing.assert_allclose(again.wcs.crpix, hrc_frame.wcs.crpix, atol=1e-12)
    np.testing.assert_allclose(again.wcs.cd, hrc_frame.wcs.cd, rtol=1e-12, atol=1e-20)


def test_metawcs_bad_input(tmp_path):
    with pytest.raises(InputError, match="no direct exposure"):
        visit_metawcs([])
    with pytest.raises(InputError, match="cannot read"):
        visit_metawcs([str(tmp_path / "missing_flt.fits")])


# ---------------------------------------------------------------- keywords: known arrays

def _grid(nx=100, ny=80):
    frame = pywcs.WCS(naxis=2)
    frame.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    frame.wcs.crval = [150.0, 2.0]
    frame.wcs.crpix = [50.5, 40.5]
    frame.wcs.cd = np.diag([-1e-5, 1e-5])
    frame.pixel_shape = (nx, ny)
    frame.wcs.set()
    return frame


def _chip(frame, x0, y0, nx, ny):
    # a quarter-pixel offset keeps every mapped edge pixel clear of integer truncation
    return subframe(frame, x0 + 0.25, y0 + 0.25, nx, ny)


def test_footprint_of_two_overlapping_rectangles():
    frame = _grid()
    a, b = _chip(frame, 10, 10, 40, 30), _chip(frame, 30, 20, 40, 30)
    nchip, exptime = K.footprint_maps(frame, [(a, 100.0), (b, 300.0)])
    # A: x 10-49, y 10-39; B: x 30-69, y 20-49; both: x 30-49, y 20-39 (400 px)
    assert (nchip == 2).sum() == 400 and (nchip == 1).sum() == 1600 and (nchip > 0).sum() == 2000
    assert nchip[10, 10] == 1 and nchip[39, 49] == 2 and nchip[9, 10] == 0 and nchip[49, 69] == 1
    wht = np.where(nchip > 0, exptime * 0.5, 0.0).astype(np.float32)
    wht[10, 10:20] = 0.0  # a zero weight inside the footprint still counts in MEANWHT/MEDWHT
    cards = K.footprint_keywords(nchip, exptime, wht)
    values = {k: v[0] for k, v in cards.items()}
    assert values["NPIXFRAC"] == pytest.approx(2000 / 8000)
    assert values["MEANEXPT"] == pytest.approx((800 * 100 + 800 * 300 + 400 * 400) / 2000)
    assert values["MEDEXPT"] == 300.0
    assert values["MEANNEXP"] == pytest.approx((1600 + 2 * 400) / 2000)
    assert values["MEDNEXP"] == 1.0
    assert values["MEANWHT"] == pytest.approx((790 * 50 + 800 * 150 + 400 * 200) / 2000)
    assert values["MEDWHT"] == 150.0


def test_footprint_without_overlap_is_an_error():
    frame = _grid()
    nchip, exptime = K.footprint_maps(frame, [(_chip(frame, 500, 500, 10, 10), 1.0)])
    assert not nchip.any()
    with pytest.raises(InputError, match="no input chip overlaps"):
        K.footprint_keywords(nchip, exptime)


def _polygons(value):
    out = []
    for part in value.split("POLYGON ICRS")[1:]:
        numbers = np.array(part.split(), float)
        out.append(numbers.reshape(-1, 2))
    return out


def test_s_region_one_polygon_per_separate_region():
    frame = _grid()
    wht = np.zeros((80, 100), np.float32)
    wht[10:40, 10:50] = 1.0
    wht[20:50, 30:70] = 2.0   # overlaps the first: one region
    wht[60:75, 80:95] = 1.0   # 10 px away: closed into the same region (HAP's 11 iterations)
    assert len(_polygons(K.s_region(wht, frame))) == 1
    wht[60:75, 80:95] = 0.0
    wht[70:78, 2:8] = 1.0     # far away: a second polygon
    polys = _polygons(K.s_region(wht, frame))
    assert len(polys) == 2
    big = next(p for p in polys if len(p) > 5)
    assert np.array_equal(big[0], big[-1])  # closed
    x, y = frame.all_world2pix(big[:, 0], big[:, 1], 0)
    corners = {(10, 10), (49, 10), (69, 20), (69, 49), (30, 49), (10, 39)}
    assert {(round(float(u)), round(float(v))) for u, v in zip(x[:-1], y[:-1])} == corners
    small = next(p for p in polys if len(p) == 5)
    x, y = frame.all_world2pix(small[:, 0], small[:, 1], 0)
    assert sorted({(round(float(u)), round(float(v))) for u, v in zip(x, y)}) == [(2, 70), (2, 77), (7, 70), (7, 77)]


def test_hap_keywords_by_level():
    frame = _grid()
    wht = np.zeros((80, 100), np.float32)
    wht[10:40, 10:50] = 100.0
    headers = [{"ROOTNAME": "J8BT05NJQ", "EXPSTART": 53044.86482028, "EXPEND": 53044.868826,
                "FILTER1": "CLEAR1S", "FILTER2": "F606W"},
               {"ROOTNAME": "j8bt06nyq", "EXPSTART": 53044.87038943, "EXPEND": 53044.89721732,
                "FILTER1": "CLEAR1S", "FILTER2": "F606W"}]
    nchip, exptime = K.footprint_maps(frame, [(_chip(frame, 10, 10, 40, 30), 100.0)])
    cards = K.hap_keywords("filter", frame, wht, headers, nchip=nchip, exptime=exptime,
                           product_name="hst_9029_05_acs_hrc_f606w_j8bt05_drz.fits")
    primary = {k: v[0] for k, v in cards["PRIMARY"].items()}
    assert primary["HAPLEVEL"] == 2 and primary["FILTER"] == "F606W" and primary["NUMEXP"] == 2
    assert "IPPPSSOO" not in primary
    assert primary["DATE-BEG"] == "2004-02-09T20:45:20.472" and primary["DATE-END"] == "2004-02-09T21:31:59.576"
    assert primary["DRIZPARS"] == "hst_9029_05_acs_hrc_f606w_j8bt05_trl.txt"
    assert primary["NPIXFRAC"] == pytest.approx(1200 / 8000) and primary["MEDWHT"] == 100.0
    assert cards["SCI"]["S_REGION"][0].startswith("POLYGON ICRS ")
    total = K.hap_keywords("total", frame, wht, headers)["PRIMARY"]
    assert total["FILTER"][0] == "detection" and "NPIXFRAC" not in total
    single = K.hap_keywords("exposure", frame, wht, headers[:1])["PRIMARY"]
    assert single["HAPLEVEL"][0] == 1 and single["IPPPSSOO"][0] == "j8bt05njq" and single["NUMEXP"][0] == 1
    assert K.filter_value([{"FILTER1": "CLEAR1L", "FILTER2": "CLEAR2L"}], "filter") == "clear"
    assert K.filter_value([{"FILTER1": "F555W", "FILTER2": "POL0V"}], "filter") == "F555W;POL0V"
    with pytest.raises(InputError, match="must be one of"):
        K.hap_keywords("visit", frame, wht, headers)


# ---------------------------------------------------------------- keywords: real HAP headers

def test_against_real_mvm_header():
    path = CUTOUTS / "sample_mvm_drc.fits"
    primary = fits.getheader(path, 0)
    table = fits.getdata(path, "HDRTAB")
    headers = [dict(ROOTNAME=r["ROOTNAME"], EXPSTART=r["EXPSTART"], EXPEND=r["EXPEND"],
                    FILTER1=primary["FILTER1"], FILTER2=primary["FILTER2"]) for r in table]
    frame = pywcs.WCS(fits.getheader(path, "SCI"))
    wht = fits.getdata(path, "WHT")
    cards = K.hap_keywords("layer", frame, wht, headers)["PRIMARY"]
    for name in ("HAPLEVEL", "FILTER", "NUMEXP", "DATE-BEG", "DATE-END"):
        assert cards[name][0] == primary[name], name
    for name in ("NPIXFRAC", "MEANEXPT", "MEDEXPT", "MEANNEXP", "MEDNEXP", "MEANWHT", "MEDWHT", "HAPLEVEL"):
        assert primary.comments[name].startswith(K.COMMENTS[name][:40])


def test_against_real_svm_input_copy_header():
    primary = fits.getheader(CUTOUTS / "sample_svm_flc.fits", 0)
    frame = _grid()
    wht = np.ones((80, 100), np.float32)
    cards = K.hap_keywords("exposure", frame, wht, [dict(primary)])["PRIMARY"]
    for name in ("HAPLEVEL", "IPPPSSOO", "FILTER"):
        assert cards[name][0] == primary[name], name
