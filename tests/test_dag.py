"""The DAG helpers (snakedrizzle.workflow.dag) without Snakemake: which products, exposures,
files, parameters, threads and resources each rule gets."""
import os
import shutil
from types import SimpleNamespace as Wildcards

import pytest

from snakedrizzle.workflow import dag, resources
from snakedrizzle.workflow import params as sdparams


@pytest.fixture(scope="module")
def exposures(tmp_path_factory):
    """Three tiny two-chip ACS/WFC exposures (the helpers read only their headers)."""
    from snakedrizzle.simulate import make_dataset

    folder = tmp_path_factory.mktemp("dag_set")
    data = make_dataset(folder, "ACS/WFC", 3, seed=3, chip_shape=(64, 128), n_stars=20, n_galaxies=1)
    return folder, [os.path.basename(p).split("_")[0] for p in data.paths]


def config(**overrides):
    return {**sdparams.DEFAULTS, "input": "", "output": "", "products": [], **overrides}


def plan_for(folder, **overrides):
    return dag.Plan(config(input=f"{folder}/*_flt.fits", output="prod", **overrides))


# ---- products and parameters -------------------------------------------------------------------

def test_command_line_input_makes_one_product_named_by_output():
    assert dag.parse_products(config(input="a/*.fits", output="mine")) == {"mine": {"input": "a/*.fits"}}
    assert list(dag.parse_products(config(input="a/*.fits"))) == ["final"]


def test_no_input_and_no_products_is_the_demo():
    assert dag.parse_products(config()) == {"demo": {"input": None}}


def test_product_list_keeps_overrides_and_refuses_unknown_parameters():
    products = [{"input": "a/*.fits", "output": "a", "final_pixfrac": 0.5}, {"input": "b/*.fits", "output": "b"}]
    assert dag.parse_products(config(products=products)) == {
        "a": {"input": "a/*.fits", "final_pixfrac": 0.5}, "b": {"input": "b/*.fits"}}
    with pytest.raises(ValueError, match="final_pixfrak"):
        dag.parse_products(config(products=[{"input": "a", "output": "a", "final_pixfrak": 0.5}]))


def test_product_overrides_win_over_the_config_and_are_normalised():
    products = [{"input": "a", "output": "a", "final_pixfrac": 0.5, "driz_cr": "false"}, {"input": "b", "output": "b"}]
    plan = dag.Plan(config(products=products, final_pixfrac=0.8))
    assert plan.params("a")["final_pixfrac"] == 0.5 and plan.params("a")["driz_cr"] is False
    assert plan.params("b")["final_pixfrac"] == 0.8 and plan.params("b")["driz_cr"] is True


def test_each_stage_gets_exactly_its_parameters():
    plan = dag.Plan(config(input="x", output="p", final_pixfrac=0.7))
    wc = Wildcards(name="p")
    final = plan.pars("final_drizzle")(wc)
    assert set(final) == set(sdparams.STAGES["final_drizzle"]) and final["final_pixfrac"] == 0.7
    assert "final_pixfrac" not in plan.pars("blot")(wc)


# ---- exposures and the files the drizzle stages read --------------------------------------------

def test_exposures_in_input_order_with_their_paths(exposures):
    folder, roots = exposures
    plan = plan_for(folder)
    assert plan.roots("prod") == roots
    wc = Wildcards(name="prod", root=roots[1])
    assert plan.exposure_path(wc) == os.path.join(str(folder), f"{roots[1]}_flt.fits")
    assert plan.first_exposure(wc).endswith(f"{roots[0]}_flt.fits")
    assert plan.frame_anchor(wc) == []  # the separate frame reads the exposures from the config
    # the same files spelled another way: the same absolute paths, so the same DAG
    same = dag.Plan(config(input=f"{folder}/./*_flt.fits,{folder}/../{folder.name}/{roots[0]}_flt.fits"))
    assert sorted(same.exposure_files("final")) == sorted(plan.exposure_files("prod"))
    assert dag.exposure_files_of(config(input=f"{folder}/*_flt.fits", output="prod"), "prod") == plan.exposure_files("prod")
    with pytest.raises(ValueError, match="no exposure nothere"):
        plan.exposure("prod", "nothere")


def test_demo_exposures_come_from_the_checkpoint_folder(exposures):
    folder, roots = exposures
    asked = []
    plan = dag.Plan(config(), demo_inputs=lambda name: asked.append(name) or str(folder))
    assert plan.roots("demo") == roots and asked[0] == "demo"
    assert plan.frame_anchor(Wildcards(name="demo")) == str(folder)


