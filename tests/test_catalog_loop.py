"""H6.6's loop over reference catalogs (snakedrizzle.hap.align.search, refcat.catalog_list,
vizier): a synthetic ACS/HRC visit 0.29" and 0.01 deg off its headers, a Gaia-like catalog of its
bright stars, and a decoy catalog of as many stars scattered at random over the same field (in
the footprint, nothing to match). Never touches the network (SNAKEDRIZZLE_OFFLINE)."""
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from snakedrizzle.errors import InputError
from snakedrizzle.hap.align import refcat as R
from snakedrizzle.hap.align import stages, vizier
from snakedrizzle.hap.align.pars import alignment_pars, source_pars
from snakedrizzle.simulate import make_dataset
from snakedrizzle.workflow.config import check_config
from truth import write_gaia_like

BRIGHT = 3000.0


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    data = make_dataset(root / "data", "ACS/HRC", 3, chip_shape=(512, 512), n_stars=250, seed=5,
                        pointing_errors=[(10.0, -6.0, 0.01, 1.0)] * 3, dithers=[(0, 0), (0.25, 0.15), (0.5, 0.3)])
    gaia = write_gaia_like(data, root / "gaia.ecsv", BRIGHT)
    decoy = Table.read(gaia)
    rng = np.random.default_rng(3)
    ra, dec = np.asarray(decoy["ra"]), np.asarray(decoy["dec"])
    decoy["ra"] = rng.uniform(ra.min(), ra.max(), len(decoy))      # same field, no star where one is
    decoy["dec"] = rng.uniform(dec.min(), dec.max(), len(decoy))
    decoy.write(root / "decoy.ecsv")
    pars = alignment_pars("acs_hrc")
    sources = []
    for p in data.paths:
        sources.append(str(root / (Path(p).stem + "_src.ecsv")))
        stages.sources_stage(p, sources[-1], source_pars(pars))
    return root, data, pars, sources


def _refcats(root, data, names_files):
    out = []
    for name, path in names_files:
        out.append(str(root / f"{name}_ref.ecsv"))
        stages.refcat_stage(data.paths, out[-1], refcat=str(path) if path else "", catalog_name=name)
    return out


def test_svm_first_catalog_without_matches_falls_to_the_second(visit, tmp_path, monkeypatch):
    """(a) decoy as GAIAeDR3, the right catalog as GSC242: every method fails on the first, the
    second aligns the visit; WCSNAME and the headerlet name GSC242; the fit table says why
    GAIAeDR3 was not used."""
    root, data, pars, sources = visit
    monkeypatch.setenv(R.OFFLINE_ENV, "1")
    files = _refcats(root, data, [("GAIAeDR3", root / "decoy.ecsv"), ("GSC242", root / "gaia.ecsv")])
    table, wcs = str(tmp_path / "fit.ecsv"), str(tmp_path / "wcs.ecsv")
    stages.fit_stage(data.paths, sources, files, table, wcs, pars, ["GAIAeDR3", "GSC242"])
    fit = Table.read(table)
    assert all(fit["aligned"]) and all(fit["quality"] == 1), list(fit["reason"])
    assert set(fit["wcsname"]) == {"IDC_simulated-FIT_SVM_GSC242"} and set(fit["catalog"]) == {"GSC242"}
    tried = fit.meta["tried"]
    first = [t for t in tried if t["catalog"] == "GAIAeDR3"]
    assert [t["method"] for t in first] == ["relative", "2dhist", "default"]
    assert all(not t["used"] and t["quality"] == 5 and t["reason"] for t in first)
    assert [t["catalog"] for t in tried if t["used"]] == ["GSC242"] and fit.meta["catalog"] == "GSC242"
    stages.headerlet_stage(data.paths[0], table, wcs, str(tmp_path / "h.fits"), "GAIAeDR3")
    with fits.open(tmp_path / "h.fits") as hlet:
        assert hlet[0].header["CATALOG"] == "GSC242"
        assert [h for h in hlet if h.name == "SIPWCS"][0].header["WCSNAME"] == "IDC_simulated-FIT_SVM_GSC242"


