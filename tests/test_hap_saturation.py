"""Flag bit 4 (saturated) of the HAP filter catalogs (snakedrizzle.hap.catalogs.saturation,
SPEC-HAP H7.7).

Truth: one synthetic ACS/HRC exposure without distortion (pure TAN chip WCS) and a "product" on
exactly that pixel grid, so a flagged input pixel (x, y) is product pixel (x, y); its DQ has
bit 256 on a known 3x3 block and nowhere else."""
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from snakedrizzle.align.headerlet import write_headerlet
from snakedrizzle.hap.catalogs import columns as C
from snakedrizzle.hap.catalogs import stages
from snakedrizzle.hap.catalogs.flags import SATURATED
from snakedrizzle.hap.catalogs.params import catalog_pars
from snakedrizzle.hap.catalogs.saturation import (near_saturation, saturated_positions, saturation_bit,
                                                  saturation_radius)
from snakedrizzle.simulate import make_dataset
from snakedrizzle.wcs import chip_wcs

BLOCK_X, BLOCK_Y = (40, 41, 42), (70, 71, 72)   # 0-based columns and rows of the saturated block
HRC = "hst_10001_01_acs_hrc_f606w_j00001"
IR = "hst_10001_01_wfc3_ir_f160w_i00001"


def _exposure(root, instrument, shape=(128, 128)):
    """One exposure whose DQ has bit 256 on the block only (other bits left as simulated)."""
    ds = make_dataset(root, instrument, 1, chip_shape=shape, distortion=False, n_stars=30, n_galaxies=0,
                      seed=3)
    path = ds.paths[0]
    with fits.open(path, mode="update") as hdul:
        dq = hdul["DQ", 1].data
        dq &= ~np.int16(256)
        dq[BLOCK_Y[0]:BLOCK_Y[-1] + 1, BLOCK_X[0]:BLOCK_X[-1] + 1] |= 256 | 4
    return path


def _product(path, exposure, instrument, detector):
    """A product on the exposure's own pixel grid (its SCI in e-/s), one exposure everywhere."""
    with fits.open(exposure) as hdul:
        sci_header, data = hdul["SCI", 1].header, hdul["SCI", 1].data.astype(np.float32)
    frame = WCS(sci_header).to_header()
    primary = fits.PrimaryHDU()
    primary.header.update(INSTRUME=instrument, DETECTOR=detector, TEXPTIME=400.0, EXPTIME=400.0, NUMEXP=1)
    sci = fits.ImageHDU(data / 400.0, header=frame, name="SCI")
    sci.header.update(PHOTFLAM=1.278e-19, PHOTPLAM=5888.0, BUNIT="ELECTRONS/S")
    hdus = [primary, sci, fits.ImageHDU(np.full(data.shape, 400.0, np.float32), name="WHT"),
            fits.ImageHDU(np.ones(data.shape, np.int32), name="CTX")]
    fits.HDUList(hdus).writeto(path)
    return str(path)


def _sources(path, wcs, xy):
    """A total-catalog source list at 0-based positions ``xy``."""
    x, y = np.array(xy, float).T
    ra, dec = wcs.all_pix2world(x, y, 0)
    Table({"ID": np.arange(1, len(x) + 1), "X-Center": x, "Y-Center": y, "RA": ra, "DEC": dec}).write(
        path, format="ascii.ecsv")
    return str(path)


@pytest.fixture(scope="module")
def hrc(tmp_path_factory):
    root = tmp_path_factory.mktemp("saturation")
    exposure = _exposure(root / "exp", "ACS/HRC")
    product = _product(root / f"{HRC}_drc.fits", exposure, "ACS", "HRC")
    return dict(root=root, exposure=exposure, product=product, wcs=WCS(fits.getheader(product, "SCI")))


def _block_pixels():
    yy, xx = np.meshgrid(BLOCK_Y, BLOCK_X, indexing="ij")
    return np.column_stack([xx.ravel(), yy.ravel()]).astype(float)


