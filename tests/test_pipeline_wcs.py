"""runastrodriz's WCS solutions (snakedrizzle.pipeline.wcsnames, snakedrizzle.pipeline.solutions,
snakedrizzle.simulate.apriori; SPEC.md §5.1, SPEC-HAP.md H6.7, H9): WCSTYPE against real archive
headers, the pipeline preference order, what real FLT/FLC files carry (alternates, embedded
headerlets), the a priori choice common to a visit, FIT solutions without SIP dropped, and stage
headerlets read back by aligned_chip_wcs. Real files are only read (sha256 checked)."""
import glob
import shutil

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from stwcs.wcsutil import HSTWCS

from conftest import SHARED, sha256
from snakedrizzle.align.headerlet import aligned_chip_wcs
from snakedrizzle.errors import InputError
from snakedrizzle.pipeline import solutions as S
from snakedrizzle.pipeline.wcsnames import (DEFAULT_RANK, gsc240_name, idctab_root,
                                            preference_rank, wcsname_idc_root, wcstype)
from snakedrizzle.simulate import make_dataset
from snakedrizzle.simulate.apriori import add_solution

CUT = SHARED / "cutouts"
HRC = SHARED / "acs_hrc_47tuc"
REAL = sorted(glob.glob(str(CUT / "sample_*.fits"))) + sorted(glob.glob(str(HRC / "*_flt.fits")))
EXPOSURES = [p for p in REAL if not p.endswith(("_drc.fits", "_drz.fits"))]
UVIS = [str(CUT / "sample_ipppssoot_flc.fits"), str(CUT / "sample_svm_flc.fits")]
IR = [str(CUT / "sample_ipppssoot_flt.fits"), str(CUT / "sample_svm_flt.fits")]


@pytest.fixture(scope="module", autouse=True)
def real_inputs_unchanged():
    before = {p: sha256(p) for p in REAL}
    yield
    assert {p: sha256(p) for p in REAL} == before


def small_visit(outdir, n=3, **kw):
    return make_dataset(outdir, "ACS/HRC", n, chip_shape=(96, 96), n_stars=10, n_galaxies=0,
                        cr_fraction=0.0, **kw).paths


def grid(path, extver, n=9):
    """Pixel grid over the whole detector chip (cut-outs keep full-chip CRPIX)."""
    h = fits.getheader(path, ("SCI", extver))
    nx, ny = max(h["NAXIS1"], 2 * h["CRPIX1"]), max(h["NAXIS2"], 2 * h["CRPIX2"])
    x, y = np.meshgrid(np.linspace(1, nx, n), np.linspace(1, ny, n))
    return np.column_stack([x.ravel(), y.ravel()])


def linear_sip_sky(w, pix):
    """Sky of pixels through CD + SIP only (no lookup tables)."""
    foc = w.sip_pix2foc(pix, 1) + w.wcs.crpix if w.sip is not None else pix
    return w.wcs_pix2world(foc, 1)


# ---- WCSNAME -> WCSTYPE, preference order ----------------------------------------------------

def test_wcstype_reproduces_every_archive_wcstype_card():
    pairs = []
    for path in glob.glob(str(CUT / "sample_*.fits")):
        with fits.open(path) as hdul:
            for hdu in hdul:
                for key in [k for k in hdu.header if k.startswith("WCSTYPE")]:
                    suffix = key[len("WCSTYPE"):]
                    pairs.append((hdu.header.get("WCSNAME" + suffix), hdu.header[key]))
    assert len(pairs) >= 40
    assert [(n, t) for n, t in pairs if wcstype(n) != t] == []
    kinds = {t.split(" solution ")[-1].split(" to ")[0] for _, t in pairs}
    assert {"relatively aligned", "aligned image-by-image", "aligned by visit"} <= kinds
    texts = {t for _, t in pairs}
    assert {"undistorted not aligned", "pipeline default not aligned",
            "undistorted a priori solution based on GSC240",
            "undistorted a priori solution based on HSC30"} <= texts
    assert any(n is None for n, _ in pairs)      # WCSTYPEO without WCSNAMEO: read as OPUS