def test_pipeline_keeps_a_good_fit_when_the_last_catalog_is_empty(visit, tmp_path, monkeypatch):
    """runastrodriz's loop (methods outer): the decoy fails, the right catalog wins, and an empty
    last catalog (2MASS, offline) is skipped instead of discarding the fit (H6.6's quirk)."""
    from snakedrizzle.hap.align.stages import PIPELINE_LABELS

    root, data, pars, sources = visit
    monkeypatch.setenv(R.OFFLINE_ENV, "1")
    names = ["GAIAeDR3", "GSC242", "2MASS"]
    files = _refcats(root, data, [("GAIAeDR3", root / "decoy.ecsv"), ("GSC242", root / "gaia.ecsv"), ("2MASS", "")])
    assert len(Table.read(files[2])) == 0 and "VizieR" in Table.read(files[2]).meta["reason"]
    stages.fit_stage(data.paths, sources, files, str(tmp_path / "fit.ecsv"), str(tmp_path / "wcs.ecsv"), pars,
                     names, label=PIPELINE_LABELS, search="pipeline")
    fit = Table.read(tmp_path / "fit.ecsv")
    assert all(fit["aligned"]) and set(fit["wcsname"]) == {"IDC_simulated-FIT_REL_GSC242"}
    tried = {(t["catalog"], t["method"]): t for t in fit.meta["tried"]}
    assert R.OFFLINE_ENV in tried[("2MASS", "")]["reason"]
    assert tried[("GAIAeDR3", "relative")]["quality"] == 5 and tried[("GSC242", "relative")]["used"]


def test_a_single_refcat_keeps_its_names(visit, tmp_path):
    """(b) one refcat file: the catalog list is that file as GAIAeDR3 (or refcat_name), the SVM
    plan asks for the same file target as before and the fit's params stay a plain name."""
    from snakedrizzle.hap.plan import SvmPlan

    root, data, pars, sources = visit
    assert R.catalog_list(str(root / "gaia.ecsv"), "") == [("GAIAeDR3", str(root / "gaia.ecsv"))]
    assert R.catalog_list(str(root / "gaia.ecsv"), "GAIADR3") == [("GAIADR3", str(root / "gaia.ecsv"))]
    assert R.catalog_list("", "") == [("GAIAeDR3", ""), ("GSC242", ""), ("2MASS", "")]
    plan = SvmPlan({"poller": f"{root / 'data'}/*_flt.fits", "refcat": str(root / "gaia.ecsv"), "refcat_name": ""})
    wc = type("wc", (), {"name": "jsim01", "detkey": "acs_hrc", "refname": "GAIAeDR3"})
    assert plan.align.refcat_of(wc) == ["results/svm/jsim01/align/jsim01_GAIAeDR3_ref_cat.ecsv"]
    assert plan.align.catalog_names() == "GAIAeDR3" and plan.align.user_refcat(wc) == [str(root / "gaia.ecsv")]
    files = _refcats(root, data, [("GAIAeDR3", root / "gaia.ecsv")])
    stages.fit_stage(data.paths, sources, files[0], str(tmp_path / "fit.ecsv"), str(tmp_path / "wcs.ecsv"), pars,
                     "GAIAeDR3")
    fit = Table.read(tmp_path / "fit.ecsv")
    assert set(fit["wcsname"]) == {"IDC_simulated-FIT_SVM_GAIAeDR3"} and fit.meta["method"] == "relative"


@pytest.mark.parametrize("config, match", [
    ({"refcat": ["a.ecsv", "b.ecsv"], "refcat_name": ["GAIAeDR3"]}, r"refcat_name: 1 name\(s\).*for 2 refcat"),
    ({"refcat": ["a.ecsv", "b.ecsv"]}, r"refcat_name: 0 name\(s\)"),
    ({"refcat": "a.ecsv", "refcat_name": "GAIAeDR3,GSC242"}, r"refcat_name: 2 name\(s\)"),
    ({"refcat": ["a.ecsv", "b.ecsv"], "refcat_name": "X,X"}, r"each catalog name once"),
    ({"refcat_name": ["GAIA-eDR3"]}, r"refcat_name=.*letters and digits"),
])
def test_refcat_lists_that_do_not_pair_up_are_one_error(tmp_path, monkeypatch, config, match):
    """(c) before any job: the key and what is wrong, in one line."""
    monkeypatch.chdir(tmp_path)
    for name in ("a.ecsv", "b.ecsv"):
        (tmp_path / name).write_text("ra dec\n1 2\n")
    with pytest.raises(InputError, match=match) as err:
        check_config({"poller": "x/*_flt.fits", **config})
    assert "\n" not in str(err.value)


def test_a_missing_refcat_file_is_one_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.ecsv").write_text("ra dec\n1 2\n")
    with pytest.raises(InputError, match=r"^gone\.ecsv: refcat file not found \(the GSC242"):
        check_config({"runastrodriz": "x_asn.fits", "refcat": ["a.ecsv", "gone.ecsv"],
                      "refcat_name": ["GAIAeDR3", "GSC242"]})
    with pytest.raises(InputError, match=r"one file here"):   # TweakReg takes one catalog
        check_config({"input": "x/*_flt.fits", "refcat": ["a.ecsv", "a.ecsv"]})
    assert check_config({"poller": "x/*_flt.fits", "refcat": "a.ecsv"})["refcat"] == "a.ecsv"