def test_saturated_pixels_land_on_their_product_pixels(hrc):
    found = saturated_positions([hrc["exposure"]], [None], hrc["wcs"])
    assert found.shape == (9, 2)
    # every found position is a block pixel and every block pixel is found
    distance = np.hypot(*(found[:, None, :] - _block_pixels()[None]).transpose(2, 0, 1))
    assert distance.min(axis=1).max() < 1e-6 and distance.min(axis=0).max() < 1e-6
    # the bit asked for decides: WFPC2's saturation bit 8 is not set in this DQ
    assert len(saturated_positions([hrc["exposure"]], [None], hrc["wcs"], bit=8)) == 0


def test_missing_headerlet_falls_back_and_a_headerlet_moves_the_pixels(hrc):
    plain = saturated_positions([hrc["exposure"]], [None], hrc["wcs"])
    missing = saturated_positions([hrc["exposure"]], [str(hrc["root"] / "nope_hlet.fits")], hrc["wcs"])
    np.testing.assert_array_equal(missing, plain)
    # an aligned WCS whose reference pixel sits 5 px right and 3 px up: every chip pixel p now
    # shows the sky of p + (5, 3), so it lands on product pixel p + (5, 3)
    w = chip_wcs(hrc["exposure"], 1)
    w.wcs.crval = w.wcs_pix2world([[w.wcs.crpix[0] - 1 + 5, w.wcs.crpix[1] - 1 + 3]], 0)[0]
    hlet = str(hrc["root"] / "jsim01a1q_hlet.fits")
    write_headerlet(hrc["exposure"], hlet, {1: w}, "TEST-FIT", {"status": "SUCCESS"}, "jsim01a1q")
    moved = saturated_positions([hrc["exposure"]], [hlet], hrc["wcs"])
    np.testing.assert_allclose(moved - plain, np.tile([5.0, 3.0], (9, 1)), atol=1e-3)


def test_radius_is_hap_formula_and_stable_against_the_last_bit():
    for eps in (-1e-12, 0.0, 1e-12):
        assert saturation_radius(0.125, 0.025 * (1 + eps)) == 12.0   # ACS/HRC
        assert saturation_radius(0.15, 0.05 * (1 + eps)) == 8.0      # ACS/WFC, WFC3/UVIS
    assert saturation_radius(0.45, 0.1283) == 8.0                     # 3.51 + 0.5 -> 4
    assert (saturation_bit("acs", "wfc"), saturation_bit("wfpc2", "pc"), saturation_bit("wfc3", "ir")) == (
        256, 8, None)


def test_match_is_inclusive_at_the_radius():
    positions = np.array([[10.0, 10.0]])
    near = near_saturation([22.0, 22.001, 10.0, np.nan], [10.0, 10.0, 10.0 + 12.0, 5.0], positions, 12.0)
    assert near.tolist() == [True, False, True, False]


def _flags(path):
    table = Table.read(path, format="ascii.ecsv")
    return table, np.asarray(table["Flags"]) & SATURATED


def test_point_catalog_flags_sources_next_to_the_block_only(hrc, tmp_path):
    pars = catalog_pars("acs", "hrc")
    radius = saturation_radius(pars["aperture_2"], 0.025)
    centre = (BLOCK_X[1], BLOCK_Y[1])
    # 11 px from the nearest block pixel (inside 12), 14 px (outside), and far away
    xy = [(BLOCK_X[-1] + 11, centre[1]), (BLOCK_X[-1] + 14, centre[1]), (100.0, 15.0)]
    sources = _sources(tmp_path / "sources.ecsv", hrc["wcs"], xy)
    out = tmp_path / f"{HRC}_point-cat.ecsv"
    stages.catalog_stage("point", "filter", {"product": hrc["product"], "total": hrc["product"],
                                             "detection": sources, "exposures": [hrc["exposure"]],
                                             "headerlets": []}, str(out), pars)
    table, bit4 = _flags(out)
    assert radius == 12.0 and bit4.tolist() == [SATURATED, 0, 0]
    # without its exposures the stage sets no bit 4 (callers before this flag)
    stages.point_catalog_stage(hrc["product"], sources, str(tmp_path / "none.ecsv"), pars)
    assert (_flags(tmp_path / "none.ecsv")[1] == 0).all()
    legend = " ".join(str(v) for v in table.meta.values())
    assert "4 saturated" in legend and "not set yet" not in legend


