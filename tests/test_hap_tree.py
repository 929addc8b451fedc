"""The SVM product tree (issue 12, SPEC-HAP H2, H3): pollers, exclusions, the tree, HAP names.

Real headers only, nothing is drizzled: the ACS/HRC 47 Tuc set (one visit for HAP, three
filters) and the 16 WFC3/IR headers of the ERS-II field (two associations of direct images and
two of grism exposures). Exclusion rules are exercised on tiny copies: the real primary and
(SCI,1) headers with one keyword edited and a 4x4 SCI array.
"""
import logging
import os
import shutil
import tarfile

import numpy as np
import pytest
from astropy.io import fits

from conftest import SHARED
from snakedrizzle.errors import InputError
from snakedrizzle.hap import names
from snakedrizzle.hap.exclusions import DIRECT, EXCLUDED, GRISM, screen_exposure
from snakedrizzle.hap.poller import read_poller
from snakedrizzle.hap.tree import RAMP, build_visit, visits_of_poller

HRC = SHARED / "acs_hrc_47tuc"
HRC_GLOB = str(HRC / "*_flt.fits")

HRC_PRODUCTS = [   # HAP's build order: filter, its exposures, ..., total
    "hst_9019_06_acs_hrc_f606w_j8bt06_drz.fits",
    "hst_9019_06_acs_hrc_f606w_j8bt06ny_drz.fits",
    "hst_9019_06_acs_hrc_f606w_j8bt06o6_drz.fits",
    "hst_9019_05_acs_hrc_f555w_j8bt05_drz.fits",
    "hst_9019_05_acs_hrc_f555w_j8bt05nj_drz.fits",
    "hst_9019_09_acs_hrc_f330w_j8bt09_drz.fits",
    "hst_9019_09_acs_hrc_f330w_j8bt09jc_drz.fits",
    "hst_9019_06_acs_hrc_total_j8bt06_drz.fits",
]
IR_F098M = ["ib6o21qnq", "ib6o21qqq", "ib6o21r7q", "ib6o21raq"]
IR_F140W = ["ib6o23rtq", "ib6o23rwq", "ib6o23rzq", "ib6o23s2q"]
IR_G102 = ["ib6o21qmq", "ib6o21qoq", "ib6o21r6q", "ib6o21r8q"]
IR_G141 = ["ib6o23rsq", "ib6o23ruq", "ib6o23ryq", "ib6o23s0q"]


@pytest.fixture(scope="module")
def ir_dir(tmp_path_factory):
    """The 16 WFC3/IR FLT files, extracted."""
    folder = tmp_path_factory.mktemp("wfc3ir")
    with tarfile.open(SHARED / "wfc3ir_ers2" / "wfc3-parse-test.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.name.endswith("_flt.fits")]
        for m in members:
            m.name = os.path.basename(m.name)
        tar.extractall(folder, members=members, filter="data")
    assert len(list(folder.glob("*_flt.fits"))) == 16
    return folder


def tiny_copy(src, folder, name=None, sci=1.0, **edits):
    """A small FITS with the real PRIMARY and (SCI,1) headers of `src`, `edits` applied to the
    primary header (None deletes a keyword), and a 4x4 SCI array of value `sci`."""
    primary = fits.getheader(src, 0)
    sci_header = fits.getheader(src, ("SCI", 1))
    for key, value in edits.items():
        if value is None:
            primary.remove(key, ignore_missing=True)
        else:
            primary[key] = value
    for key in ("NAXIS1", "NAXIS2", "BITPIX", "BZERO", "BSCALE"):
        sci_header.remove(key, ignore_missing=True)
    path = os.path.join(folder, name or os.path.basename(src))
    fits.HDUList([fits.PrimaryHDU(header=primary),
                  fits.ImageHDU(np.full((4, 4), sci, np.float32), sci_header, name="SCI")]
                 ).writeto(path, overwrite=True)
    return path


def tree_summary(visit):
    """Everything a DAG reads from a visit, as plain data (for comparing two trees)."""
    return (visit.ipppss, visit.manifest,
            [(p.kind, p.filename, [os.path.basename(e) for e in p.exposures])
             for p in visit.products()])


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("F606W;CLEAR2S", "f606w"), ("CLEAR1L;F814W", "f814w"), ("CLEAR1S;CLEAR2S", "clear"),
    ("POL60V;F606W", "f606w-pol60v"), ("F606W;POL60V", "f606w-pol60v"),
    ("F140LP;N/A;F140LP", "f140lp"), ("F555W;F606W", "f555w-f606w"), ("G102", "g102"),
    ("F555W;", "f555w"),
])
def test_filter_names_follow_hap(raw, expected):
    assert names.filter_name(raw) == expected


