"""AstroDrizzle's global parameters wcskey, group, mdriztab, proc_unit and in_memory (SPEC §1.1):
what each selects, that each reaches exactly the stages that use it, and (slow) DrizzlePac side
by side on the same files."""
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits
from stwcs.wcsutil import HSTWCS, altwcs

from conftest import planned_jobs, snakemake
from parity import frame_differences, sci_agreement
from snakedrizzle import wcs as W
from snakedrizzle.drizzle.files_cr import threshold_scale
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.workflow import config as sdconfig, dag, mdriztab, params as sdparams

FILTERS = "F606W,CLEAR2L"  # what the simulated ACS/WFC exposures carry in FILTER1,FILTER2


def writable_copies(paths, folder):
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in paths:
        dst = folder / os.path.basename(p)
        shutil.copy(p, dst)
        dst.chmod(0o644)
        out.append(dst)
    return out


def with_alternate_wcs(paths, folder, shift_deg=2e-5, name="SHIFTED"):
    """Copies whose WCS 'A' (WCSNAME ``name``) is the primary moved by ``shift_deg`` in RA."""
    copies = writable_copies(paths, folder)
    for path in copies:
        extensions = [("SCI", h.ver) for h in fits.open(path) if h.name == "SCI"]
        altwcs.archive_wcs(str(path), extensions, wcskey="A", wcsname=name)
        with fits.open(path, mode="update") as hdul:
            for ext in extensions:
                hdul[ext].header["CRVAL1A"] += shift_deg
    return copies


# ---- wcskey -----------------------------------------------------------------------------------

def test_wcskey_reads_the_alternate_wcs_as_drizzlepac_restores_it(small_set, tmp_path):
    path = with_alternate_wcs(sorted(small_set["inputs"].iterdir())[:1], tmp_path / "alt")[0]
    restored = writable_copies([path], tmp_path / "restored")[0]
    altwcs.restoreWCS(str(restored), [("SCI", 1), ("SCI", 2)], wcskey="A")
    pixels = np.random.default_rng(0).uniform(0, 256, (100, 2))
    for ver in (1, 2):
        with fits.open(restored) as hdul:
            expected = HSTWCS(hdul, ext=("SCI", ver))
        for key in ("A", "a", "SHIFTED"):
            ours = W.chip_wcs(str(path), ver, wcskey=key)
            assert np.array_equal(ours.all_pix2world(pixels, 1), expected.all_pix2world(pixels, 1))
            assert ours.wcs.name == "SHIFTED"
        primary = W.chip_wcs(str(path), ver)
        assert not np.allclose(primary.wcs.crval, expected.wcs.crval, rtol=0, atol=1e-6)


def test_missing_alternate_wcs_names_file_and_extension(good_file):
    for key, words in (("B", "no alternate WCS with key 'B'"), ("NOT_THERE", "no WCS named 'NOT_THERE'")):
        with pytest.raises(InputError) as err:
            W.chip_wcs(str(good_file), 2, wcskey=key)
        assert str(good_file) in str(err.value) and "SCI,2" in str(err.value) and words in str(err.value)


def test_wcskey_with_align_is_refused():
    config = sdconfig.check_config({"input": "x_flt.fits", "wcskey": "A", "align": True})
    with pytest.raises(InputError, match="wcskey='A' with align=true"):
        dag.Plan(config).params("final")


# ---- group ------------------------------------------------------------------------------------

def test_group_selects_chips_by_extension_number_as_drizzlepac(good_file):
    assert read_exposure(good_file).chips == (1, 2)
    assert read_exposure(good_file, group="1").chips == (1,)
    assert read_exposure(good_file, group=4).chips == (2,)  # HDU 4 is SCI,2 of an ACS/WFC file
    assert read_exposure(good_file, group="4,1").chips == (1, 2)  # file order kept
    assert read_exposure(good_file, group="sci,2").chips == (2,)
    assert read_exposure(good_file, group="4").shapes == (read_exposure(good_file).shapes[1],)
    for group, words in (("2", "ERR,1, not a SCI"), ("9", "extension 9 does not exist"),
                         ("sci,3", "no extension SCI,3"), ("one", "expected extension numbers")):
        with pytest.raises(InputError, match=words):
            read_exposure(good_file, group=group)


# ---- mdriztab ---------------------------------------------------------------------------------

