"""Alignment verification of a runastrodriz cascade stage (snakedrizzle.pipeline.verify):
synthetic star fields whose truth is known (stars placed on the sky, rendered through each
image's WCS) and the real ACS/HRC 47 Tuc pair drizzled by DrizzlePac, aligned and misaligned."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from snakedrizzle.errors import InputError
from snakedrizzle.pipeline.verify import verify_stage, verify_stage_files
from snakedrizzle.simulate.scene import add_stars

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "hst"
SCALE = 0.05                    # arcsec/px, ACS/WFC-like
FRAME = (400, 400)              # product grid (ny, nx)
ROOTS = ["ja0101aaq", "ja0101abq", "ja0101acq"]
WINDOWS = [(0, 0), (40, 10), (15, 40)]    # (x0, y0) of each exposure's 360x360 window
NOISE = 0.3                     # per-pixel noise of one exposure, e-/s
CRVAL = (150.1, 2.2)


def frame_wcs(shape=FRAME, x0=0.0, y0=0.0, rotation=0.0, crval=CRVAL):
    """A TAN frame; (x0, y0) moves its origin (a window of the frame), rotation in degrees."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = [(FRAME[1] + 1) / 2 - x0, (FRAME[0] + 1) / 2 - y0]
    c, s = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
    w.wcs.cd = SCALE / 3600 * np.array([[-c, s], [s, c]])
    w.pixel_shape = (shape[1], shape[0])
    return w


def star_field(seed=3, n=150, flux=(30.0, 3000.0)):
    """Sky positions and fluxes (e-/s) of stars spread over the product frame."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(10, FRAME[1] - 10, n), rng.uniform(10, FRAME[0] - 10, n)
    ra, dec = frame_wcs().all_pix2world(x, y, 0)
    return ra, dec, 10 ** rng.uniform(*np.log10(flux), n)


def render(stars, wcs, shape, rng, noise, psf_sigma=1.0, offset_arcsec=(0.0, 0.0)):
    """The stars seen through ``wcs`` (displaced on the sky by ``offset_arcsec``) plus noise."""
    ra, dec, flux = stars
    dra = offset_arcsec[0] / 3600 / np.cos(np.radians(CRVAL[1]))
    x, y = wcs.all_world2pix(ra + dra, dec + offset_arcsec[1] / 3600, 1)
    img = np.zeros(shape)
    add_stars(img, x, y, flux, psf_sigma)
    return img + rng.normal(0.0, noise, shape)


def write_single(folder, root, data, wcs, exptime=400.0):
    hdr = wcs.to_header()
    hdr["EXPTIME"] = exptime
    path = folder / f"{root}_single_sci.fits"
    fits.PrimaryHDU(data.astype(np.float32), hdr).writeto(path)
    fits.PrimaryHDU(np.full(data.shape, exptime, np.float32), hdr).writeto(folder / f"{root}_single_wht.fits")
    return str(path)


def write_product(path, data, wcs):
    """An AstroDrizzle-like product: empty primary, SCI with the WCS, WHT."""
    hdr = wcs.to_header()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data.astype(np.float32), hdr, name="SCI"),
                  fits.ImageHDU(np.ones(data.shape, np.float32), hdr, name="WHT")]).writeto(path)
    return str(path)


def make_stage(folder, stars, *, shifted=None, product=None, seed=11):
    """Three exposures on windows of the separate frame and their product on the full frame.
    ``shifted``: {root: (dra, ddec) arcsec} exposures whose stars land elsewhere (a wrong WCS);
    ``product``: a function (stars, wcs, rng) -> product image replacing the true one."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    singles = []
    for root, (x0, y0) in zip(ROOTS, WINDOWS):
        win = frame_wcs((360, 360), x0, y0)
        img = render(stars, win, (360, 360), rng, NOISE, offset_arcsec=(shifted or {}).get(root, (0, 0)))
        singles.append(write_single(folder, root, img, win))
    wcs = frame_wcs()
    img = product(stars, wcs, rng) if product else render(stars, wcs, FRAME, rng, NOISE / np.sqrt(3))
    return write_product(folder / "stage_drz.fits", img, wcs), singles


@pytest.fixture(scope="module")
def stars():
    return star_field()


