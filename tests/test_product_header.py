"""The product header: every stage's parameters reach it through the intermediates (issue 11
item 12), and exposures of several filters are said to be so (item 10). The file stages are
called directly, as the rules call them, on a small simulated set."""
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from snakedrizzle.drizzle import files, files_cr, files_final, provenance
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.simulate import make_dataset
from snakedrizzle.workflow import params

# Not the defaults, so that a value in the product can only have come from its own stage.
OVERRIDES = {"static_sig": 3.5, "skymethod": "globalmin", "combine_type": "imedian",
             "driz_cr_snr": [4.0, 3.5], "blot_interp": "linear", "driz_sep_pixfrac": 0.9,
             "final_pixfrac": 0.8}
CR_CHAIN = ("prepare", "static", "sky", "separate_frame", "driz_separate", "median", "blot", "driz_cr",
            "final_drizzle")


def _pars(stage, **extra):
    return params.stage_params(stage, {**OVERRIDES, **extra})


def _run(paths, out, cr=True, **extra):
    """The stages of the workflow for ``paths`` into folder ``out``; returns the product path."""
    out.mkdir(exist_ok=True)
    roots = [read_exposure(p).rootname for p in paths]
    stats = [str(out / f"{r}_skystats.json") for r in roots]
    statics = [str(out / f"{r}_static.fits") for r in roots]
    for p, st, sm in zip(paths, stats, statics):
        files.prepare_stage(p, sm, st, _pars("prepare", **extra))
    files.combine_static_stage(paths, statics, str(out / "static.fits"), _pars("static", **extra))
    skies = [str(out / f"{r}_sky.json") for r in roots]
    for k, (p, sky) in enumerate(zip(paths, skies)):
        files.sky_stage(p, [stats[k]] + stats[:k] + stats[k + 1:], sky, _pars("sky", **extra))
    crmasks = _cr_masks(paths, roots, statics, skies, out, extra) if cr else {}
    product = str(out / "prod_drz.fits")
    files_final.final_drizzle_stage(paths, str(out / "static.fits"), skies, crmasks, product,
                              _pars("final_drizzle", **extra))
    return product


def _cr_masks(paths, roots, statics, skies, out, extra):
    frame = str(out / "sep_frame.fits")
    files.separate_frame_stage(paths, frame, _pars("separate_frame", **extra))
    scis = [str(out / f"{r}_single_sci.fits") for r in roots]
    whts = [str(out / f"{r}_single_wht.fits") for r in roots]
    for args in zip(paths, statics, skies, scis, whts):
        p, sm, sky, sci, wht = args
        files.single_drizzle_stage(p, sm, sky, frame, sci, wht, _pars("driz_separate", **extra))
    median = str(out / "med.fits")
    files_cr.median_stage(paths, scis, whts, skies, median, _pars("median", **extra))
    crmasks = {}
    for p, root, sky in zip(paths, roots, skies):
        for ver in read_exposure(p).chips:
            blot, mask = str(out / f"{root}_sci{ver}_blt.fits"), str(out / f"{root}_sci{ver}_crmask.fits")
            files_cr.blot_stage(p, ver, median, sky, blot, _pars("blot", **extra))
            files_cr.driz_cr_stage(p, ver, blot, sky, mask, _pars("driz_cr", **extra))
            crmasks[(root, ver)] = mask
    return crmasks


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("prov"), "ACS/WFC", 2, seed=5, chip_shape=(64, 128),
                        n_stars=30, n_galaxies=0).paths


@pytest.fixture(scope="module")
def product(small, tmp_path_factory):
    return _run(small, tmp_path_factory.mktemp("run"))


def test_every_stage_of_the_chain_reaches_the_product_header(product):
    history = [str(h) for h in fits.getheader(product)["HISTORY"]]
    for line in ("param driz_cr_snr = [4.0, 3.5]", "param combine_type = 'imedian'",
                 "param skymethod = 'globalmin'", "param static_sig = 3.5", "param blot_interp = 'linear'",
                 "param driz_sep_pixfrac = 0.9", "param final_pixfrac = 0.8", "param driz_sep_scale = None"):
        assert line in history, line
    assert [h for h in history if h.startswith("stage ")] == [
        f"stage {s}: {len(params.STAGES[s])} parameters" for s in sorted(CR_CHAIN)]


def test_the_product_record_holds_each_stage_with_all_its_parameters(product):
    record = json.loads(fits.getheader(product)[provenance.KEYWORD])
    assert set(record) == set(CR_CHAIN)
    for stage in CR_CHAIN:
        assert record[stage] == json.loads(json.dumps(_pars(stage))), stage


def test_intermediates_carry_their_own_stage_and_what_they_read(product):
    out = Path(product).parent
    assert set(provenance.read(next(out.glob("*_skystats.json")))) == {"prepare"}
    assert set(provenance.read(out / "sep_frame.fits")) == {"separate_frame"}
    assert set(provenance.read(out / "med.fits")) == {"prepare", "sky", "separate_frame", "driz_separate",
                                                      "median"}
    mask = next(out.glob("*_crmask.fits"))
    assert set(provenance.read(mask)) == set(CR_CHAIN) - {"static", "final_drizzle"}
    assert fits.getdata(mask).dtype == np.uint8  # the mask itself is what it was