def write_mdriztab(path, rows):
    """A small MDRIZTAB: FILTER, NUMIMAGES and a few parameter columns in DrizzlePac's formats."""
    names = [r[0] for r in rows]
    cols = [fits.Column("filter", "16A", array=names),
            fits.Column("numimages", "1J", array=[r[1] for r in rows]),
            fits.Column("final_pixfrac", "1E", array=[r[2] for r in rows]),
            fits.Column("combine_type", "12A", array=[r[3] for r in rows]),
            fits.Column("driz_cr_snr", "12A", array=[r[4] for r in rows]),
            fits.Column("subsky", "1L", array=[True] * len(rows)),
            fits.Column("combine_hthresh", "1E", array=[np.nan] * len(rows)),
            fits.Column("combine_nhigh", "1J", array=[-2147483647] * len(rows)),
            fits.Column("runfile", "16A", array=["astrodrizzle.log"] * len(rows))]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    return path


ROWS = [("ANY", 1, 1.0, "median", "3.5 3.0"),
        (FILTERS, 1, 0.9, "median", "3.5 3.0"),
        (FILTERS, 3, 0.8, "imedian", "4.0 3.0"),
        (FILTERS, 2, 0.7, "minmed", "5.0 4.0"),   # after the 3-image row: table order decides
        (FILTERS, 6, 0.6, "median", "6.0 5.0"),
        ("F814W", 1, 0.5, "median", "3.5 3.0")]


def test_mdriztab_row_is_the_last_with_numimages_at_most_the_inputs(tmp_path):
    table = fits.getdata(write_mdriztab(tmp_path / "t_mdz.fits", ROWS), 1)
    assert mdriztab.select_row(table, FILTERS, 1) == 1
    assert mdriztab.select_row(table, FILTERS, 2) == 3
    assert mdriztab.select_row(table, FILTERS, 3) == 3   # row 4 (numimages 2) comes after row 3
    assert mdriztab.select_row(table, FILTERS, 7) == 4
    assert mdriztab.select_row(table, "F435W,CLEAR2L", 5) == 0  # no row for it: ANY
    with pytest.raises(InputError, match="no row for filter 'F814W'"):
        mdriztab.select_row(table, "F814W", 0)


def test_mdriztab_header_keyword_resolved_through_the_environment(good_file, tmp_path, monkeypatch):
    write_mdriztab(tmp_path / "t_mdz.fits", ROWS)
    with fits.open(good_file, mode="update") as hdul:
        hdul[0].header["MDRIZTAB"] = "jref$t_mdz.fits"
    monkeypatch.delenv("jref", raising=False)
    with pytest.raises(InputError, match="environment variable 'jref'"):
        mdriztab.table_path(True, str(good_file))
    monkeypatch.setenv("jref", str(tmp_path))
    path, row, values = mdriztab.table_parameters(True, [str(good_file)] * 3)
    assert path == str(tmp_path / "t_mdz.fits") and row == 4
    assert values["final_pixfrac"] == pytest.approx(0.7) and values["combine_type"] == "minmed"
    assert values["skysub"] is True and values["combine_hthresh"] is None and values["combine_nhigh"] is None
    assert "runfile" not in values and "filter" not in values
    # a path given in the config needs no keyword
    assert mdriztab.table_parameters(str(tmp_path / "t_mdz.fits"), [str(good_file)])[1] == 2


def test_mdriztab_values_replace_defaults_and_user_settings_win(small_set, tmp_path):
    table = write_mdriztab(tmp_path / "t_mdz.fits", ROWS)
    inputs = f"{small_set['inputs']}/*_flt.fits"  # three exposures: row 4
    plain = dag.Plan(sdconfig.check_config({"input": inputs, "output": "x", "mdriztab": str(table)}))
    p = plain.params("x")
    assert (p["final_pixfrac"], p["combine_type"], p["driz_cr_snr"]) == (pytest.approx(0.7), "minmed", [5.0, 4.0])
    assert sdparams.stage_params("final_drizzle", p)["final_pixfrac"] == pytest.approx(0.7)
    user = dag.Plan(sdconfig.check_config({"input": inputs, "output": "x", "mdriztab": str(table),
                                           "final_pixfrac": 0.5}))
    assert user.params("x")["final_pixfrac"] == 0.5 and user.params("x")["combine_type"] == "minmed"
    # a product's own override wins even where it equals the default
    prod = dag.Plan(sdconfig.check_config({"mdriztab": str(table), "products": [
        {"input": inputs, "output": "y", "combine_type": "minmed", "final_pixfrac": 1.0}]}))
    assert prod.params("y")["final_pixfrac"] == 1.0