@pytest.fixture(scope="module")
def good_stage(tmp_path_factory, stars):
    return make_stage(tmp_path_factory.mktemp("good"), stars)


# ---- overlap ------------------------------------------------------------------------------------

def test_same_field_is_verified(good_stage):
    product, singles = good_stage
    result = verify_stage(product, singles, "ACS/WFC")
    assert result["verified"] and result["quality"] == 0, result["reason"]
    distances = {k: v["distance"] for k, v in result["metrics"]["exposures"].items()}
    assert set(distances) == set(ROOTS)
    assert max(distances.values()) < 0.5
    assert all(v["sources"] > 50 for v in result["metrics"]["exposures"].values())


def test_product_on_a_rotated_frame_is_verified(tmp_path, stars):
    """Singles and product on different grids (30 deg, sub-pixel offset): mapped by the WCSs."""
    def rotated(stars, _wcs, rng):
        return render(stars, frame_wcs(x0=0.37, y0=-0.21, rotation=30.0), FRAME, rng, NOISE / np.sqrt(3))

    product, singles = make_stage(tmp_path, stars, product=rotated)
    with fits.open(product, mode="update") as hdul:     # the header must say what was rendered
        hdul["SCI"].header.update(frame_wcs(x0=0.37, y0=-0.21, rotation=30.0).to_header())
    result = verify_stage(product, singles, "ACS/WFC")
    assert result["verified"], result["reason"]
    assert result["metrics"]["max_distance"] < 0.8


def test_exposure_shifted_by_one_arcsec_is_named(tmp_path, stars):
    product, singles = make_stage(tmp_path, stars, shifted={"ja0101abq": (0.0, 1.0)})
    result = verify_stage(product, singles, "ACS/WFC")
    assert not result["verified"] and result["quality"] == 3
    assert "ja0101abq" in result["reason"] and "overlap difference" in result["reason"]
    exposures = result["metrics"]["exposures"]
    assert exposures["ja0101abq"]["distance"] > 1.5
    assert max(exposures[r]["distance"] for r in ("ja0101aaq", "ja0101acq")) < 0.5
    # H9's min(Hamming, 2 x similarity) would pass it: the product keeps the same total flux.
    assert exposures["ja0101abq"]["h9_distance"] < 1.0


# ---- focus --------------------------------------------------------------------------------------

def blurred(stars, wcs, rng):
    return render(stars, wcs, FRAME, rng, NOISE / np.sqrt(3), psf_sigma=2.0)


def doubled(stars, wcs, rng):
    """Two exposures misregistered by 0.15" (3 px): every star doubled at half flux."""
    ra, dec, flux = stars
    half = (ra, dec, flux / 2)
    return (render(half, wcs, FRAME, rng, NOISE / np.sqrt(6))
            + render(half, wcs, FRAME, rng, NOISE / np.sqrt(6), offset_arcsec=(0.15, 0.0)))


@pytest.mark.parametrize("make_product", [blurred, doubled], ids=["blurred", "doubled"])
def test_unsharp_product_fails_focus_only_for_a_borderline_fit(tmp_path, stars, make_product):
    product, singles = make_stage(tmp_path, stars, product=make_product)
    focus = verify_stage(product, singles, "ACS/WFC")["metrics"]["focus"]
    assert not focus["ok"] and focus["product"] < focus["low"] < focus["mean"]
    # DrizzlePac's rule: the focus test counts only for a fit with < 10 matches or < 10 % matched.
    for fit in ({"num_matches": 5}, {"fraction_matched": 0.05}):
        result = verify_stage(product, singles, "ACS/WFC", **fit)
        assert not result["verified"] and result["quality"] == 3
        assert "focus" in result["reason"]
    confident = verify_stage(product, singles, "ACS/WFC", num_matches=200, fraction_matched=0.8)
    assert confident["metrics"]["focus"]["required"] is False
    assert "focus" not in confident["reason"]


def test_sharp_product_passes_focus(good_stage):
    product, singles = good_stage
    result = verify_stage(product, singles, "ACS/WFC", num_matches=5)
    focus = result["metrics"]["focus"]
    assert result["verified"] and focus["required"] and focus["ok"]
    assert focus["low"] <= focus["product"] <= focus["high"]