def test_wcstype_name_families():
    assert wcstype("IDC_abc-FIT_EVM_GAIADR2") == "undistorted a posteriori solution aligned by visit-exposures to GAIADR2"
    assert wcstype("IDC_abc-FIT_MVM_GAIAeDR3") == "undistorted a posteriori solution aligned by multi-visit to GAIAEDR3"
    assert wcstype("OPUS-GSC240") == "pipeline default a priori solution based on GSC240"
    assert wcstype("idc_abc") == "undistorted not aligned"
    assert wcstype("TWEAK_1") == wcstype("hst_xyz-FIT_REL_GAIAeDR3") == "user-defined"
    assert wcstype("") == wcstype(None) == wcstype("  ") == "pipeline default not aligned"
    assert "a posteriori" in wcstype("IDC_abc-FIT")       # DrizzlePac: IndexError


def test_preference_order_and_names_never_picked():
    best_first = ["IDC_n721640fj-FIT_REL_GAIAeDR3", "IDC_n721640fj-FIT_IMG_GAIADR3",
                  "IDC_n721640fj-FIT_REL_GAIADR2", "IDC_n721640fj-FIT_IMG_GAIADR2",
                  "IDC_n721640fj-FIT_REL_GAIADR1", "IDC_n721640fj-FIT_IMG_GAIADR1",
                  "IDC_n721640fj-HSC30", "IDC_n721640fj-GSC240", "IDC_n721640fj"]
    ranks = [preference_rank(n, "n721640fj") for n in best_first]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks) and ranks[-1] == DEFAULT_RANK
    for never in ["IDC_other0fj-GSC240", "IDC_n721640fj-FIT_SVM_GAIAeDR3", "OPUS", "TWEAK",
                  "IDC_n721640fj-GSC240-1", "IDC_n721640fj-FIT_REL_GSC242", None]:
        assert preference_rank(never, "n721640fj") is None, never
    assert preference_rank("IDC_n721640fj", None) is None
    assert gsc240_name("IDC_x", "2018-01-02") == "IDC_x-GSC240"
    assert gsc240_name("IDC_x", "2002-04-13") == gsc240_name("IDC_x-HSC30", "2019-01-01")[:5] == "IDC_x"


@pytest.mark.parametrize("path", EXPOSURES)
def test_idctab_root_is_the_root_of_the_real_wcsnames(path):
    root = idctab_root(fits.getval(path, "IDCTAB"))
    names = {s.wcsname for s in S.solutions(path) if s.wcsname.startswith("IDC_")}
    assert names and {wcsname_idc_root(n) for n in names} == {root}
    assert idctab_root("N/A") is None and idctab_root("/ref/n721640fj_idc.fits") == "n721640fj"


# ---- what real exposures carry ----------------------------------------------------------------

def test_inventory_of_real_uvis_flc():
    usable, dropped = S.inventory(UVIS[0])
    assert dropped == []
    by_origin = {s.origin: s.wcsname for s in usable}
    assert by_origin["primary"] == "IDC_2731450pi-FIT_REL_GAIAeDR3"
    assert {o[-1]: n for o, n in by_origin.items() if o.startswith("alternate")} == {
        "A": "IDC_2731450pi", "B": "IDC_2731450pi-HSC30", "O": "OPUS"}
    heads = [s for s in usable if s.origin.startswith("headerlet")]
    assert len(heads) == 8 and all(sorted(s.chips) == [1, 2] for s in usable)
    assert {s.wcsname for s in heads} >= {"IDC_2731450pi-GSC240", "IDC_2731450pi-FIT_REL_GAIADR2",
                                          "IDC_2731450pi-FIT_SVM_GAIADR2"}
    # SIP: own in headerlets and the primary, shared by -SIP alternates, none for OPUS
    assert all(s.has_sip for s in usable if s.wcsname != "OPUS")
    assert not any(s.has_sip for s in usable if s.wcsname == "OPUS")
    fit = next(s for s in heads if s.wcsname.endswith("FIT_REL_GAIADR2"))
    assert fit.meta["CATALOG"] == "GAIADR2" and fit.meta["NMATCH"] > 100
    default = S.default_solution(UVIS[0])
    assert default.wcsname == "IDC_2731450pi" and default.origin.startswith("headerlet") and not default.note