def test_segment_catalog_flags_by_distance_to_the_block(hrc, tmp_path):
    pars = catalog_pars("acs", "hrc")
    segmap = tmp_path / "segm.fits"
    stages.segment_map_stage(hrc["product"], segmap, pars)
    out = tmp_path / f"{HRC}_segment-cat.ecsv"
    stages.catalog_stage("segment", "filter", {"product": hrc["product"], "total": hrc["product"],
                                               "detection": str(segmap), "exposures": [hrc["exposure"]],
                                               "headerlets": []}, str(out), pars)
    table, bit4 = _flags(out)
    xy = np.column_stack([table["X-Centroid"], table["Y-Centroid"]])
    nearest = np.min(np.hypot(*(xy[:, None, :] - _block_pixels()[None]).transpose(2, 0, 1)), axis=1)
    assert len(table) > 5 and (nearest > 12).any() and (nearest <= 12).any()
    assert ((bit4 == SATURATED) == (nearest <= 12.0)).all()


def test_ir_gets_no_saturation_flag(tmp_path):
    exposure = _exposure(tmp_path / "exp", "WFC3/IR", shape=(96, 96))
    product = _product(tmp_path / f"{IR}_drz.fits", exposure, "WFC3", "IR")
    wcs = WCS(fits.getheader(product, "SCI"))
    # the DQ does say saturated right under the source: HAP sets no bit 4 for IR all the same
    assert len(saturated_positions([exposure], [None], wcs)) == 9
    sources = _sources(tmp_path / "sources.ecsv", wcs, [(BLOCK_X[1], BLOCK_Y[1])])
    out = tmp_path / f"{IR}_point-cat.ecsv"
    stages.point_catalog_stage(product, sources, str(out), catalog_pars("wfc3", "ir"), [exposure], [])
    assert _flags(out)[1].tolist() == [0]


def test_legend_in_the_catalog_metadata():
    meta = C.catalog_metadata(fits.Header({"INSTRUME": "ACS", "DETECTOR": "HRC"}), "point",
                              catalog_pars("acs", "hrc"), 5.0, 0)
    text = " ".join(str(v) for v in meta.values())
    assert "4 saturated" in text and "not set yet" not in text


HRC_DATA = "/work/shared/data/hst/acs_hrc_47tuc"


@pytest.mark.skipif(not os.path.isdir(HRC_DATA), reason="HRC test data not available")
def test_filter_catalog_rules_get_exposures_and_headerlets_total_none():
    from snakedrizzle.workflow import config as sdconfig
    from snakedrizzle.workflow import dag

    plan = dag.Plan(sdconfig.check_config({"poller": f"{HRC_DATA}/*_flt.fits"}))
    for kind in ("point", "segment"):
        found = plan.svm.catalogs.inputs("hst_9019_06_acs_hrc_f606w_j8bt06", kind)
        assert [os.path.basename(p) for p in found["exposures"]] == ["j8bt06nyq_flt.fits", "j8bt06o6q_flt.fits"]
        assert found["headerlets"] == [f"results/svm/j8bt06/align/{r}_hlet.fits" for r in ("j8bt06nyq", "j8bt06o6q")]
        total = plan.svm.catalogs.inputs("hst_9019_06_acs_hrc_total_j8bt06", kind)
        assert "exposures" not in total and "headerlets" not in total
