"""HAP product content (SPEC-HAP H8, H3.5 step 10): PHOT* in (SCI,1), HDRTAB's HAPEXPNAME,
trailers (``<product>_trl.txt``, DRIZPARS) and the manifest order with them.

The fast tests check the keyword functions against the real HAP MVM header
(cutouts/sample_mvm_drc.fits) and build real products of a small synthetic ACS/HRC visit with the
library's own stages (meta-WCS, final drizzle, HAP product), named by the SVM plan; one slow
test reads the products of the real HRC visit run by the workflow (conftest ``hrc_svm_run``).
The other HAP keywords are tested in test_hap_metawcs.py."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.hap import files, keywords as K, trailer
from snakedrizzle.hap.plan import SvmPlan

CUTOUTS = Path("/work/shared/data/hst/cutouts")
MVM = CUTOUTS / "sample_mvm_drc.fits"
needs_mvm = pytest.mark.skipif(not MVM.exists(), reason="real HAP sample header not available")


# ---------------------------------------------------------------- against the real HAP header

@needs_mvm
def test_photometry_cards_reproduce_the_real_hap_sci_header():
    with fits.open(MVM) as hdul:
        primary, sci, rows = hdul[0].header, hdul["SCI"].header, hdul["HDRTAB"].data
        inputs = [{k: row[k] for k in K.PHOT_KEYWORDS if k in rows.names} for row in rows]
    cards = K.photometry_cards(inputs)
    assert not any(k in primary for k in K.PHOT_KEYWORDS)      # HAP keeps none in PRIMARY
    assert cards["PHOTMODE"][0] == sci["PHOTMODE"]              # the first input's
    for name in ("PHOTFLAM", "PHOTZPT", "PHOTPLAM", "PHOTBW"):   # the mean over the inputs
        assert cards[name][0] == pytest.approx(sci[name], rel=1e-13), name
    assert "PHOTFNU" not in cards and "PHOTFNU" not in sci      # ACS has none: none written


@needs_mvm
def test_hapexpname_column_rebuilt_as_in_the_real_hap_hdrtab():
    with fits.open(MVM) as hdul:
        real = hdul["HDRTAB"]
        names = {r: n for r, n in zip(real.data["ROOTNAME"], real.data["HAPEXPNAME"])}
        without = fits.BinTableHDU.from_columns([c for c in real.columns if c.name != "HAPEXPNAME"],
                                                name="HDRTAB")
        rebuilt = K.hdrtab_with_hapexpname(without, names)
        assert rebuilt.columns.names == real.columns.names      # HAP appends it last
        assert rebuilt.columns["HAPEXPNAME"].format == real.columns["HAPEXPNAME"].format == "51A"
        assert list(rebuilt.data["HAPEXPNAME"]) == list(real.data["HAPEXPNAME"])
        assert np.array_equal(rebuilt.data["PHOTFLAM"], real.data["PHOTFLAM"])
        # a row whose exposure has no product name is one clear error
        partial = {r: n for r, n in names.items() if r != "j8vo01kfq"}
        with pytest.raises(InputError, match="j8vo01kf"):
            K.hdrtab_with_hapexpname(without, partial, "p_drc.fits")


def test_hapexpname_width_grows_with_long_names():
    table = fits.BinTableHDU.from_columns([fits.Column("ROOTNAME", "9A", array=["j8bt06nyq"])], name="HDRTAB")
    long_name = "hst_" + "x" * 60
    rebuilt = K.hdrtab_with_hapexpname(table, {"j8bt06ny": long_name})
    assert rebuilt.columns["HAPEXPNAME"].format == f"{len(long_name)}A"
    assert rebuilt.data["HAPEXPNAME"][0] == long_name


# ---------------------------------------------------------------- a small visit, built for real

@pytest.fixture(scope="module")
def small_visit(tmp_path_factory):
    """A synthetic ACS/HRC visit of F555W x2 and F814W x2 (64x96 chips), its SVM plan, and the
    AstroDrizzle and HAP products of every level made by the library's stage functions."""
    from snakedrizzle.drizzle.files_final import final_drizzle_stage
    from snakedrizzle.simulate import make_visit
    from snakedrizzle.workflow.params import DEFAULTS

    root = tmp_path_factory.mktemp("hapkw")
    cwd = os.getcwd()
    os.chdir(root)      # the plan's paths are relative to the workflow's directory
    try:
        make_visit("data", "ACS/HRC", {"F555W": 2, "F814W": 2}, chip_shape=(64, 96), n_stars=15,
                   n_galaxies=2, seed=9)
        plan = SvmPlan({"poller": "data/*_flt.fits"})
        (frame_file, (exposures, frame_pars)), = plan.metawcs.items()
        os.makedirs(os.path.dirname(frame_file))
        files.metawcs_stage(exposures, frame_file, **frame_pars)
        sky = root / "sky.json"
        sky.write_text(json.dumps({"mdrizsky": {"1": 0.0}, "subtracted": {"1": 0.0}}))
        for name, product in plan.svm.items():
            pars = dict(DEFAULTS, **{k: v for k, v in plan.products[name].items() if k != "input"})
            os.makedirs(os.path.dirname(product.drizzle_file))
            final_drizzle_stage(product.exposures, None, [str(sky)] * len(product.exposures), {},
                                product.drizzle_file, pars)
            files.hap_product_stage(product.drizzle_file, product.exposures, product.file, product.level,
                                    exposure_names=plan.hapexpnames(name))
    finally:
        os.chdir(cwd)
    return root, plan