def test_inventory_of_real_acs_and_hrc_files():
    names = [(s.origin.split()[0], s.wcsname) for s in S.solutions(CUT / "sample_flc_header.fits")]
    assert names[0] == ("primary", "IDC_4bb1536cj-FIT_IMG_GAIAeDR3")
    assert sum(o == "alternate" for o, _ in names) == 4 and sum(o == "headerlet" for o, _ in names) == 5
    hrc = {p.name: [(s.origin, s.wcsname) for s in S.solutions(p)] for p in sorted(HRC.glob("*_flt.fits"))}
    assert hrc.pop("j8bt06nyq_flt.fits") == [("primary", "IDC_n721640fj"), ("alternate O", "OPUS")]
    assert all(v == [("primary", "IDC_n721640fj")] for v in hrc.values())
    d = S.default_solution(HRC / "j8bt06nyq_flt.fits")
    assert (d.origin, d.wcsname, d.note) == ("primary", "IDC_n721640fj", "")


def test_carried_cards_are_the_wcs_stwcs_reads():
    """Each solution's cards against stwcs's own reading: alternates via HSTWCS(wcskey),
    embedded headerlets via their SIPWCS extension (CD + SIP; the cut-outs' NPOL tables were
    cropped, the headerlets' were not)."""
    path = UVIS[1]
    hdul = fits.open(path)
    for s in S.solutions(path):
        for v in s.chips:
            pix = grid(path, v)
            mine = linear_sip_sky(s.chip_wcs(v), pix)
            if s.origin == "primary" or (s.origin.startswith("alternate") and s.has_sip):
                ref = HSTWCS(hdul, ext=("SCI", v), wcskey=s.origin[-1] if s.origin != "primary" else " ")
            elif s.origin.startswith("headerlet"):
                hdu = next(h for h in hdul if h.name == "HDRLET" and f"headerlet {h.header['HDRNAME']}" == s.origin)
                hlet = hdu.headerlet
                sipwcs = next(e for e in hlet if e.name == "SIPWCS" and e.header["TG_EVER"] == v)
                ref = HSTWCS(hlet, ext=("SIPWCS", sipwcs.ver))
            else:
                continue
            assert np.abs(linear_sip_sky(ref, pix) - mine).max() < 1e-9, (s.origin, v)
    hdul.close()


# ---- the a priori choice -----------------------------------------------------------------------

@pytest.mark.parametrize("pair", [UVIS, IR])
def test_apriori_choice_on_real_pairs(pair):
    choice, why = S.apriori_choice(pair)
    assert {p: s.wcsname.split("-")[1] for p, s in choice.items()} == {p: "FIT_REL_GAIAeDR3" for p in pair}
    # one carries it as its primary, the other (an SVM-aligned file) as a headerlet
    assert [s.origin.split()[0] for s in choice.values()] == ["primary", "headerlet"]
    assert "common to all 2 exposures" in why


def test_no_apriori_choice_for_hrc_or_mixed_distortion_models():
    choice, why = S.apriori_choice([HRC / "j8bt06nyq_flt.fits", HRC / "j8bt06o6q_flt.fits"])
    assert choice is None
    assert why == ("no a priori solution common to all exposures: j8bt06nyq: [IDC_n721640fj]; "
                   "j8bt06o6q: [IDC_n721640fj]")
    choice, why = S.apriori_choice([UVIS[0], IR[0]])     # different IDCTABs share no name
    assert choice is None and "IDC_2731450pi-FIT_REL_GAIAeDR3" in why and "IDC_w3m18525i" in why