def _gsc_vizier():
    """Three GSC 2.4.2 rows as VizieR I/353/gsc242 answers: the third without proper motion."""
    t = Table()
    t["GSC2"] = ["S0001", "S0002", "S0003"]
    t["RA_ICRS"] = [10.0, 10.01, 10.02]
    t["DE_ICRS"] = [-30.0, -30.01, -30.02]
    t["e_RA_ICRS"] = [0.5, 0.7, 40.0]
    t["e_RA_ICRS"].unit = "mas"
    t["e_DE_ICRS"] = [0.4, 0.6, 30.0]
    t["e_DE_ICRS"].unit = "mas"
    t["pmRA"] = MaskedColumn([20.0, -5.0, 0.0], mask=[False, False, True], unit="mas/yr")
    t["pmDE"] = MaskedColumn([-10.0, 3.0, 0.0], mask=[False, False, True], unit="mas/yr")
    t["Epoch"] = [2016.0, 2016.0, 1991.25]
    t["Gmag"] = [15.0, 16.0, 17.5]
    return t


def test_vizier_gsc242_rows_become_the_one_form_with_their_epochs():
    """(d) GSC242: each row at its own epoch, no proper motion -> 0 (kept, not dropped), errors
    in mas; propagating to 2021.0 moves the first star by its proper motion times 5 years."""
    out = vizier.normalise_vizier(_gsc_vizier(), "GSC242")
    assert set(R.COLUMNS) <= set(out.colnames) and len(out) == 3
    assert list(out["ref_epoch"]) == [2016.0, 2016.0, 1991.25]
    assert list(out["pmra"]) == [20.0, -5.0, 0.0] and list(out["pmdec"]) == [-10.0, 3.0, 0.0]
    assert list(out["RA_error"]) == [0.5, 0.7, 40.0] and list(out["objID"]) == ["S0001", "S0002", "S0003"]
    ra, dec = R.propagate(out, 2021.0)
    assert (dec[0] - (-30.0)) * 3.6e6 == pytest.approx(-50.0, abs=1e-6)
    assert (ra[0] - 10.0) * np.cos(np.deg2rad(-30.0)) * 3.6e6 == pytest.approx(100.0, abs=1e-3)
    assert (ra[2], dec[2]) == (10.02, -30.02)


def test_vizier_2mass_epoch_is_the_observation_date(tmp_path):
    """(d) 2MASS (VizieR II/246/out): JD -> decimal year, no proper motion, error ellipse axes
    (arcsec) -> mas; the same table saved as a local refcat file reads the same way."""
    t = Table({"2MASS": ["00400000-3000000", "00400240-3000360"], "RAJ2000": [10.0, 10.01],
               "DEJ2000": [-30.0, -30.01], "errMaj": [0.06, 0.08], "errMin": [0.05, 0.07],
               "Jmag": [12.1, 13.4], "JD": [2451544.5, 2451179.5]})   # 2000-01-01.0, 1999-01-01.0
    out = vizier.normalise_vizier(t, "2MASS")
    assert out["ref_epoch"] == pytest.approx([2000.0, 1999.0], abs=1e-6)
    assert list(out["pmra"]) == [0.0, 0.0] and list(out["RA_error"]) == pytest.approx([60.0, 80.0])
    t.write(tmp_path / "twomass.ecsv")
    local = R.from_file(str(tmp_path / "twomass.ecsv"), (10.005, -30.005, 0.1), "2MASS")
    assert local["ref_epoch"] == pytest.approx([2000.0, 1999.0], abs=1e-6) and local.meta["catalog"] == "2MASS"


def test_offline_services_are_never_asked(visit, tmp_path, monkeypatch):
    """GSC242 and 2MASS go to VizieR, any other name to the Gaia archive; with OFFLINE_ENV set
    neither client is called and the catalog is empty with the reason."""
    root, data, _, _ = visit
    monkeypatch.setenv(R.OFFLINE_ENV, "1")

    def boom(*args, **kwargs):
        raise AssertionError("network asked")

    monkeypatch.setattr(vizier, "query", boom)
    monkeypatch.setattr(R, "_query", boom)
    for name, service in (("GSC242", "VizieR I/353/gsc242"), ("2MASS", "VizieR II/246/out"),
                          ("GAIAeDR3", "Gaia archive")):
        stages.refcat_stage(data.paths, str(tmp_path / f"{name}.ecsv"), catalog_name=name)
        table = Table.read(tmp_path / f"{name}.ecsv")
        assert len(table) == 0 and table.meta["reason"].startswith(f"{service} not asked for {name}")