def _by_level(plan, level):
    return [p for p in plan.svm.values() if p.level == level]


def _input_phot(path):
    return fits.getheader(path, ("SCI", 1))


def test_phot_keywords_live_in_sci_with_hap_values(small_visit):
    root, plan = small_visit
    for product in plan.svm.values():
        with fits.open(root / product.file) as hap, fits.open(root / product.drizzle_file) as drz:
            assert not any(k in hap[0].header for k in K.PHOT_KEYWORDS), product.name
            sci = hap["SCI"].header
            inputs = [_input_phot(p) for p in product.exposures]
            assert sci["PHOTMODE"] == inputs[0]["PHOTMODE"]
            for name in ("PHOTFLAM", "PHOTPLAM", "PHOTBW", "PHOTZPT"):
                assert sci[name] == pytest.approx(np.mean([h[name] for h in inputs]), rel=1e-12)
            # the pixels are the AstroDrizzle product's, bit for bit
            for ext in ("SCI", "WHT", "CTX"):
                assert hap[ext].data.tobytes() == drz[ext].data.tobytes(), (product.name, ext)
    # a total of two filters carries HAP's mean over both (the AstroDrizzle product has none)
    total, = _by_level(plan, "total")
    with fits.open(root / total.file) as hap, fits.open(root / total.drizzle_file) as drz:
        assert "PHOTFLAM" not in drz["SCI"].header
        flams = {_input_phot(p)["PHOTFLAM"] for p in total.exposures}
        assert len(flams) == 2 and min(flams) < hap["SCI"].header["PHOTFLAM"] < max(flams)


def test_hdrtab_names_each_row_by_its_exposure_product(small_visit):
    root, plan = small_visit
    for product in plan.svm.values():
        with fits.open(root / product.file) as hap, fits.open(root / product.drizzle_file) as drz:
            table, before = hap["HDRTAB"], drz["HDRTAB"]
            assert table.columns.names == before.columns.names + ["HAPEXPNAME"]
            assert int(table.columns["HAPEXPNAME"].format[:-1]) >= 51
            for row in table.data:
                root8 = row["ROOTNAME"][:8]
                expected, = [p.name for p in _by_level(plan, "exposure") if p.name.endswith("_" + root8)]
                assert row["HAPEXPNAME"] == expected
            assert len(table.data) == len(before.data) == len(product.exposures)


def test_drizpars_names_the_trailer_beside_the_product(small_visit):
    root, plan = small_visit
    for product in plan.svm.values():
        primary = fits.getheader(root / product.file, 0)
        assert primary["DRIZPARS"] == os.path.basename(product.trailer) == f"{product.name}_trl.txt"
        assert os.path.dirname(product.trailer) == os.path.dirname(product.file)


def test_phot_keywords_read_from_primary_when_sci_has_none(small_visit, tmp_path):
    """WFC3/IR inputs keep PHOT* in PRIMARY (and the AstroDrizzle product copies the first
    input's PRIMARY): the HAP product still has them in SCI only, with the input's values."""
    root, plan = small_visit
    exposure = _by_level(plan, "exposure")[0]
    ir_like = tmp_path / os.path.basename(exposure.exposures[0])
    with fits.open(exposure.exposures[0]) as hdul:
        for key in K.PHOT_KEYWORDS:
            if key in hdul["SCI", 1].header:
                hdul[0].header[key] = hdul["SCI", 1].header.pop(key)
        hdul[0].header["PHOTFLAM"] = 3.5e-20
        hdul[0].header["PHOTFNU"] = 1.25e-07
        hdul.writeto(ir_like)
    drizzle = tmp_path / "drz.fits"
    with fits.open(root / exposure.drizzle_file) as hdul:
        hdul[0].header["PHOTFLAM"] = (9.9e-20, "first input's, as the product writer copies it")
        hdul.writeto(drizzle)
    out = tmp_path / os.path.basename(exposure.file)
    files.hap_product_stage(str(drizzle), [str(ir_like)], str(out), "exposure")
    with fits.open(out) as hdul:
        assert not any(k in hdul[0].header for k in K.PHOT_KEYWORDS)
        assert hdul["SCI"].header["PHOTFLAM"] == 3.5e-20 and hdul["SCI"].header["PHOTFNU"] == 1.25e-07