def test_instrument_from_rootname_and_clear_errors():
    assert names.instrument_of("j8bt06nyq") == "acs"
    assert names.instrument_of("IB6O21QNQ") == "wfc3"
    assert names.instrument_of("u2mz0101t") == "wfpc2"
    with pytest.raises(InputError, match="'z'.*names no HST instrument"):
        names.instrument_of("z8bt06nyq")
    with pytest.raises(InputError, match="STIS"):
        names.instrument_of("o8bt06nyq")
    assert names.detector_name("wfpc2", "WFPC2") == "pc"


def test_name_patterns():
    base = names.hap_basename("09019", "06", "acs", "HRC", "f606w", "j8bt06ny")
    assert base == "hst_9019_06_acs_hrc_f606w_j8bt06ny"       # proposal id not zero-padded
    assert names.drizzle_filename(base, "flc") == base + "_drc.fits"
    assert names.drizzle_filename(base, "flt") == base + "_drz.fits"
    assert names.input_copy_filename(base, "flc") == base + "_flc.fits"
    assert names.headerlet_filename(base) == base + "_hlet.fits"
    assert names.catalog_filenames("hst_1_01_acs_wfc_total_j8bt01") == (
        "hst_1_01_acs_wfc_total_j8bt01_point-cat.ecsv",
        "hst_1_01_acs_wfc_total_j8bt01_segment-cat.ecsv")
    assert names.manifest_filename("wfc3", "ib4606c5q", "06") == "wfc3_b46_06_manifest.txt"
    assert names.visit_folder("J8BT06") == "results/svm/j8bt06"


# --------------------------------------------------------------------------------------------
# The ACS/HRC visit
# --------------------------------------------------------------------------------------------

def test_hrc_visit_tree_and_names():
    (visit,) = visits_of_poller(HRC_GLOB)
    assert [p.filename for p in visit.products()] == HRC_PRODUCTS
    assert len(visit.exposure_products()) == 4 and len(visit.filter_products()) == 3
    assert len(visit.totals) == 1
    assert visit.manifest == "acs_8bt_06_manifest.txt"
    assert visit.folder == "results/svm/j8bt06"
    assert all(v.use == DIRECT for v in visit.verdicts)
    total = visit.totals[0]
    assert (total.instrument, total.detector, total.level) == ("acs", "hrc", 2)
    assert {p.level for p in visit.exposure_products()} == {1}
    # F555W and F330W have one exposure each while F606W has two: the total leaves them out
    assert total.left_out_filters == ["f555w", "f330w"]
    assert [os.path.basename(p) for p in total.exposures] == ["j8bt06nyq_flt.fits",
                                                             "j8bt06o6q_flt.fits"]
    assert len(total.members) == 4 and total.n_for_parameters == 4
    assert [f.n_for_parameters for f in total.filters] == [2, 1, 1]
    singles = {e.row.rootname: (e.is_singleton, e.crclean) for e in visit.exposure_products()}
    assert singles == {"j8bt06nyq": (False, False), "j8bt06o6q": (False, False),
                       "j8bt05njq": (True, True), "j8bt09jcq": (True, True)}
    # what a DAG asks
    f555w = "hst_9019_05_acs_hrc_f555w_j8bt05"
    assert [os.path.basename(p) for p in visit.exposures_of(f555w + "_drz.fits")] == [
        "j8bt05njq_flt.fits"]
    nyq = str(HRC / "j8bt06nyq_flt.fits")
    assert visit.products_of_exposure(nyq) == [
        "hst_9019_06_acs_hrc_f606w_j8bt06", "hst_9019_06_acs_hrc_f606w_j8bt06ny",
        "hst_9019_06_acs_hrc_total_j8bt06"]
    assert set(visit.needs()) == {name[:-9] for name in HRC_PRODUCTS}
    assert visit.exposure_products()[0].input_copy_filename == (
        "hst_9019_06_acs_hrc_f606w_j8bt06ny_flt.fits")
    assert total.catalog_filenames[0] == "hst_9019_06_acs_hrc_total_j8bt06_point-cat.ecsv"