def test_choice_prefers_gaia_fit_then_hsc_then_gsc_but_only_when_common(tmp_path):
    paths = small_visit(tmp_path)
    for p in paths:
        add_solution(p, "IDC_simulated-GSC240", (0.2, -0.1))
    add_solution(paths[0], "IDC_simulated-HSC30", (0.1, 0.0), as_headerlet=True)
    add_solution(paths[1], "IDC_simulated-HSC30", (0.1, 0.0))
    choice, why = S.apriori_choice(paths)
    assert {s.wcsname for s in choice.values()} == {"IDC_simulated-GSC240"}
    assert "better ones not common to all: IDC_simulated-HSC30" in why
    add_solution(paths[2], "IDC_simulated-HSC30", (0.1, 0.0))
    assert {s.wcsname for s in S.apriori_choice(paths)[0].values()} == {"IDC_simulated-HSC30"}
    shifts = [(0.30, -0.20), (-0.25, 0.10), (0.05, 0.40)]
    for p, shift in zip(paths, shifts):
        add_solution(p, "IDC_simulated-FIT_REL_GAIAeDR3", shift, rotation_deg=0.01, as_headerlet=True)
    choice, _ = S.apriori_choice(paths)
    for (p, s), (east, north) in zip(choice.items(), shifts):
        assert s.wcsname == "IDC_simulated-FIT_REL_GAIAeDR3" and s.origin.startswith("headerlet")
        # the chosen WCS is the truth put in: the mean reference point moved by the shift
        w0 = S.solutions(p)[0].chip_wcs(1)
        sky0 = SkyCoord(*w0.wcs.crval, unit="deg")
        sky1 = SkyCoord(*s.chip_wcs(1).wcs.crval, unit="deg")
        d_east, d_north = sky0.spherical_offsets_to(sky1)
        assert abs(d_east.arcsec - east) < 1e-6 and abs(d_north.arcsec - north) < 1e-6
        pa = [np.degrees(np.arctan2(w.wcs.cd[0, 1], w.wcs.cd[1, 1])) for w in (w0, s.chip_wcs(1))]
        assert pa[1] - pa[0] == pytest.approx(0.01, abs=1e-9)


def test_fit_without_sip_is_dropped(tmp_path):
    paths = small_visit(tmp_path / "tan", n=2, distortion=False)      # pure TAN exposures
    for p in paths:
        add_solution(p, "IDC_simulated-FIT_REL_GAIAeDR3", (0.1, 0.1), as_headerlet=True)
        add_solution(p, "IDC_simulated-FIT_IMG_GAIAeDR3", (0.1, 0.1))
        add_solution(p, "IDC_simulated-GSC240", (0.1, 0.1))
    usable, dropped = S.inventory(paths[0])
    assert sorted(s.wcsname for s, _ in dropped) == ["IDC_simulated-FIT_IMG_GAIAeDR3", "IDC_simulated-FIT_REL_GAIAeDR3"]
    assert all("without SIP" in why for _, why in dropped)
    assert [s.wcsname for s in usable] == ["IDC_simulated", "IDC_simulated-GSC240"]
    assert {s.wcsname for s in S.apriori_choice(paths)[0].values()} == {"IDC_simulated-GSC240"}
    # a real file whose FIT alternate lost its -SIP CTYPE: dropped too, the rest kept
    copy = tmp_path / "sample_svm_flt.fits"
    shutil.copy(IR[1], copy)
    copy.chmod(0o644)
    with fits.open(copy, mode="update") as hdul:
        hdul["SCI", 1].header["CTYPE1C"] = "RA---TAN"
    usable, dropped = S.inventory(copy)
    assert [(s.origin, s.wcsname) for s, _ in dropped] == [("alternate C", "IDC_w3m18525i-FIT_REL_GAIAeDR3")]
    assert len(usable) == len(S.solutions(IR[1])) - 1


