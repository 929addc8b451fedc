"""HAP's AstroDrizzle parameter sets (snakedrizzle.hap.parsets): selection and values against
DrizzlePac 3.11.0's own tables and selection, SPEC-HAP H5.2 rows, and user overrides."""
import json
import types
from pathlib import Path

import pytest

from snakedrizzle.errors import InputError
from snakedrizzle.hap import parsets as P
from snakedrizzle.workflow.config import normalise

UVIS_PRE, UVIS_POST = 55000.0, 57000.0  # MJDs either side of 2012-11-08


def test_uvis_epoch_constant_is_the_spec_date():
    from astropy.time import Time
    assert P.UVIS_EPOCH_MJD == pytest.approx(Time("2012-11-08T02:59:15", scale="utc").mjd, abs=1e-9)


@pytest.mark.parametrize("inst, det, level, n, kw, expect", [
    # SPEC-HAP H5.2 rows (static, sky, driz_sep, median, driz_cr, final_bits, pixfrac, fill, scale, rb)
    ("acs", "wfc", "filter", 4, {}, dict(static=True, skymethod="match", skystat="median", sky_bits="80",
                                         driz_sep_kernel="square", driz_sep_bits="336", combine_type="minmed",
                                         driz_cr_snr=[3.5, 3.0], driz_cr_scale=[1.5, 1.2], final_bits="336",
                                         final_pixfrac=1.0, final_fillval=None, resetbits="4096")),
    ("acs", "wfc", "filter", 6, {}, dict(combine_type="median", driz_cr_scale=[1.2, 0.7], final_pixfrac=0.8)),
    ("acs", "wfc", "exposure", 3, {}, dict(static=False, skysub=False, driz_separate=False, driz_cr=False,
                                           final_bits="65535", resetbits="0")),
    ("acs", "wfc", "total", 7, {}, dict(static=False, skysub=True, sky_bits="16", driz_separate=False,
                                        median=False, final_bits="336", final_fillval=0.0, resetbits="0")),
    ("acs", "hrc", "filter", 2, {}, dict(sky_bits="64", driz_sep_bits="64", final_bits="64", final_scale=0.025)),
    ("acs", "hrc", "total", 4, {}, dict(final_bits="96", final_scale=None, final_fillval=0.0)),
    ("acs", "hrc", "filter", 1, {}, dict(static=False, skysub=False, driz_cr=False, final_bits="65535",
                                         final_scale=0.025, resetbits="0")),
    ("acs", "sbc", "filter", 3, {"filter_name": "F115LP"}, dict(skysub=True, skystat="mean", sky_bits="0",
                                                               final_bits="0", use_static=False)),
    ("acs", "sbc", "filter", 3, {"filter_name": "f165lp"}, dict(skysub=False, final_bits="0", final_scale=0.025)),
    ("wfc3", "uvis", "filter", 3, {"expstart": UVIS_PRE}, dict(sky_bits="96", driz_sep_bits="352", final_bits="352")),
    ("wfc3", "uvis", "filter", 3, {"expstart": UVIS_POST}, dict(sky_bits="80", final_bits="336")),
    ("wfc3", "uvis", "total", 3, {"expstart": UVIS_PRE}, dict(final_bits="96")),
    ("wfc3", "ir", "filter", 2, {}, dict(driz_sep_kernel="turbo", driz_sep_bits="65535", combine_type="minmed",
                                         driz_cr_snr=[5.0, 4.0], driz_cr_scale=[3.0, 2.4], final_bits="528")),
    ("wfc3", "ir", "filter", 1, {}, dict(static=True, skysub=False, final_bits="528")),
    ("wfpc2", "pc", "filter", 2, {}, dict(skymethod="localmin", sky_bits="1024", driz_sep_scale=0.0996,
                                          driz_cr_snr=[5.5, 3.5], final_bits="61437")),
    ("wfpc2", "pc", "exposure", 3, {}, dict(skysub=False, final_bits="65533", resetbits="0")),
])
def test_spec_rows(inst, det, level, n, kw, expect):
    pars = P.astrodrizzle_pars(inst, det, level, n, **kw)
    assert {k: pars[k] for k in expect} == expect
    assert set(pars) == set(P.ASTRODRIZZLE_NAMES)


def test_pipeline_wfpc2_always_the_n1_set_and_other_detectors_the_svm_filter_set():
    for n in (1, 2, 4, 9):
        assert P.select_set("wfpc2", "pc", "filter", n, "pipeline") == "n1"
    assert P.astrodrizzle_pars("wfpc2", "pc", "filter", 5, "pipeline")["final_bits"] == "65533"
    # without an MDRIZTAB, runastrodriz's stand-in: HAP's filter-level set for the same count
    for n in (1, 2, 6):
        assert (P.select_set("acs", "wfc", "total", n, "pipeline")
                == P.select_set("acs", "wfc", "filter", n, "svm"))
    assert P.astrodrizzle_pars("wfc3", "ir", "filter", 4, "pipeline")["driz_cr_snr"] == [5.0, 4.0]


