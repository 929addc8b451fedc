"""What each rule of the workflow gets: products, exposures, the files a job reads, the parameters
of its stage, threads and resources.

``rules/common.smk`` builds one :class:`Plan` from the validated config and hands it the few
things only Snakemake knows (the demo checkpoint, the cores of a local run); the rules use its
methods as input, params and threads functions. Everything here is plain Python over the config
and the exposures' headers, so ``tests/test_dag.py`` checks it without running Snakemake.

Input functions take the job's wildcards (anything with ``.name``, ``.root``, ``.chip``).
"""
import functools
import glob
import os

from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.wcs.groups import check_overlapping, exposure_cap
from snakedrizzle.workflow import mdriztab
from snakedrizzle.workflow import params as sdparams
from snakedrizzle.workflow.sky_plan import SkyPlan, results

DEMO = "demo"
PARAM_NAMES = frozenset(sdparams.DEFAULTS)
# The exposures a demo run finds in the folder its checkpoint made.
DEMO_EXPOSURES = "*_fl[tc].fits"


def aligned(name, filename):
    """A file of the product's alignment (TweakReg) stages."""
    return os.path.join("results", name, "align", filename)


def report_file(name, filename):
    """A figure made for ``snakemake --report``."""
    return os.path.join("results", name, "report", filename)


def parse_products(config):
    """{name: {'input': spec, **parameter overrides}}: the command line's input/output, else the
    config's product list, else the demo (input None)."""
    if config["input"]:
        return {config["output"] or "final": {"input": config["input"]}}
    if config["products"]:
        prods = {}
        for p in config["products"]:
            unknown = set(p) - PARAM_NAMES - {"input", "output"}
            if unknown:
                raise ValueError(f"config products[{p['output']}]: unknown parameter(s) {sorted(unknown)}")
            prods[p["output"]] = {k: v for k, v in p.items() if k != "output"}
        return prods
    return {DEMO: {"input": None}}


@functools.lru_cache(maxsize=None)
def _read(path, mtime, overrides):
    """Exposures are read once per run; the mtime in the key notices a file replaced meanwhile."""
    return read_exposure(path, **dict(overrides))


def exposure_files_of(config, name):
    """The exposure files of product ``name`` as ``config`` names them (inside a job)."""
    return Plan(config, demo_inputs=lambda n: results(n, "inputs")).exposure_files(name)


@functools.lru_cache(maxsize=None)
def _check_overlapping(exposures):
    """Exposures that overlap none of the others stop the run before any job (a glob that caught
    another target would otherwise make a runaway frame). Once per set of files."""
    check_overlapping([exposure_cap(path, chips) for path, chips, _ in exposures])


class _Named:
    """Wildcards of another product (``.name``), for asking the plan about it."""
    def __init__(self, name):
        self.name = name