def test_default_solution_when_the_primary_is_not_named_idc(tmp_path):
    path = small_visit(tmp_path, n=1)[0]
    assert S.default_solution(path).wcsname == "IDC_simulated"    # IDCTAB N/A: root from WCSNAME
    with fits.open(path, mode="update") as hdul:
        del hdul["SCI", 1].header["WCSNAME"]
    d = S.default_solution(path)
    assert (d.wcsname, d.origin) == ("OPUS", "primary")
    assert "no IDCTAB" in d.note and "only WCS" in d.note and "OPUS" in d.note


# ---- stage headerlets --------------------------------------------------------------------------

def round_trip(path, solution, out, stage="apriori"):
    S.write_stage_headerlet(path, solution, out, stage, fit={"rms_ra": 4.0, "nmatch": 25})
    head = fits.getheader(out)
    assert (head["PIPESTAG"], head["WCSNAME"], head["WCSTYPE"]) == (stage, solution.wcsname, solution.wcstype)
    worst = 0.0
    for v in solution.chips:
        got = aligned_chip_wcs(path, v, out)
        assert (got.sip is not None) == solution.has_sip
        want = S.solution_chip_wcs(path, solution, v)
        pix = grid(path, v)
        worst = max(worst, np.abs(got.all_pix2world(pix, 1) - want.all_pix2world(pix, 1)).max(),
                    np.abs(linear_sip_sky(got, pix) - linear_sip_sky(solution.chip_wcs(v), pix)).max())
    return worst


def test_stage_headerlets_round_trip_real_solutions(tmp_path):
    picks = [(UVIS[1], "primary"), (UVIS[1], "alternate B"), (IR[0], "alternate A"),
             (str(CUT / "sample_flc_header.fits"), "headerlet jbt122x8q_flc_9ec245_hlet.fits"),
             (UVIS[0], "headerlet ib4606c5q_flc_IDC_2731450pi-FIT_REL_GAIADR2-hlet.fits"),
             (str(HRC / "j8bt06nyq_flt.fits"), "primary")]
    for i, (path, origin) in enumerate(picks):
        sol = next(s for s in S.solutions(path) if s.origin == origin)
        assert round_trip(path, sol, tmp_path / f"{i}_hlet.fits") < 1e-9, (path, origin)
    head = fits.getheader(tmp_path / "4_hlet.fits")
    assert head["CATALOG"] == "GAIADR2" and head["RMS_RA"] == 4.0 and head["NMATCH"] == 25


def test_stage_headerlet_carries_its_own_sip(tmp_path):
    path = small_visit(tmp_path, n=1)[0]
    add_solution(path, "IDC_simulated-FIT_REL_GAIAeDR3", (0.5, -0.3), 0.02, as_headerlet=True)
    fit = next(s for s in S.solutions(path) if s.wcsname.endswith("GAIAeDR3"))
    assert round_trip(path, fit, tmp_path / "fit_hlet.fits", "aposteriori") < 1e-9
    # a solution whose SIP differs from the exposure's: the headerlet's SIP replaces it
    own = S.Solution("IDC_simulated-HSC30", "test", {1: fit.chips[1].copy()})
    own.chips[1]["A_2_0"] *= 1.5
    own.chips[1]["CRPIX1"] += 3.0
    assert round_trip(path, own, tmp_path / "own_hlet.fits") < 1e-9
    got = aligned_chip_wcs(path, 1, tmp_path / "own_hlet.fits")
    assert got.sip.a[2, 0] == pytest.approx(own.chips[1]["A_2_0"], rel=1e-12)
    primary = S.solutions(path)[0]
    assert got.sip.a[2, 0] != pytest.approx(primary.chips[1]["A_2_0"], rel=1e-3)


def test_bad_input(tmp_path):
    empty = tmp_path / "empty.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(empty)
    with pytest.raises(InputError, match="no SCI extension"):
        S.solutions(empty)
    with pytest.raises(InputError, match="cannot read"):
        S.solutions(tmp_path / "missing.fits")
    path = str(HRC / "j8bt06nyq_flt.fits")
    with pytest.raises(InputError, match="stage"):
        S.write_stage_headerlet(path, S.default_solution(path), tmp_path / "x.fits", "final")
    assert not (tmp_path / "x.fits").exists()