def test_mvm_layers():
    pars = P.astrodrizzle_pars("acs", "wfc", "layer", 3, "mvm")
    assert (pars["static"], pars["skysub"], pars["sky_bits"], pars["final_bits"]) == (True, True, "80", "80")
    assert (pars["driz_cr"], pars["context"], pars["resetbits"]) == (False, False, "0")
    assert P.astrodrizzle_pars("wfc3", "ir", "filter", 1, "mvm")["final_bits"] == "65535"
    # SBC non-blue n >= 2: HAP's MVM index lacks acs_sbc_any_any, so the plain filter set (with CR).
    assert P.astrodrizzle_pars("acs", "sbc", "filter", 3, "mvm", filter_name="f165lp")["driz_cr"] is True
    with pytest.raises(InputError, match="only filter layers"):
        P.astrodrizzle_pars("acs", "wfc", "total", 3, "mvm")


@pytest.mark.parametrize("args, kw, message", [
    (("acs", "xyz", "filter", 2), {}, "no HAP parameter sets"),
    (("acs", "wfc", "product", 2), {}, "must be one of exposure"),
    (("acs", "wfc", "filter", 0), {}, "at least one exposure"),
    (("acs", "sbc", "filter", 2), {}, "pass filter_name"),
    (("wfc3", "uvis", "filter", 2), {}, "pass expstart"),
    (("acs", "wfc", "filter", 2), {"mode": "hap"}, "must be one of svm"),
])
def test_bad_selection(args, kw, message):
    with pytest.raises(InputError, match=message):
        P.astrodrizzle_pars(*args, **kw)


# ---------------------------------------------------------------- user overrides

def test_override_scopes_and_precedence(tmp_path):
    spec = tmp_path / "my.yaml"
    spec.write_text("final_pixfrac: 0.9\n"
                    "filter:\n  final_pixfrac: 0.8\n  final_bits: 64\n"
                    "acs_wfc:\n  final_pixfrac: 0.7\n  filter: {combine_type: median}\n"
                    "acs_wfc.filter.final_pixfrac: 0.6\n"
                    "acs_hrc.filter.final_pixfrac: 0.5\n")
    wfc_filter = P.astrodrizzle_pars("acs", "wfc", "filter", 3, overrides=spec)
    assert (wfc_filter["final_pixfrac"], wfc_filter["combine_type"], wfc_filter["final_bits"]) == (0.6, "median", "64")
    assert P.astrodrizzle_pars("acs", "wfc", "total", 3, overrides=spec)["final_pixfrac"] == 0.7
    assert P.astrodrizzle_pars("wfc3", "ir", "total", 3, overrides=spec)["final_pixfrac"] == 0.9
    hrc = P.astrodrizzle_pars("acs", "hrc", "filter", 3, overrides=spec)
    assert (hrc["final_pixfrac"], hrc["combine_type"]) == (0.5, "minmed")
    # multi-value spellings become lists; an empty file changes nothing
    assert P.astrodrizzle_pars("acs", "wfc", "filter", 3, overrides={"driz_cr_snr": "4 3"})["driz_cr_snr"] == [4.0, 3.0]
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert P.astrodrizzle_pars("acs", "wfc", "filter", 3, overrides=empty) == P.astrodrizzle_pars("acs", "wfc", "filter", 3)


@pytest.mark.parametrize("overrides, message", [
    ({"filtr.final_pixfrac": 1.0}, "unknown or repeated scope 'filtr'"),
    ({"final_pixfrc": 1.0}, "did you mean final_pixfrac"),
    ({"total": {"final_pixfrac": "big"}}, r"\[total.final_pixfrac\]: final_pixfrac='big': must be a number"),
    ({"acs_hrc.filter.combine_type": "avg"}, "combine_type='avg': must be one of"),
    ({"searchrad": 2.0}, "TweakReg parameter"),
    ({"filter.final_bits": 1, "filter": {"final_bits": 2}}, "given twice"),
    ({"filter.total.final_bits": 1}, "repeated scope 'total'"),
])
def test_override_errors_name_the_entry(overrides, message):
    # checked even when the entry does not apply to this product (ACS/WFC exposure)
    with pytest.raises(InputError, match=message):
        P.astrodrizzle_pars("acs", "wfc", "exposure", 2, overrides=overrides)