def test_mdriztab_bad_value_names_the_table_row(small_set, tmp_path):
    table = write_mdriztab(tmp_path / "t_mdz.fits", [("ANY", 1, 1.0, "average", "3.5 3.0")])
    plan = dag.Plan(sdconfig.check_config({"input": f"{small_set['inputs']}/*_flt.fits", "output": "x",
                                           "mdriztab": str(table)}))
    with pytest.raises(InputError, match=r"t_mdz.fits row 1.*combine_type='average'"):
        plan.params("x")


# ---- proc_unit, in_memory: where they reach ---------------------------------------------------

def test_proc_unit_converts_thresholds_of_per_second_data_only(tmp_path):
    from snakedrizzle.simulate import make_dataset

    ir = read_exposure(make_dataset(tmp_path / "ir", "WFC3/IR", 1, seed=2, chip_shape=(64, 64),
                                    n_stars=5, n_galaxies=0, exptime=250.0).paths[0])
    acs = read_exposure(make_dataset(tmp_path / "acs", "ACS/HRC", 1, seed=2, chip_shape=(64, 64),
                                     n_stars=5, n_galaxies=0).paths[0])
    assert threshold_scale(ir, {"proc_unit": "native"}) == 250.0
    assert threshold_scale(ir, {"proc_unit": "electrons"}) == 1.0
    assert threshold_scale(acs, {"proc_unit": "native"}) == threshold_scale(acs, {"proc_unit": "electrons"}) == 1.0


def test_thresholds_scaled_per_image_in_the_median():
    from snakedrizzle.drizzle.median import median_combine

    images = [np.full((4, 5), v, np.float32) for v in (1.0, 2.0, 3.0)]
    weights = [np.ones((4, 5), np.float32)] * 3
    pars = {**sdparams.DEFAULTS, "combine_type": "imean", "combine_hthresh": 2.5}
    common = dict(readnoise=[1.0] * 3, exptime=[1.0] * 3, background=[0.0] * 3)
    as_given = median_combine(images, weights, [(0, 0)] * 3, (4, 5), pars, **common)
    scaled = median_combine(images, weights, [(0, 0)] * 3, (4, 5), pars, threshold_scale=[1.0, 1.0, 2.0],
                            **common)
    assert np.all(as_given == 1.5) and np.all(scaled == 2.0)  # 3 < 2.5 x 2 passes once scaled


def test_each_parameter_reaches_exactly_its_stages():
    stages_of = {name: {s for s, keys in sdparams.STAGES.items() if name in keys}
                 for name in ("wcskey", "group", "proc_unit", "in_memory", "mdriztab")}
    assert stages_of["wcskey"] == {"sky_pair", "separate_frame", "driz_separate", "blot", "final_drizzle"}
    assert {"prepare", "static", "median", "driz_cr", "crclean", "final_drizzle"} <= stages_of["group"]
    assert not any(s.startswith("align") for s in stages_of["group"])
    assert stages_of["proc_unit"] == {"median"}
    assert stages_of["in_memory"] == stages_of["mdriztab"] == set()


# ---- the DAG: what each parameter reruns, DrizzlePac side by side (slow) ---------------------

def _rules(jobs):
    return sorted({rule for rule, _ in jobs})


@pytest.fixture(scope="module")
def alt_run(small_set, tmp_path_factory):
    """The small set with an alternate WCS, drizzled once with the defaults."""
    top = tmp_path_factory.mktemp("global")
    with_alternate_wcs(sorted(small_set["inputs"].iterdir()), top / "inputs")
    config = {"input": f"{top}/inputs/*_flt.fits", "output": "g"}
    snakemake(top / "work", config=config)
    return {"top": top, "work": top / "work", "config": config}