def test_hrc_order_puts_higher_photflam_first():
    """All four have EXPTIME 60-66 s; only j8bt06nyq has PHOTFLAM > 0, so it comes first
    and names the visit (in file-name order j8bt05njq would)."""
    rows = read_poller(HRC_GLOB)
    assert [r.rootname for r in rows][0] == "j8bt05njq"
    (visit,) = visits_of_poller(HRC_GLOB)
    assert visit.ipppss == "j8bt06"


def test_total_uses_all_singles_when_no_filter_has_more():
    rows = [r for r in read_poller(HRC_GLOB) if r.rootname in ("j8bt05njq", "j8bt09jcq")]
    total = build_visit(rows).totals[0]
    assert total.left_out_filters == []
    assert total.name == "hst_9019_05_acs_hrc_total_j8bt05"
    assert len(total.exposures) == 2


# --------------------------------------------------------------------------------------------
# The WFC3/IR headers: two associations of direct images, two of grisms
# --------------------------------------------------------------------------------------------

def test_ir_poller_from_headers(ir_dir):
    rows = read_poller(str(ir_dir / "*_flt.fits"))
    assert len(rows) == 16
    row = next(r for r in rows if r.rootname == "ib6o21qnq")
    assert (row.proposal_id, row.program_id, row.obset_id) == ("11359", "B6O", "21")
    assert (row.filters, row.detector, row.instrument, row.filter) == ("F098M", "IR", "wfc3",
                                                                       "f098m")
    assert row.exptime == pytest.approx(202.932922)
    assert row.photflam == pytest.approx(6.0652999e-20)      # WFC3/IR: from the primary
    assert row.filetype == "flt"


def test_ir_one_poller_is_one_visit_as_hap(ir_dir, caplog):
    with caplog.at_level(logging.INFO, logger="snakedrizzle"):
        (visit,) = visits_of_poller(str(ir_dir / "*_flt.fits"))
    assert visit.manifest == "wfc3_b6o_21_manifest.txt"
    (total,) = visit.totals
    assert total.filename == "hst_11359_21_wfc3_ir_total_ib6o21_drz.fits"
    assert [f.filename for f in total.filters] == ["hst_11359_21_wfc3_ir_f098m_ib6o21_drz.fits",
                                                   "hst_11359_23_wfc3_ir_f140w_ib6o23_drz.fits"]
    assert len(total.exposures) == 8 and total.left_out_filters == []
    # grisms: kept for the WCS with their reason, in no product
    grism = {v.row.rootname: v for v in visit.verdicts if v.use == GRISM}
    assert sorted(grism) == sorted(IR_G102 + IR_G141)
    assert "grism/prism G102" in grism["ib6o21qmq"].reason and "not drizzled" in \
        grism["ib6o21qmq"].reason
    assert [e.role for e in total.grism] == [GRISM] * 8
    assert total.grism[0].name == "hst_11359_21_wfc3_ir_g102_ib6o21qo"   # 1003 s before 1103 s
    drizzled = {os.path.basename(path) for paths in visit.needs().values() for path in paths}
    assert drizzled == {f"{r}_flt.fits" for r in IR_F098M + IR_F140W}
    assert not any(e.crclean for e in visit.exposure_products())   # IR: no single-image CRs
    # one log line per grism naming the file and why; FGSLOCK=FINE/GYRO warned about, kept
    for root in IR_G102 + IR_G141:
        lines = [r.getMessage() for r in caplog.records if root in r.getMessage()
                 and "WCS reconciliation" in r.getMessage()]
        assert len(lines) == 1 and "not drizzled" in lines[0]
    assert sum("FGSLOCK=FINE/GYRO" in r.getMessage() for r in caplog.records) == 16