def test_per_exposure_and_per_chip_patterns(exposures):
    folder, roots = exposures
    plan = plan_for(folder)
    wc = Wildcards(name="prod", root=roots[0])
    assert plan.per_exposure("results/{name}/{root}_static.fits")(wc) == [
        f"results/prod/{r}_static.fits" for r in roots]
    assert plan.per_chip("results/{name}/{root}_sci{chip}_blt.fits")(wc) == [
        f"results/prod/{roots[0]}_sci1_blt.fits", f"results/prod/{roots[0]}_sci2_blt.fits"]


def test_sky_values_file_depends_on_the_sky_method(exposures):
    folder, roots = exposures
    wc = Wildcards(name="prod", root=roots[1])
    assert plan_for(folder).sky_of(wc) == f"results/prod/{roots[1]}_skystats.json"
    globalmin = plan_for(folder, skymethod="globalmin")
    assert globalmin.sky_of(wc) == f"results/prod/{roots[1]}_sky.json"
    assert globalmin.sky_of_all(wc) == [f"results/prod/{r}_sky.json" for r in roots]
    # the sky stage reads the exposure's own statistics first, then the others in input order
    assert globalmin.stats_for_sky(wc) == [f"results/prod/{r}_skystats.json" for r in (roots[1], roots[0], roots[2])]


def test_headerlets_only_when_aligned(exposures):
    folder, roots = exposures
    wc = Wildcards(name="prod", root=roots[2])
    assert plan_for(folder).headerlets(wc) == [] and plan_for(folder).headerlet(wc) == []
    aligned = plan_for(folder, align=True)
    assert aligned.headerlets(wc) == [f"results/prod/align/{r}_hlet.fits" for r in roots]
    assert aligned.headerlet(wc) == [f"results/prod/align/{roots[2]}_hlet.fits"]


def test_cr_masks_need_driz_cr_and_two_exposures(exposures, tmp_path):
    folder, roots = exposures
    wc = Wildcards(name="prod")
    masks = plan_for(folder).crmasks(wc)
    assert masks == [f"results/prod/{r}_sci{c}_crmask.fits" for r in roots for c in (1, 2)]
    assert plan_for(folder, driz_cr=False).crmasks(wc) == []
    assert dag.Plan(config(input=f"{folder}/{roots[0]}_flt.fits", output="prod")).crmasks(wc) == []


def test_final_refimage_is_an_input_only_when_final_wcs_uses_it(exposures):
    folder, _ = exposures
    wc = Wildcards(name="prod")
    assert plan_for(folder, final_refimage="ref.fits[sci,1]").final_refimage(wc) == []
    assert plan_for(folder, final_wcs=True, final_refimage="ref.fits[sci,1]").final_refimage(wc) == ["ref.fits"]
    assert plan_for(folder, skyfile="sky.txt").skyfile(wc) == "sky.txt" and plan_for(folder).skyfile(wc) == []


# ---- targets ------------------------------------------------------------------------------------

def test_targets_are_product_preview_and_cr_overviews(exposures):
    folder, roots = exposures
    assert plan_for(folder).targets() == [
        "results/prod/prod_drz.fits", "results/prod/report/prod_drz.png",
        *[f"results/prod/report/{r}_crmask.png" for r in roots]]


def test_targets_add_shifts_and_cleaned_exposures_when_asked(exposures):
    folder, roots = exposures
    targets = plan_for(folder, align=True, driz_cr_corr=True).targets()
    assert "results/prod/align/prod_shifts.ecsv" in targets
    assert [t for t in targets if t.endswith("_crclean.fits")] == [f"results/prod/{r}_crclean.fits" for r in roots]
    assert plan_for(folder, driz_cr=False, driz_cr_corr=True).targets() == [
        "results/prod/prod_drz.fits", "results/prod/report/prod_drz.png"]


def test_flc_input_makes_a_drc_product(exposures, tmp_path):
    folder, roots = exposures
    for r in roots:
        shutil.copy(folder / f"{r}_flt.fits", tmp_path / f"{r}_flc.fits")
    plan = dag.Plan(config(input=f"{tmp_path}/*_flc.fits", output="prod"))
    assert plan.targets()[:2] == ["results/prod/prod_drc.fits", "results/prod/report/prod_drc.png"]


# ---- threads and resources ----------------------------------------------------------------------

def test_threads_num_cores_else_local_cores_capped_else_one():
    wc = Wildcards(name="p")
    assert dag.Plan(config(input="x", output="p", num_cores=3), cores=lambda: 64).threads(wc) == 3
    assert dag.Plan(config(input="x", output="p")).threads(wc) == 1
    assert dag.Plan(config(input="x", output="p"), cores=lambda: 64).threads(wc) == min(os.cpu_count(), 8)
    assert dag.Plan(config(input="x", output="p"), cores=lambda: 1).threads(wc) == 1


class FakeWorkflow:
    def __init__(self, main=True, local=True, cores=4):
        self.is_main_process, self.local_exec, self._cores = main, local, cores

    @property
    def cores(self):
        if self._cores is None:
            raise RuntimeError("no --cores given")
        return self._cores