def test_manifest_lists_each_trailer_after_its_product(small_visit, tmp_path):
    root, plan = small_visit
    ipppss = plan.visits[0].ipppss
    listed = [os.path.basename(f) for f in plan.manifest_products(ipppss)]
    products = [p.name for p in plan.visit_products(ipppss)]
    assert listed[0::2] == [f"{n}_drz.fits" for n in products]
    assert listed[1::2] == [f"{n}_trl.txt" for n in products]
    # HAP's order: per filter its product then its exposures; the total last
    levels = [plan.svm[n].level for n in products]
    assert levels == ["filter", "exposure", "exposure", "filter", "exposure", "exposure", "total"]
    made = []
    for f in plan.manifest_products(ipppss):
        made.append(tmp_path / os.path.basename(f))
        made[-1].write_text("x")
    files.manifest_stage([str(m) for m in made], tmp_path / "m_manifest.txt")
    assert (tmp_path / "m_manifest.txt").read_text().split() == listed


# ---------------------------------------------------------------- trailers

def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_trailer_joins_stage_logs_in_step_order_and_names_what_is_missing(tmp_path):
    logs = tmp_path / "logs"
    name = "hst_1_01_acs_hrc_f555w_j00001"
    _write(logs / name / "final_drizzle" / "final_drizzle_drz.log", "drizzled\n")
    _write(logs / name / "prepare" / "j00001b1q.log", "prepared b1\n")
    _write(logs / name / "prepare" / "j00001a1q.log", "prepared a1\n")
    _write(logs / name / "sky_pair" / "j00001a1q" / "j00001b1q.log", "pair\n")
    _write(logs / name / "driz_cr" / "j00001a1q_sci1.log", "crs\n")
    _write(logs / name / "static_mask" / "static_mask.log", "static\n")
    _write(logs / name / "final_drizzle" / "final_drizzle_drz.benchmark.tsv", "not a log\n")
    product_log = tmp_path / "logs" / "j00001" / "svm_product" / f"{name}_drz.log"
    _write(product_log, "HAPLEVEL 2\n")
    out = tmp_path / f"{name}_trl.txt"
    summary = {"HAP level": "filter", "parameter set": "acs_hrc svm filter 'filter_n2'",
               "sky": "skymethod=match", "exposures": ["/d/j00001a1q_flt.fits", "/d/j00001b1q_flt.fits"]}
    trailer.trailer_stage(f"{name}_drz.fits", name, str(out), summary,
                          expected=trailer.expected_stages(True), product_log=str(product_log),
                          logs_root=str(logs))
    text = out.read_text()
    order = [text.index(s) for s in ("prepared a1", "prepared b1", "pair", "crs", "drizzled", "HAPLEVEL 2")]
    assert order == sorted(order)
    assert "not a log" not in text
    assert "parameter set: acs_hrc svm filter 'filter_n2'" in text and "exposures (2):" in text
    missing = {line.split()[3] for line in text.splitlines() if line.startswith("# missing: stage")}
    assert missing == {"separate_frame", "driz_separate", "median", "blot"}
    # without CR rejection nothing is missing; a missing product log is said
    trailer.trailer_stage(f"{name}_drz.fits", name, str(out), summary,
                          expected=trailer.expected_stages(False), product_log=str(tmp_path / "none.log"),
                          logs_root=str(logs))
    text = out.read_text()
    assert "# missing: stage" not in text and "no log of the HAP product job" in text


# ---------------------------------------------------------------- the real HRC visit (workflow)

@pytest.mark.slow
def test_real_hrc_visit_products_trailers_and_manifest(hrc_svm_run):
    visit = hrc_svm_run.work / "results" / "svm" / "j8bt06"
    manifest = (visit / "acs_8bt_06_manifest.txt").read_text().split()
    products = [m for m in manifest if m.endswith("_drz.fits")]
    assert len(products) == 8
    exposure_names = {m[:-len("_drz.fits")].rsplit("_", 1)[1]: m[:-len("_drz.fits")]
                      for m in products if len(m.rsplit("_", 1)[0].rsplit("_", 1)[1]) == 8}
    assert sorted(exposure_names) == ["j8bt05nj", "j8bt06ny", "j8bt06o6", "j8bt09jc"]
    for name in products:
        trl = name.replace("_drz.fits", "_trl.txt")
        assert manifest[manifest.index(name) + 1] == trl
        with fits.open(visit / name) as hdul:
            assert hdul[0].header["DRIZPARS"] == trl
            assert "PHOTFLAM" in hdul["SCI"].header and "PHOTFLAM" not in hdul[0].header
            table = hdul["HDRTAB"].data
            assert [exposure_names[r[:8]] for r in table["ROOTNAME"]] == list(table["HAPEXPNAME"])
        text = (visit / trl).read_text()
        assert "==== final_drizzle:" in text and "==== HAP product:" in text
        assert "# missing:" not in text