def test_ir_two_visits_by_obset(ir_dir):
    visits = visits_of_poller(str(ir_dir / "*_flt.fits"), by_obset=True)
    assert [v.ipppss for v in visits] == ["ib6o21", "ib6o23"]
    assert [v.manifest for v in visits] == ["wfc3_b6o_21_manifest.txt",
                                            "wfc3_b6o_23_manifest.txt"]
    assert [[p.name for p in v.products() if p.kind != "exposure"] for v in visits] == [
        ["hst_11359_21_wfc3_ir_f098m_ib6o21", "hst_11359_21_wfc3_ir_total_ib6o21"],
        ["hst_11359_23_wfc3_ir_f140w_ib6o23", "hst_11359_23_wfc3_ir_total_ib6o23"]]
    assert [[e.row.rootname for e in v.totals[0].grism] for v in visits] == [
        ["ib6o21qoq", "ib6o21r8q", "ib6o21qmq", "ib6o21r6q"],
        ["ib6o23ruq", "ib6o23s0q", "ib6o23rsq", "ib6o23ryq"]]
    assert [e.name for e in visits[1].exposure_products()] == [
        f"hst_11359_23_wfc3_ir_f140w_{r[:8]}" for r in IR_F140W]


def test_grism_only_poller_is_one_clear_error(ir_dir):
    files = [str(ir_dir / f"{r}_flt.fits") for r in IR_G102]
    with pytest.raises(InputError, match="no usable direct exposure.*no direct exposure of "
                                         "WFC3/IR"):
        visits_of_poller(files)


# --------------------------------------------------------------------------------------------
# Poller forms give the same tree
# --------------------------------------------------------------------------------------------

def full_poller_line(path, name=None, folder=None):
    h = fits.getheader(path, 0)
    base = os.path.basename(path)
    return ",".join([name or base, str(h["PROPOSID"]), base[1:4].upper(), base[4:6],
                     str(h["EXPTIME"]), h["FILTER"] if "FILTER" in h else
                     f"{h['FILTER1']};{h['FILTER2']}", h["DETECTOR"], folder or path])


@pytest.mark.parametrize("dataset", ["hrc", "ir"])
def test_poller_forms_give_the_same_tree(dataset, ir_dir, tmp_path):
    folder = HRC if dataset == "hrc" else ir_dir
    files = sorted(str(p) for p in folder.glob("*_flt.fits"))
    full = tmp_path / "full.csv"        # 8 columns; files elsewhere, found through `path`
    full.write_text("\n".join(full_poller_line(p) for p in files) + "\n")
    short = tmp_path / "short.csv"      # one column, names relative to the poller
    short.write_text("# one file a line\n\n" + "\n".join(os.path.relpath(p, tmp_path)
                                                         for p in files) + "\n")
    trees = [tree_summary(v) for spec in (str(folder / "*_flt.fits"), files, str(full),
                                          str(short)) for v in visits_of_poller(spec)]
    assert all(t == trees[0] for t in trees[1:])
    assert len(trees) == 4


def test_eight_column_values_come_from_the_poller(tmp_path):
    src = str(HRC / "j8bt05njq_flt.fits")
    poller = tmp_path / "p.csv"
    poller.write_text(f"j8bt05njq_flt.fits, 09019, 8BT, 05, 60.0, F555W;CLEAR2S, HRC, {HRC}\n")
    (row,) = read_poller(str(poller))
    assert (row.path, row.proposal_id, row.obset_id, row.filter) == (src, "9019", "05", "f555w")


def test_two_column_poller_keeps_the_aperture(tmp_path):
    poller = tmp_path / "p.csv"
    poller.write_text(f"{HRC / 'j8bt05njq_flt.fits'}, PC1-FIX;F160BN15\n")
    assert read_poller(str(poller))[0].aperture == "PC1-FIX;F160BN15"


# --------------------------------------------------------------------------------------------
# Exclusions (H2) on edited copies
# --------------------------------------------------------------------------------------------

HRC_SRC = str(HRC / "j8bt05njq_flt.fits")
IR_SRC_NAME = "ib6o21qnq_flt.fits"