def test_override_file_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        P.astrodrizzle_pars("acs", "wfc", "filter", 2, overrides=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- final_pixfrac\n")
    with pytest.raises(InputError, match="must be a mapping"):
        P.astrodrizzle_pars("acs", "wfc", "filter", 2, overrides=bad)


# ---------------------------------------------------------------- DrizzlePac's own tables

def _drizzlepac_astrodrizzle_pars(mode, inst, det, level, n, filter_name, expstart):
    """DrizzlePac's selection (HapConfig._determine_conditions on a stand-in product) and its
    merged, flattened AstroDrizzle set, with HAP's code overrides (SPEC-HAP H5.1)."""
    from drizzlepac.haputils import config_utils as cu

    exposures = [types.SimpleNamespace(filters=filter_name or "f555w", mjdutc=expstart or UVIS_POST)] * max(n, 1)
    prod = types.SimpleNamespace(instrument=inst, detector=det, edp_list=exposures)
    if level == "total":
        prod.fdp_list = []
    if level == "exposure":
        prod = types.SimpleNamespace(instrument=inst, detector=det, is_singleton=(n == 1))
    if mode == "mvm":
        prod.skycell = "p0000x00y00"
        prod.mask_kws = {"MEANNEXP": [n]}
    cfg = cu.HapConfig.__new__(cu.HapConfig)
    cfg.instrument, cfg.detector, cfg.hap_pipeline_name = inst, det, mode
    cfg._determine_conditions(prod)
    index, pars_dir = cu.read_index(inst, det, hap_pipeline_name=mode)
    pars = cu.AstrodrizzlePars(index["astrodrizzle"], cfg.conditions, mode, pars_dir, "astrodrizzle", True, None).outpars
    if mode == "svm" and (level in ("exposure", "total") or n == 1):
        pars["resetbits"] = "0"
    if mode == "mvm":
        pars["context"] = False
    return pars


def _as_ours(pars):
    out = {k: v for k, v in pars.items() if k not in P.HAP_ONLY_NAMES}
    out = normalise({k: (None if v == "" and P.DEFAULTS[k] is None else v) for k, v in out.items()})
    return {k: (str(v) if k in P._BIT_NAMES and isinstance(v, int) else v) for k, v in out.items()}


def _cases():
    filters = {"acs_sbc": ["f115lp", "f165lp"], "wfc3_ir": ["f140w"]}
    for key in P.DETECTORS:
        inst, det = key.split("_")
        for level in P.LEVELS:
            for n in range(1, 9):
                for filt in filters.get(key, [None]):
                    for expstart in ([UVIS_PRE, UVIS_POST] if key == "wfc3_uvis" else [None]):
                        yield "svm", inst, det, level, n, filt, expstart
        for n in range(0, 9):
            for filt in filters.get(key, [None]):
                yield "mvm", inst, det, "filter", n, filt, None


def test_every_set_equals_drizzlepacs():
    pytest.importorskip("drizzlepac")
    checked = 0
    for mode, inst, det, level, n, filt, expstart in _cases():
        ours = P.astrodrizzle_pars(inst, det, level, n, mode, filter_name=filt, expstart=expstart)
        theirs = _as_ours(_drizzlepac_astrodrizzle_pars(mode, inst, det, level, n, filt, expstart))
        # mdriztab is AstroDrizzle's own switch, absent from HAP's tables: HAP never reads MDRIZTAB
        assert ours.pop("mdriztab") is False
        assert set(theirs) == set(ours), (mode, inst, det, level, n)
        for k, v in theirs.items():
            if isinstance(v, float):
                assert ours[k] == pytest.approx(v, rel=1e-7), (mode, inst, det, level, n, k)
            else:
                assert ours[k] == v, (mode, inst, det, level, n, filt, expstart, k, ours[k], v)
        checked += 1
    assert checked == 255  # 6 detectors x levels x n (x filters, epochs), SVM and MVM


def test_hap_only_names_are_all_drizzlepacs_extra_names():
    drizzlepac = pytest.importorskip("drizzlepac")
    root = Path(drizzlepac.__file__).parent / "pars" / "hap_pars" / "svm_parameters" / "any"
    data = json.loads((root / "any_astrodrizzle_filter_hap_basic.json").read_text())
    names = set()
    for value in data.values():
        names |= set(value) if isinstance(value, dict) else set()
    names |= {k for k, v in data.items() if not isinstance(v, dict)}
    assert names - set(P.ASTRODRIZZLE_NAMES) == set(P.HAP_ONLY_NAMES)


def test_data_files_are_inside_the_package():
    # hatchling ships every file under packages=["snakedrizzle"]: the tables must live there.
    for key in P.DETECTORS + ("common",):
        path = P.DATA_DIR / f"{key}.yaml"
        assert path.is_file() and P.DATA_DIR.parent.name == "hap"