def test_focus_filter_width_follows_the_detector(good_stage):
    product, singles = good_stage
    wide = verify_stage(product, singles, "WFC3/IR")["metrics"]
    narrow = verify_stage(product, singles, "ACS/WFC")["metrics"]
    assert (wide["focus_sigma"], narrow["focus_sigma"]) == (2.0, 1.5)
    assert verify_stage(product, singles, "ACS/SBC")["metrics"]["focus_sigma"] == 2.0
    # A wider LoG answers less to a 1 px-sigma star core.
    assert wide["focus"]["mean"] < narrow["focus"]["mean"]


# ---- similarity against the previous stage ------------------------------------------------------

def test_similarity_against_the_previous_stage(tmp_path, good_stage, stars):
    product, singles = good_stage
    same = write_product(tmp_path / "same_drz.fits",
                         render(stars, frame_wcs(), FRAME, np.random.default_rng(5), NOISE / np.sqrt(3)),
                         frame_wcs())
    result = verify_stage(product, singles, "ACS/WFC", reference=same)
    assert result["verified"] and result["quality"] == 0
    assert result["metrics"]["similarity"] < 0.05
    # The index compares total flux in the largest 2^k square: a different field fails it when
    # it holds more than twice the product's flux (here ~4x: 300 stars up to 6000 e-/s).
    other = write_product(tmp_path / "other_drz.fits",
                          render(star_field(seed=99, n=300, flux=(60.0, 6000.0)), frame_wcs(), FRAME,
                                 np.random.default_rng(6), NOISE / np.sqrt(3)), frame_wcs())
    result = verify_stage(product, singles, "ACS/WFC", reference=other)
    assert result["metrics"]["similarity"] > 1
    assert not result["verified"] and result["quality"] == 3   # overlap fine, similarity failed
    assert "similarity" in result["reason"] and "other_drz.fits" in result["reason"]


def test_similarity_failure_adds_to_an_overlap_failure(tmp_path, stars):
    product, singles = make_stage(tmp_path / "stage", stars, shifted={"ja0101acq": (1.0, 0.0)})
    other = write_product(tmp_path / "other_drz.fits",
                          render(star_field(seed=99, n=300, flux=(60.0, 6000.0)), frame_wcs(), FRAME,
                                 np.random.default_rng(6), NOISE), frame_wcs())
    result = verify_stage(product, singles, "ACS/WFC", reference=other)
    assert result["quality"] == 6 and not result["verified"]


# ---- files, single exposure, bad input ----------------------------------------------------------

def test_json_output(tmp_path, good_stage):
    product, singles = good_stage
    out = tmp_path / "verify" / "stage_verify.json"
    result = verify_stage_files(product, singles, "ACS/WFC", out)
    saved = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert saved["verified"] is result["verified"] is True
    assert saved["reason"] == result["reason"]
    assert saved["metrics"]["exposures"]["ja0101aaq"]["distance"] == pytest.approx(
        result["metrics"]["exposures"]["ja0101aaq"]["distance"])
    assert [p.name for p in out.parent.iterdir()] == [out.name]     # no temporary left


def test_one_exposure_is_not_verified_against_anything(good_stage):
    product, singles = good_stage
    result = verify_stage(product, singles[:1], "ACS/WFC")
    assert result == {"verified": True, "quality": 0, "metrics": {"exposures": {}},
                      "reason": "one exposure: nothing to verify"}


def test_bad_input_names_the_file(tmp_path, good_stage):
    product, singles = good_stage
    missing = str(tmp_path / "jmissingq_single_sci.fits")
    with pytest.raises(InputError, match="jmissingq_single_sci.fits"):
        verify_stage(product, [singles[0], missing], "ACS/WFC")
    with pytest.raises(InputError, match="nothere_drz.fits"):
        verify_stage(str(tmp_path / "nothere_drz.fits"), singles, "ACS/WFC")

    blank = tmp_path / "jblankxxq_single_sci.fits"
    fits.PrimaryHDU(np.full((360, 360), np.nan, np.float32), frame_wcs((360, 360)).to_header()).writeto(blank)
    with pytest.raises(InputError, match="jblankxxq_single_sci.fits.*no data"):
        verify_stage(product, [singles[0], str(blank)], "ACS/WFC")

    elsewhere = tmp_path / "jelsewhrq_single_sci.fits"
    far = frame_wcs((360, 360), crval=(CRVAL[0] + 1.0, CRVAL[1]))
    fits.PrimaryHDU(np.ones((360, 360), np.float32), far.to_header()).writeto(elsewhere)
    with pytest.raises(InputError, match="jelsewhrq_single_sci.fits.*does not overlap"):
        verify_stage(product, [singles[0], str(elsewhere)], "ACS/WFC")

    nan_product = write_product(tmp_path / "nan_drz.fits", np.full(FRAME, np.nan), frame_wcs())
    with pytest.raises(InputError, match="nan_drz.fits"):
        verify_stage(nan_product, singles, "ACS/WFC")