@pytest.mark.parametrize("edits, reason", [
    ({"EXPTIME": 0.0}, "EXPTIME=0: no exposure time"),
    ({"EXPTIME": 5e-6}, "EXPTIME=5e-06: no exposure time"),
    ({"OBSTYPE": "CORONAGRAPHIC"}, "OBSTYPE=CORONAGRAPHIC: not an imaging exposure"),
    ({"DRIZCORR": "OMIT"}, "DRIZCORR=OMIT: not to be drizzled"),
    ({"MTFLAG": "T"}, "MTFLAG=T: moving target"),
    ({"TARGNAME": "DARK-NM"}, "TARGNAME=DARK-NM: a calibration target"),
    ({"TARGNAME": "TUNGSTEN"}, "TARGNAME=TUNGSTEN: a calibration target"),
    ({"FILTER1": "BLOCK3"}, "filter BLOCK3: a blocking filter"),
    ({"FILTER1": "G800L", "EXPTIME": 0.0}, "grism/prism G800L with EXPTIME=0"),
])
def test_excluded_with_reason(edits, reason, tmp_path, caplog):
    path = tiny_copy(HRC_SRC, tmp_path, **edits)
    good = tiny_copy(str(HRC / "j8bt09jcq_flt.fits"), tmp_path)
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        (visit,) = visits_of_poller([path, good])
    verdict = next(v for v in visit.verdicts if v.path == path)
    assert verdict.use == EXCLUDED and verdict.reason.startswith(reason)
    assert visit.needs() == {"hst_9019_09_acs_hrc_f330w_j8bt09": [good],
                             "hst_9019_09_acs_hrc_f330w_j8bt09jc": [good],
                             "hst_9019_09_acs_hrc_total_j8bt09": [good]}
    lines = [r.getMessage() for r in caplog.records if path in r.getMessage()]
    assert lines == [f"{path} excluded: {verdict.reason}"]


def test_wfc3_only_rules(ir_dir, tmp_path):
    src = str(ir_dir / IR_SRC_NAME)
    scan = tiny_copy(src, tmp_path, "ib6o21qaq_flt.fits", SCAN_TYP="C")
    assert screen_exposure(read_poller([scan])[0]).reason == "SCAN_TYP=C: spatial scan"
    uvis = tiny_copy(src, tmp_path, "ib6o21qbq_flt.fits", DETECTOR="UVIS", CHINJECT="LINE10")
    assert screen_exposure(read_poller([uvis])[0]).reason == "CHINJECT=LINE10: charge injection"
    ir_chinject = tiny_copy(src, tmp_path, "ib6o21qcq_flt.fits", CHINJECT="LINE10")
    assert screen_exposure(read_poller([ir_chinject])[0]).use == DIRECT   # IR has no CI


def test_grism_survives_header_rules_in_svm_only(ir_dir, tmp_path):
    src = str(ir_dir / "ib6o21qmq_flt.fits")                 # G102, OBSTYPE=SPECTROSCOPIC
    omitted = tiny_copy(src, tmp_path, DRIZCORR="OMIT")
    row = read_poller([omitted])[0]
    assert screen_exposure(row).use == GRISM
    mvm = screen_exposure(row, mode="mvm")
    assert mvm.use == EXCLUDED and "MVM does not use grism" in mvm.reason


def test_guiding(tmp_path):
    coarse = tiny_copy(HRC_SRC, tmp_path, FGSLOCK="COARSE")
    verdict = screen_exposure(read_poller([coarse])[0])
    assert verdict.use == DIRECT and verdict.warning.startswith("FGSLOCK=COARSE")
    failed = tiny_copy(HRC_SRC, tmp_path, "j8bt05nkq_flt.fits", QUALITY="GSFAIL")
    row = read_poller([failed])[0]
    assert screen_exposure(row).use == DIRECT                 # SVM does not check QUALITY
    asked = screen_exposure(row, verify_guiding=True)
    assert asked.use == EXCLUDED and asked.reason == "QUALITY=GSFAIL: guide-star failure"