@pytest.mark.slow
def test_changing_each_parameter_reruns_exactly_its_stages(alt_run):
    work, config = alt_run["work"], alt_run["config"]
    assert planned_jobs(work, {**config, "in_memory": "true"}) == []
    after_median = ["blot", "crmask_preview", "driz_cr", "final_drizzle", "median", "preview"]
    assert _rules(planned_jobs(work, {**config, "proc_unit": "electrons"})) == after_median
    wcs_jobs = planned_jobs(work, {**config, "wcskey": "A"})
    assert _rules(wcs_jobs) == sorted(after_median + ["driz_separate", "separate_frame"])
    group_jobs = planned_jobs(work, {**config, "group": "1"})
    assert "prepare" in _rules(group_jobs) and "separate_frame" in _rules(group_jobs)
    per_chip = [wc["chip"] for rule, wc in group_jobs if rule in ("blot", "driz_cr")]
    assert per_chip and set(per_chip) == {"1"}


def run_drizzlepac(paths, folder, output, **params):
    """AstroDrizzle on copies of ``paths`` (it rewrites its inputs) in ``folder``."""
    drizzlepac = pytest.importorskip("drizzlepac.astrodrizzle", reason="drizzlepac is the test-only reference")
    copies = writable_copies(paths, folder)
    here = os.getcwd()
    os.chdir(folder)
    try:
        drizzlepac.AstroDrizzle([p.name for p in copies], output=output, build=True, preserve=False,
                                clean=False, num_cores=1, in_memory=False, **params)
    finally:
        os.chdir(here)
    return folder / f"{output}_drz.fits"


def side_by_side(alt_run, name, ours_config, theirs_params, inputs=None):
    top = alt_run["top"]
    paths = sorted((inputs or top / "inputs").glob("*_flt.fits"))
    snakemake(top / name, config={"input": ",".join(map(str, paths)), "output": name, **ours_config})
    ours = top / name / "results" / name / f"{name}_drz.fits"
    theirs = run_drizzlepac(paths, top / f"theirs_{name}", name, **theirs_params)
    frame, (agree, npix) = frame_differences(ours, theirs), sci_agreement(ours, theirs)
    print(f"\n{name}: frame {frame}; SCI within 1% of local noise: {agree:.5f} of {npix} px")
    assert frame["shape"] and frame["crpix"] < 1e-6 and frame["crval"] < 1e-9 and frame["cd"] < 1e-12
    assert agree >= 0.99
    return ours, theirs


@pytest.mark.slow
def test_wcskey_side_by_side_with_drizzlepac(alt_run):
    ours, theirs = side_by_side(alt_run, "wcskeyA", {"wcskey": "A"}, {"wcskey": "A"})
    default = alt_run["work"] / "results/g/g_drz.fits"
    assert fits.getheader(ours, "SCI")["CRVAL1"] != fits.getheader(default, "SCI")["CRVAL1"]
    assert fits.getheader(ours, "SCI")["WCSNAME"] == fits.getheader(theirs, "SCI")["WCSNAME"]


@pytest.mark.slow
def test_group_and_proc_unit_side_by_side_with_drizzlepac(alt_run):
    # electrons on ACS data (already electrons) with an upper threshold: as given on both sides
    pars = {"group": "1", "proc_unit": "electrons", "combine_type": "imedian", "combine_hthresh": 2000.0}
    ours, theirs = side_by_side(alt_run, "group1", pars, pars)
    with fits.open(ours) as o, fits.open(theirs) as t:
        assert o[0].header["NDRIZIM"] == t[0].header["NDRIZIM"] == 3
        assert o["CTX"].data.max() == t["CTX"].data.max() == 7  # one bit per exposure's chip 1
        same_ctx = float((o["CTX"].data == t["CTX"].data).mean())
        print(f"group1: CTX identical in {same_ctx:.5f} of the pixels (the rest: CR masks differ)")
        assert same_ctx >= 0.995


@pytest.mark.slow
def test_mdriztab_side_by_side_with_drizzlepac(alt_run, monkeypatch):
    top = alt_run["top"]
    write_mdriztab(top / "t_mdz.fits", ROWS)
    inputs = writable_copies(sorted((top / "inputs").glob("*_flt.fits")), top / "mdz_inputs")
    for path in inputs:
        with fits.open(path, mode="update") as hdul:
            hdul[0].header["MDRIZTAB"] = "jref$t_mdz.fits"
    monkeypatch.setenv("jref", str(top) + "/")
    ours, _ = side_by_side(alt_run, "mdz", {"mdriztab": "true"}, {"mdriztab": True}, inputs=top / "mdz_inputs")
    default = alt_run["work"] / "results/g/g_drz.fits"
    assert sci_agreement(ours, default)[0] < 0.5  # the row's pixfrac 0.7 and minmed did reach the rules