class Plan(SkyPlan):
    """The products of one run and what each of their jobs needs.

    ``config``: the validated config. ``demo_inputs(name)``: the folder of the demo's exposures
    (in the workflow, the demo checkpoint's output, which may raise Snakemake's "not yet"
    exception). ``cores()``: the cores of a local run, or None (cluster jobs, no --cores).
    """

    def __init__(self, config, demo_inputs=None, cores=lambda: None):
        self.config = config
        self.products = parse_products(config)
        # A layer (SVM: hap/plan.py, runastrodriz: pipeline/plan.py) makes the products.
        self.svm = self.pipeline = self.layer = None
        if config.get("poller"):
            from snakedrizzle.hap.plan import SvmPlan

            self.svm = self.layer = SvmPlan(config, demo_inputs)
            self.products = self.svm.products
        elif config.get("runastrodriz"):
            from snakedrizzle.pipeline.plan import PipelinePlan

            self.pipeline = self.layer = PipelinePlan(config, PARAM_NAMES, sdparams.DEFAULTS)
            self.products = self.pipeline.products
        self._demo_inputs = demo_inputs
        self._cores = cores
        self._align_order = {}
        self._params = {}

    # ---- products and their parameters --------------------------------------------------------

    def params(self, name):
        """All parameters of a product: the config's, with the product's own overrides, and
        (``mdriztab``) the MDRIZTAB row's values for those the user did not set."""
        if name not in self._params:
            overrides = {k: v for k, v in self.products[name].items() if k != "input"}
            merged = {**{k: self.config[k] for k in PARAM_NAMES}, **sdparams.normalise(overrides)}
            self._params[name] = mdriztab.resolve(merged, lambda: self.exposure_files(name), overrides)
        return self._params[name]

    def pars(self, stage):
        """params: function giving a rule exactly the parameters its stage uses, so a changed
        parameter reruns exactly the stages that use it."""
        return lambda wc: sdparams.stage_params(stage, self.params(wc.name))

    # ---- exposures -----------------------------------------------------------------------------

    def exposure_files(self, name):
        """Absolute, normalised paths: the DAG depends on the files, not on how they were
        spelled (``./data/*``, ``data/*``, a list of the same files)."""
        spec = self.products[name]["input"]
        if spec is None:
            paths = sorted(glob.glob(os.path.join(self._demo_inputs(name), DEMO_EXPOSURES)))
        else:
            paths = resolve_inputs(spec)[0]
        return [os.path.abspath(p) for p in paths]

    def exposures(self, name):
        """Validated exposures of a product, in input order (the demo's once they exist)."""
        p = self.params(name)
        overrides = tuple((k, p[k]) for k in ("exptime", "gain", "rdnoise", "group"))
        exposures = [_read(path, os.path.getmtime(path), overrides) for path in self.exposure_files(name)]
        _check_overlapping(tuple((e.path, e.chips, os.path.getmtime(e.path)) for e in exposures))
        return exposures

    def exposure(self, name, root):
        for e in self.exposures(name):
            if e.rootname == root:
                return e
        raise ValueError(f"product {name} has no exposure {root}")

    def roots(self, name):
        return [e.rootname for e in self.exposures(name)]

    def exposure_path(self, wc):
        return self.exposure(wc.name, wc.root).path

    def exposure_paths(self, wc):
        return [e.path for e in self.exposures(wc.name)]

    def first_exposure(self, wc):
        return self.exposures(wc.name)[0].path

    def frame_anchor(self, wc):
        """The separate frame's only file input: the demo's folder (it must exist first), else
        nothing. The frame is pinned once made, so neither adding exposures nor spelling the
        same files differently remakes it; its job reads the exposures from the config
        (:func:`exposure_files_of`)."""
        return self._demo_inputs(wc.name) if self.products[wc.name]["input"] is None else []

    def per_exposure(self, pattern):
        """Input function: ``pattern`` (with {name}, {root}) over the product's exposures."""
        return lambda wc: [pattern.format(name=wc.name, root=r) for r in self.roots(wc.name)]

    def per_chip(self, pattern):
        """Input function: ``pattern`` (with {name}, {root}, {chip}) over the exposure's chips."""
        return lambda wc: [pattern.format(name=wc.name, root=wc.root, chip=c)
                           for c in self.exposure(wc.name, wc.root).chips]

    # ---- what the drizzle stages read ----------------------------------------------------------

    def aligned_wcs(self, name, roots):
        """The aligned WCS (headerlet) of each exposure, when the product is aligned."""
        if self.layer is not None:
            return self.layer.aligned_wcs(name, roots)
        if not self.params(name)["align"]:
            return []
        return [aligned(name, f"{r}_hlet.fits") for r in roots]

    def headerlets(self, wc):
        return self.aligned_wcs(wc.name, self.roots(wc.name))

    def headerlet(self, wc):
        return self.aligned_wcs(wc.name, [wc.root])

    def cr_rejection(self, name):
        """driz_cr forces blot, median and separate drizzle; all need at least two exposures."""
        return self.params(name)["driz_cr"] and len(self.exposures(name)) >= 2

    def crmasks(self, wc):
        if self.layer is not None and self.layer.crmask_products(wc.name):
            # an SVM total, a later runastrodriz stage: another product's CR masks
            return [m for f in self.layer.crmask_products(wc.name) for m in self.crmasks(_Named(f))]
        if not self.cr_rejection(wc.name):
            return []
        return [results(wc.name, f"{e.rootname}_sci{c}_crmask.fits")
                for e in self.exposures(wc.name) for c in e.chips]

    def ivm_sources(self, wc):
        """params of the final drizzle: with final_wht_type=IVM, {rootname: what its IVM is read or
        made from} (the @file's IVM file, else PFLTFILE and MEANDARK: drizzle.ivm.sources),
        checked while the DAG is built, so a missing file stops the run before any job."""
        if self.params(wc.name)["final_wht_type"] != "IVM":
            return {}
        cache = self.__dict__.setdefault("_ivm_sources", {})
        if wc.name not in cache:
            from snakedrizzle.drizzle import ivm

            spec = self.products[wc.name]["input"]
            listed = resolve_inputs(spec)[1] if spec is not None else {}
            listed = {os.path.abspath(p): f for p, f in listed.items()}
            cache[wc.name] = {e.rootname: ivm.sources(e, listed.get(e.path)) for e in self.exposures(wc.name)}
        return cache[wc.name]

    def ivm_files(self, wc):
        """The files the final drizzle's IVM weights read (user IVM files, flat fields)."""
        from snakedrizzle.drizzle.ivm import files_of

        return sorted({f for s in self.ivm_sources(wc).values() for f in files_of(s)})

    def final_refimage(self, wc):
        """The file behind final_refimage (``file.fits[ext]``), when final_wcs uses it."""
        p = self.params(wc.name)
        return [p["final_refimage"].split("[")[0]] if p["final_wcs"] and p["final_refimage"] else []

    # ---- products and targets ------------------------------------------------------------------

    def product_suffix(self, name):
        exps = self.exposures(name)
        return "drc" if exps and exps[0].suffix == "flc" else "drz"

    def product_file(self, name):
        return results(name, f"{name}_{self.product_suffix(name)}.fits")

    def preview_file(self, name):
        return report_file(name, f"{name}_{self.product_suffix(name)}.png")

    def targets(self, wc=None):
        """rule all: each product and its preview; the alignment's shifts table; the CR-mask
        overview of each exposure; the cleaned exposures where driz_cr_corr asks for them."""
        if self.layer is not None:
            return self.layer.targets()
        targets = []
        for name in self.products:
            targets += [self.product_file(name), self.preview_file(name)]
            if self.params(name)["align"]:
                targets.append(aligned(name, f"{name}_shifts.ecsv"))
            if self.cr_rejection(name):
                targets += [report_file(name, f"{r}_crmask.png") for r in self.roots(name)]
                if self.params(name)["driz_cr_corr"]:
                    targets += [results(name, f"{r}_crclean.fits") for r in self.roots(name)]
        return targets

    def finished_products(self):
        """Absolute paths of the products (and shifts tables) that exist, for the end of a run."""
        if self.layer is not None:
            return self.layer.finished()
        made = []
        for name in self.products:
            made.append(self.product_file(name))
            if self.params(name)["align"]:
                made.append(aligned(name, f"{name}_shifts.ecsv"))
        return [os.path.abspath(p) for p in made if os.path.exists(p)]

    # ---- threads -------------------------------------------------------------------------------

    def threads(self, wc):
        """threads of the stages that split their work between processes (median, final
        drizzle): AstroDrizzle's num_cores, else the cores of a local run (at most this machine's
        and 8), else 1: a cluster job's nodes are not this machine, and the job's own Snakemake
        (which evaluates this again) must ask for what was allocated (num_cores or
        --set-threads, which jobs inherit)."""
        num_cores = self.params(wc.name)["num_cores"]
        if num_cores:
            return num_cores
        cores = self._cores()
        if not cores:
            return 1
        return max(1, min(cores, os.cpu_count() or 1, 8))

    # ---- alignment (TweakReg) ------------------------------------------------------------------

    def align_order(self, name):
        """Rootnames in the order they are aligned: the input order, or by overlap when the
        reference catalog grows (expand_refcat) and enforce_user_order is off."""
        if name not in self._align_order:
            p = self.params(name)
            if p["expand_refcat"] and not p["enforce_user_order"]:
                from snakedrizzle.align.order import overlap_order

                self._align_order[name] = tuple(overlap_order(self.exposures(name)))
            else:
                self._align_order[name] = tuple(self.roots(name))
        return self._align_order[name]

    def align_reference_is_first(self, name):
        """No refimage or refcat: the first exposure aligned is the reference."""
        p = self.params(name)
        return not p["refimage"] and not p["refcat"]

    def align_catalogs(self, name, root):
        return [aligned(name, f"{root}_sci{c}_xy_catalog.ecsv") for c in self.exposure(name, root).chips]

    def align_catalogs_of(self, wc):
        return self.align_catalogs(wc.name, wc.root)

    def align_refcat_of(self, wc):
        """The catalog an exposure is fitted to: the reference catalog, or (expand_refcat) the
        one grown by the exposures aligned before it, which makes the fits a chain."""
        order = self.align_order(wc.name)
        k = order.index(wc.root)
        if not self.params(wc.name)["expand_refcat"] or k == 0:
            return aligned(wc.name, f"{wc.name}_refcat.ecsv")
        return aligned(wc.name, f"{order[k - 1]}_cumulative_refcat.ecsv")

    def align_user_file(self, wc, key):
        """The chip's own file in the catfile/exclusions list (or ''): it is the chip's input and
        parameter, so editing one chip's entry or file reruns only that chip's catalog."""
        from snakedrizzle.align.chipfiles import chip_file

        e = self.exposure(wc.name, wc.root)
        return chip_file(self.params(wc.name)[key], e.path, e.chips.index(int(wc.chip))) or ""

    def align_user_files(self, wc):
        return [f for f in (self.align_usercat(wc), self.align_region(wc)) if f]

    def align_usercat(self, wc):
        return self.align_user_file(wc, "catfile")

    def align_region(self, wc):
        return self.align_user_file(wc, "exclusions")

    def align_catalog_pars(self, wc):
        """The chip's catalog parameters; its catfile/exclusions entries come as files."""
        p = sdparams.stage_params("align_catalog", self.params(wc.name))
        return {k: v for k, v in p.items() if k not in ("catfile", "exclusions")}

    def align_refcat_pars(self, wc):
        """refimagefindpars only matter when sources are found on a reference image."""
        p = sdparams.stage_params("align_refcat", self.params(wc.name))
        if not p["refimage"] or p["refcat"]:
            p = {k: v for k, v in p.items() if not k.startswith(sdparams.REF_PREFIX)}
        return p

    def align_reference_files(self, wc):
        """The reference's own file(s): refimage and/or refcat, else the first exposure's catalogs."""
        from snakedrizzle.io.extspec import parse_extension

        p = self.params(wc.name)
        files = [parse_extension(p["refimage"])[0]] if p["refimage"] else []
        files += [p["refcat"]] if p["refcat"] else []
        return files or self.align_catalogs(wc.name, self.align_order(wc.name)[0])

    def align_first_exposure(self, wc):
        return self.exposure(wc.name, self.align_order(wc.name)[0]).path

    def align_first_catalogs(self, wc):
        """The first exposure's catalogs, when they make the reference catalog."""
        if not self.align_reference_is_first(wc.name):
            return []
        return self.align_catalogs(wc.name, self.align_order(wc.name)[0])

    def align_is_reference(self, wc):
        return self.align_reference_is_first(wc.name) and wc.root == self.align_order(wc.name)[0]

    def align_history(self, wc):
        """The headerlet's HISTORY file, when one is given (its contents matter too)."""
        return [h for h in [self.params(wc.name)["history"]] if h]

    def align_last_cumulative(self, wc):
        return aligned(wc.name, f"{self.align_order(wc.name)[-1]}_cumulative_refcat.ecsv")

    def align_fits(self, wc):
        return [aligned(wc.name, f"{r}_fit.json") for r in self.roots(wc.name)]

    def align_matches(self, wc):
        return [aligned(wc.name, f"{r}_catalog_fit.match") for r in self.roots(wc.name)]

    def align_cumulative(self, wc):
        """DrizzlePac's cumulative sky catalog, when the reference catalog grows."""
        if not self.params(wc.name)["expand_refcat"]:
            return []
        return [aligned(wc.name, f"cumulative_sky_refcat_{wc.name}.coo")]


def local_cores(workflow):
    """The cores Snakemake was given, when the jobs run on this machine from this process; else
    None (a cluster job's Snakemake, a job's own process, or no --cores given)."""
    if not (workflow.is_main_process and workflow.local_exec):
        return None
    try:
        return workflow.cores
    except Exception:  # snakemake's WorkflowError when no --cores was given
        return None