def test_all_zero_science_is_excluded(tmp_path):
    zero = tiny_copy(HRC_SRC, tmp_path, sci=0.0)
    row = read_poller([zero])[0]
    assert screen_exposure(row).reason == "every SCI array is all zeros"
    assert screen_exposure(row, check_data=False).use == DIRECT


def test_missing_mtflag_is_no_moving_target():
    """j8bt06nyq has no MTFLAG keyword (DrizzlePac 3.11's analyze_data stops with a KeyError
    on it); a missing MTFLAG means no moving target."""
    assert "MTFLAG" not in fits.getheader(HRC / "j8bt06nyq_flt.fits")
    assert screen_exposure(read_poller([str(HRC / "j8bt06nyq_flt.fits")])[0]).use == DIRECT


# --------------------------------------------------------------------------------------------
# Tree rules: FLC over FLT, ramps
# --------------------------------------------------------------------------------------------

def test_flc_inputs_make_drc_and_drop_the_flt_of_that_filter(tmp_path, caplog):
    flt = tiny_copy(str(HRC / "j8bt06nyq_flt.fits"), tmp_path)
    flc = tiny_copy(str(HRC / "j8bt06o6q_flt.fits"), tmp_path, "j8bt06o6q_flc.fits")
    other = tiny_copy(str(HRC / "j8bt09jcq_flt.fits"), tmp_path)
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        (visit,) = visits_of_poller([flt, flc, other])
    assert [p.filename for p in visit.products()] == [
        "hst_9019_06_acs_hrc_f606w_j8bt06_drc.fits",
        "hst_9019_06_acs_hrc_f606w_j8bt06o6_drc.fits",
        "hst_9019_09_acs_hrc_f330w_j8bt09_drz.fits",
        "hst_9019_09_acs_hrc_f330w_j8bt09jc_drz.fits",
        "hst_9019_06_acs_hrc_total_j8bt06_drc.fits"]
    assert [(row.path, "FLC inputs" in why) for row, why in visit.dropped] == [(flt, True)]
    assert any(flt in r.getMessage() and "joins no product" in r.getMessage()
               for r in caplog.records)


def test_ramp_filter_is_aligned_not_drizzled(tmp_path):
    ramp = tiny_copy(HRC_SRC, tmp_path, FILTER1="FR388N")
    a = tiny_copy(str(HRC / "j8bt06nyq_flt.fits"), tmp_path)
    b = tiny_copy(str(HRC / "j8bt06o6q_flt.fits"), tmp_path)
    (visit,) = visits_of_poller([ramp, a, b])
    total = visit.totals[0]
    assert [e.role for e in total.ramp] == [RAMP]
    assert [f.filter for f in total.filters] == ["f606w"]
    assert ramp not in {p for paths in visit.needs().values() for p in paths}
    assert ramp in [e.path for e in total.alignment_exposures]
    assert total.n_for_parameters == 3 and len(total.exposures) == 2


# --------------------------------------------------------------------------------------------
# Bad pollers: one clear InputError naming the file or line
# --------------------------------------------------------------------------------------------

def write(path, text):
    path.write_text(text)
    return str(path)


def test_bad_pollers(tmp_path):
    good = HRC / "j8bt05njq_flt.fits"
    cases = [
        (write(tmp_path / "empty.csv", "\n# nothing\n"), r"empty\.csv: the poller is empty"),
        (write(tmp_path / "missing.csv", "j8bt05xxq_flt.fits\n"),
         r"missing\.csv line 1: exposure j8bt05xxq_flt\.fits not found"),
        (write(tmp_path / "cols.csv", f"{good},a,b\n"), r"cols\.csv line 1: .*1, 2 or 8.*not 3"),
        (write(tmp_path / "ragged.csv", f"{good}\n{good},x\n"),
         r"ragged\.csv line 2: 2 columns where the poller's first line has 1"),
        (write(tmp_path / "exptime.csv", f"{good.name},9019,8BT,05,long,F555W,HRC,{good}\n"),
         r"exptime\.csv line 1: proposal_id must be an integer and exptime a number"),
        (write(tmp_path / "obset.csv", f"{good.name},9019,8BT,5,60,F555W,HRC,{good}\n"),
         r"obset\.csv line 1: obset_id must be 2 characters"),
        (write(tmp_path / "twice.csv", f"{good}\n{good}\n"), r"twice\.csv line 2: .*listed twice"),
        (str(tmp_path / "absent.csv"), r"absent\.csv: poller file not found"),
        (str(tmp_path / "nothing_*.fits"), r"matches no file"),
    ]
    for spec, message in cases:
        with pytest.raises(InputError, match=message):
            read_poller(spec)