# ---- real data: the ACS/HRC F606W pair drizzled by DrizzlePac -----------------------------------

HRC_PAIR = ("j8bt06nyq_flt.fits", "j8bt06o6q_flt.fits")


def drizzlepac_pair(folder, dec_offset_arcsec=0.0):
    """DrizzlePac's AstroDrizzle (the test-only reference) on the pair; the second exposure's
    WCS moved by ``dec_offset_arcsec`` makes a misaligned stage."""
    astrodrizzle = pytest.importorskip("drizzlepac.astrodrizzle")
    folder.mkdir(parents=True)
    for name in HRC_PAIR:
        shutil.copy(SHARED / "acs_hrc_47tuc" / name, folder / name)
        (folder / name).chmod(0o644)
    with fits.open(folder / HRC_PAIR[1], mode="update") as hdul:
        for hdu in hdul:
            if hdu.name == "SCI":
                hdu.header["CRVAL2"] += dec_offset_arcsec / 3600
    here = os.getcwd()
    os.chdir(folder)     # DrizzlePac writes its static and sky masks into the current directory
    try:
        astrodrizzle.AstroDrizzle(list(HRC_PAIR), output="pair", build=True, clean=False, in_memory=False,
                                  num_cores=1, preserve=False, context=True, runfile="pair.log")
    finally:
        os.chdir(here)
    singles = [str(folder / n.replace("_flt", "_single_sci")) for n in HRC_PAIR]
    return str(folder / "pair_drz.fits"), singles


@pytest.fixture(scope="module")
def hrc_stages(tmp_path_factory):
    if not (SHARED / "acs_hrc_47tuc" / HRC_PAIR[0]).exists():
        pytest.skip("HRC test data not available")
    root = tmp_path_factory.mktemp("hrc")
    return drizzlepac_pair(root / "aligned"), drizzlepac_pair(root / "misaligned", 1.0)


def test_real_hrc_pair(hrc_stages):
    (good, good_singles), (bad, bad_singles) = hrc_stages
    ok = verify_stage(good, good_singles, "ACS/HRC", num_matches=5, reference=bad)
    assert ok["verified"] and ok["quality"] == 0, ok["reason"]
    assert ok["metrics"]["max_distance"] < 0.8
    wrong = verify_stage(bad, bad_singles, "ACS/HRC", num_matches=5, reference=good)
    assert not wrong["verified"] and wrong["quality"] == 3
    assert wrong["metrics"]["max_distance"] > 1.0 and "overlap difference" in wrong["reason"]
    # The focus test fails too: the misaligned pair's CR rejection ate the product's star cores.
    focus = wrong["metrics"]["focus"]
    assert not focus["ok"] and focus["product"] < 0.5 * focus["low"] and "focus" in wrong["reason"]


def test_drizzlepac_h9_overlap_passes_the_misaligned_pair(hrc_stages):
    """Why the distance here is the Hamming distance alone: DrizzlePac's own overlap test
    (min with 2 x similarity) lets the 1" misalignment through."""
    amutils = pytest.importorskip("drizzlepac.haputils.astrometric_utils")
    from drizzlepac.haputils import cell_utils
    from stwcs.wcsutil import HSTWCS

    _, (bad, bad_singles) = hrc_stages
    footprint = cell_utils.SkyFootprint(HSTWCS(bad, ext=("SCI", 1)))
    footprint.build(bad_singles)
    diffs = amutils.max_overlap_diff(footprint.total_mask, bad_singles, bad, scale=1)
    assert amutils.evaluate_overlap_diffs(diffs)[0]