def test_without_cr_rejection_only_the_stages_that_ran_are_recorded(small, tmp_path):
    record = json.loads(fits.getheader(_run(small, tmp_path, cr=False))[provenance.KEYWORD])
    assert set(record) == {"prepare", "static", "sky", "final_drizzle"}


def test_an_intermediate_made_with_other_parameters_is_reported(product, small, tmp_path, caplog):
    """A CR mask left from a run with another driz_cr_snr: the product records both values."""
    out = tmp_path / "mixed"
    shutil.copytree(Path(product).parent, out)
    root = read_exposure(small[0]).rootname
    files_cr.driz_cr_stage(small[0], 1, str(out / f"{root}_sci1_blt.fits"), str(out / f"{root}_sky.json"),
                        str(out / f"{root}_sci1_crmask.fits"), _pars("driz_cr", driz_cr_snr=[5.0, 4.0]))
    crmasks = {p.name: str(p) for p in out.glob("*_crmask.fits")}
    crmasks = {(n.split("_sci")[0], int(n.split("_sci")[1][0])): p for n, p in crmasks.items()}
    skies = [str(out / f"{read_exposure(p).rootname}_sky.json") for p in small]
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        files_final.final_drizzle_stage(small, str(out / "static.fits"), skies, crmasks, str(out / "p.fits"),
                                  _pars("final_drizzle"))
    history = "".join(str(h) for h in fits.getheader(out / "p.fits")["HISTORY"])  # long lines span cards
    assert "param driz_cr_snr = [4.0, 3.5] or [5.0, 4.0] (stage driz_cr; DIFFERS)" in history
    assert "param final_pixfrac = 0.8" in history  # what agrees is recorded once, as before
    assert ("parameter driz_cr_snr differs between the intermediates of this product: "
            "[4.0, 3.5] or [5.0, 4.0] (stage driz_cr)") in caplog.text


# ---- several filters ---------------------------------------------------------------------------

def _with_filters(paths, folder, keyword, names):
    """Writable copies of ``paths`` with ``keyword`` set to ``names`` (inputs stay untouched)."""
    folder.mkdir()
    copies = []
    for path, name in zip(paths, names):
        copy = folder / os.path.basename(path)
        shutil.copy(path, copy)
        copy.chmod(0o644)
        with fits.open(copy, mode="update") as hdul:
            hdul[0].header[keyword] = name
        copies.append(str(copy))
    return copies


@pytest.mark.parametrize("instrument, keyword, untouched", [("ACS/WFC", "FILTER1", ("FILTER2", "CLEAR2L")),
                                                            ("WFC3/IR", "FILTER", None)])
def test_exposures_of_several_filters_are_combined_and_said_to_be(tmp_path, caplog, instrument, keyword, untouched):
    data = make_dataset(tmp_path / "in", instrument, 3, seed=4, chip_shape=(64, 128), n_stars=20, n_galaxies=0)
    paths = _with_filters(data.paths, tmp_path / "mixed", keyword, ["F555W", "F814W", "F555W"])
    roots = [read_exposure(p).rootname for p in paths]
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        product = _run(paths, tmp_path / "out", cr=False)
    assert (f"exposures of 2 filters combined into one product: F555W: {roots[0]}, {roots[2]}; "
            f"F814W: {roots[1]}") in caplog.text
    primary, sci = fits.getheader(product, 0), fits.getheader(product, "SCI")
    assert primary[keyword] == "MULTI" and primary["FILTERS"] == "F555W,F814W" and primary["NFILTERS"] == 2
    if untouched:  # the same in every exposure, so still true of the product
        assert primary[untouched[0]] == untouched[1]
    history = [str(h) for h in primary["HISTORY"]]
    assert f"filter F555W: {roots[0]}, {roots[2]}" in history
    for key in ("PHOTFLAM", "PHOTPLAM", "PHOTBW"):
        assert key not in sci and key not in primary
    assert sci["PHOTZPT"] == -21.1  # the STMAG zero point holds for every filter
    assert np.count_nonzero(fits.getdata(product, "WHT")) > 0.5 * fits.getdata(product, "WHT").size  # combined


def test_one_filter_keeps_its_keywords_and_photometry(small, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        product = _run(small, tmp_path, cr=False)
    primary, sci = fits.getheader(product, 0), fits.getheader(product, "SCI")
    assert primary["FILTER1"] == "F606W" and "FILTERS" not in primary
    assert sci["PHOTFLAM"] == pytest.approx(7.73e-20)
    assert "filters combined" not in caplog.text


def test_parameters_of_borrowed_intermediates_are_recorded_not_warned(caplog):
    """A total's CR masks come from its filter products, made with their own parameters: the
    difference is in HISTORY, marked, but only the product's own stages disagreeing is a warning."""
    own = {"final_drizzle": {"resetbits": 0}, "prepare": {"resetbits": 0}}
    rec = {**own, **provenance.borrowed({"driz_cr": {"resetbits": 4096}}, "hst_1_01_acs_wfc_f606w_j1")}
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        lines = provenance.history(rec)
    assert not caplog.records
    assert "param resetbits = 4096 (stage driz_cr (hst_1_01_acs_wfc_f606w_j1); DIFFERS)" in lines
    own["prepare"]["resetbits"] = 4096
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        provenance.history({**own, **provenance.borrowed({"driz_cr": {"resetbits": 4096}}, "x")})
    assert any("resetbits differs" in r.getMessage() for r in caplog.records)