def test_bad_exposure_names(tmp_path):
    unknown = tiny_copy(HRC_SRC, tmp_path, "z8bt05njq_flt.fits", INSTRUME=None)
    with pytest.raises(InputError, match=r"z8bt05njq_flt\.fits.*'z'.*names no HST instrument"):
        read_poller([unknown])
    wrong = tiny_copy(HRC_SRC, tmp_path, "i8bt05njq_flt.fits")
    with pytest.raises(InputError, match="the name says WFC3 but INSTRUME is ACS"):
        read_poller([wrong])
    no_proposal = tiny_copy(HRC_SRC, tmp_path, "j8bt05nlq_flt.fits", PROPOSID=None)
    with pytest.raises(InputError, match=r"j8bt05nlq_flt\.fits: keyword\(s\) PROPOSID missing"):
        read_poller([no_proposal])
    raw = tiny_copy(HRC_SRC, tmp_path, "j8bt05njq_raw.fits")
    with pytest.raises(InputError, match="calibrated '<rootname>_flt.fits'"):
        read_poller([raw])


def test_nothing_usable_is_one_error(tmp_path):
    zero = tiny_copy(HRC_SRC, tmp_path, EXPTIME=0.0)
    dark = tiny_copy(str(HRC / "j8bt09jcq_flt.fits"), tmp_path, TARGNAME="DARK")
    with pytest.raises(InputError, match=r"my\.csv: no usable direct exposure in the visit "
                                         r"\(j8bt05njq: EXPTIME=0.*j8bt09jcq: TARGNAME=DARK"):
        build_visit(read_poller([zero, dark]), source="my.csv")


# --------------------------------------------------------------------------------------------
# Parity with DrizzlePac's poller and tree (no drizzling)
# --------------------------------------------------------------------------------------------

def drizzlepac_names(folder, files, monkeypatch):
    """Product and manifest names DrizzlePac 3.11 builds from a one-column poller in
    `folder` (it copies inputs into the working directory, so run it on copies)."""
    poller_utils = pytest.importorskip("drizzlepac.haputils.poller_utils")
    for f in files:
        shutil.copy(f, folder)
    (folder / "poller.txt").write_text("\n".join(os.path.basename(f) for f in files) + "\n")
    monkeypatch.chdir(folder)
    _, totals = poller_utils.interpret_obset_input("poller.txt", logging.WARNING)
    found = []
    for total in totals:
        for filt in total.fdp_list:
            found.append(filt.drizzle_filename)
            found += [e.drizzle_filename for e in filt.edp_list]
        found.append(total.drizzle_filename)
        found += [g.drizzle_filename for g in total.grism_edp_list]
    return found, totals[0].manifest_name


def our_names(visit):
    """The same list from our tree: per detector filter, its exposures, total, grisms."""
    found = []
    for total in visit.totals:
        for filt in total.filters:
            found += [filt.filename] + [e.filename for e in filt.members]
        found += [total.filename] + [g.filename for g in total.grism]
    return found


@pytest.mark.parametrize("dataset", ["hrc", "ir"])
def test_names_match_drizzlepac(dataset, ir_dir, tmp_path, monkeypatch):
    files = sorted(str(p) for p in (HRC if dataset == "hrc" else ir_dir).glob("*_flt.fits"))
    (visit,) = visits_of_poller(files)
    if dataset == "hrc":     # DrizzlePac needs MTFLAG (KeyError without it)
        copies = [tiny_copy(f, tmp_path, MTFLAG="") for f in files]
        files = copies
    work = tmp_path / "drizzlepac"
    work.mkdir()
    expected, manifest = drizzlepac_names(work, files, monkeypatch)
    assert our_names(visit) == expected
    assert visit.manifest == manifest
