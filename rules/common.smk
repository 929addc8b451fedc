# Helpers shared by the rules: configuration, products, exposures, per-stage parameters.
import functools
import glob
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from snakedrizzle.workflow import params as sdparams
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.drizzle.sky import local_sky

config.update(sdparams.normalise(config))
validate(config, "../config.schema.json")

DEMO = "demo"
PARAM_NAMES = set(sdparams.DEFAULTS)


wildcard_constraints:
    name=r"[^/]+",
    root=r"[A-Za-z0-9]+",
    chip=r"\d+",


def products():
    """{name: {'input': spec, **parameter overrides}}: the command line's input/output, else the
    config's product list, else the demo."""
    if config["input"]:
        name = config["output"] or "final"
        return {name: {"input": config["input"]}}
    if config["products"]:
        prods = {}
        for p in config["products"]:
            unknown = set(p) - PARAM_NAMES - {"input", "output"}
            if unknown:
                raise ValueError(f"config products[{p['output']}]: unknown parameter(s) {sorted(unknown)}")
            prods[p["output"]] = {k: v for k, v in p.items() if k != "output"}
        return prods
    return {DEMO: {"input": None}}


def product_params(name):
    overrides = {k: v for k, v in products()[name].items() if k != "input"}
    return {**{k: config[k] for k in PARAM_NAMES}, **sdparams.normalise(overrides)}


def pars(stage):
    """params: function giving a rule exactly the parameters its stage uses."""
    return lambda wc: sdparams.stage_params(stage, product_params(wc.name))


@functools.lru_cache(maxsize=None)
def _read(path, mtime, overrides):
    return read_exposure(path, **dict(overrides))


def exposures(name):
    """Validated exposures of a product, in input order (for the demo after it is generated)."""
    spec = products()[name]["input"]
    if spec is None:
        folder = checkpoints.demo_data.get(name=name).output[0]
        paths = sorted(glob.glob(os.path.join(folder, "*_fl[tc].fits")))
    else:
        paths, _ = resolve_inputs(spec)
    p = product_params(name)
    overrides = tuple((k, p[k]) for k in ("exptime", "gain", "rdnoise"))
    return [_read(path, os.path.getmtime(path), overrides) for path in paths]


def exposure(name, root):
    for e in exposures(name):
        if e.rootname == root:
            return e
    raise ValueError(f"product {name} has no exposure {root}")


def roots(name):
    return [e.rootname for e in exposures(name)]


def headerlets(name, root_list):
    """The aligned WCS of each exposure (align stages), when the product is aligned."""
    if not product_params(name)["align"]:
        return []
    return [f"results/{name}/align/{r}_hlet.fits" for r in root_list]


def cr_rejection(name):
    """driz_cr forces blot, median and separate drizzle; all need at least two exposures."""
    p = product_params(name)
    return p["driz_cr"] and len(exposures(name)) >= 2


def product_suffix(name):
    exps = exposures(name)
    return "drc" if exps and exps[0].suffix == "flc" else "drz"


def product_file(name):
    return f"results/{name}/{name}_{product_suffix(name)}.fits"


def all_targets(wildcards):
    """Each product, plus the cleaned exposures where driz_cr_corr asks for them."""
    targets = []
    for name in products():
        targets.append(product_file(name))
        if product_params(name)["align"]:
            targets.append(f"results/{name}/align/{name}_shifts.ecsv")
        if product_params(name)["driz_cr_corr"] and cr_rejection(name):
            targets += [f"results/{name}/{r}_crclean.fits" for r in roots(name)]
    return targets


def parallel_threads(wc):
    """threads of the stages that split their output between processes (median, final drizzle):
    AstroDrizzle's num_cores, else the cores Snakemake was given, at most this machine's and 8.
    On a cluster the nodes are not this machine, and the job's own Snakemake (which evaluates
    this again) must ask for what was allocated: one thread there unless num_cores (or
    --set-threads, which jobs inherit) asks for more."""
    num_cores = product_params(wc.name)["num_cores"]
    if num_cores:
        return num_cores
    if not (workflow.is_main_process and workflow.local_exec):
        return 1
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores given
        return 1
    return max(1, min(cores, os.cpu_count() or 1, 8))


def input_mb(input):
    return sum(os.path.getsize(f) for f in input if os.path.exists(f)) / 2**20


def mem_for(factor, base=300):
    """resources: mem_mb from the size of the files a job reads (measured peaks are a few times
    the input size: float32 copies, masks and pixel maps)."""
    return lambda wc, input: int(base + factor * input_mb(input))


def minutes_for(base):
    """resources: runtime (minutes) from the size of the files a job reads, generously."""
    return lambda wc, input: int(base + input_mb(input) / 50)