def test_local_cores_only_for_a_local_main_process():
    assert dag.local_cores(FakeWorkflow()) == 4
    assert dag.local_cores(FakeWorkflow(main=False)) is None
    assert dag.local_cores(FakeWorkflow(local=False)) is None
    assert dag.local_cores(FakeWorkflow(cores=None)) is None


def test_memory_and_runtime_grow_with_the_input_size(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"\0" * (100 * 2**20))
    wc = Wildcards(name="p")
    assert resources.mem_for(3)(wc, [str(big), str(tmp_path / "missing")]) == 300 + 300
    assert resources.mem_for(1.5, base=1000)(wc, []) == 1000
    assert resources.minutes_for(10)(wc, [str(big)]) == 12


# ---- alignment ----------------------------------------------------------------------------------

def test_align_reference_is_the_first_exposure_without_refimage_or_refcat(exposures):
    folder, roots = exposures
    plan = plan_for(folder, align=True)
    first, second = Wildcards(name="prod", root=roots[0]), Wildcards(name="prod", root=roots[1])
    assert plan.align_order("prod") == tuple(roots)
    assert plan.align_is_reference(first) and not plan.align_is_reference(second)
    first_catalogs = [f"results/prod/align/{roots[0]}_sci{c}_xy_catalog.ecsv" for c in (1, 2)]
    assert plan.align_reference_files(first) == first_catalogs
    assert plan.align_first_catalogs(first) == plan.align_reference_files(first)
    assert plan.align_refcat_of(second) == "results/prod/align/prod_refcat.ecsv"
    assert plan.align_cumulative(first) == []

    refcat = plan_for(folder, align=True, refcat="ref.ecsv", refimage="img.fits[sci,1]")
    assert refcat.align_reference_files(first) == ["img.fits", "ref.ecsv"]
    assert not refcat.align_is_reference(first) and refcat.align_first_catalogs(first) == []


def test_expand_refcat_chains_the_fits(exposures):
    folder, roots = exposures
    plan = plan_for(folder, align=True, expand_refcat=True)
    refcats = [plan.align_refcat_of(Wildcards(name="prod", root=r)) for r in roots]
    assert refcats == ["results/prod/align/prod_refcat.ecsv",
                       f"results/prod/align/{roots[0]}_cumulative_refcat.ecsv",
                       f"results/prod/align/{roots[1]}_cumulative_refcat.ecsv"]
    wc = Wildcards(name="prod")
    assert plan.align_last_cumulative(wc) == f"results/prod/align/{roots[2]}_cumulative_refcat.ecsv"
    assert plan.align_cumulative(wc) == ["results/prod/align/cumulative_sky_refcat_prod.coo"]
    by_overlap = plan_for(folder, align=True, expand_refcat=True, enforce_user_order=False)
    assert sorted(by_overlap.align_order("prod")) == sorted(roots)


def test_refimagefindpars_only_with_a_reference_image(exposures):
    folder, _ = exposures
    wc = Wildcards(name="prod")
    assert not any(k.startswith("ref_") for k in plan_for(folder, align=True).align_refcat_pars(wc))
    with_image = plan_for(folder, align=True, refimage="img.fits", ref_threshold=9.0).align_refcat_pars(wc)
    assert with_image["ref_threshold"] == 9.0
    catalog = plan_for(folder, align=True, catfile="cats.txt").align_catalog_pars(wc)
    assert "catfile" not in catalog and "exclusions" not in catalog and "threshold" in catalog


def test_user_catalogs_and_exclusions_per_chip(exposures, tmp_path):
    folder, roots = exposures
    listfile = tmp_path / "cats.txt"
    listfile.write_text(f"{roots[0]}_flt.fits c1.coo None\n")
    plan = plan_for(folder, align=True, catfile=str(listfile))
    chip1, chip2 = (Wildcards(name="prod", root=roots[0], chip=c) for c in ("1", "2"))
    assert plan.align_usercat(chip1) == str(tmp_path / "c1.coo")
    assert plan.align_user_files(chip1) == [str(tmp_path / "c1.coo")]
    assert plan.align_usercat(chip2) == "" and plan.align_user_files(chip2) == []
    assert plan.align_region(chip1) == ""
    other = Wildcards(name="prod", root=roots[1], chip="1")
    assert plan.align_usercat(other) == ""


def test_align_gathers_every_exposure(exposures):
    folder, roots = exposures
    plan = plan_for(folder, align=True, history="hist.txt")
    wc = Wildcards(name="prod", root=roots[0])
    assert plan.align_fits(wc) == [f"results/prod/align/{r}_fit.json" for r in roots]
    assert plan.align_matches(wc) == [f"results/prod/align/{r}_catalog_fit.match" for r in roots]
    assert plan.align_history(wc) == ["hist.txt"] and plan_for(folder).align_history(wc) == []
