"""``AstroDrizzle(input, output=..., **params)``: the workflow's DAG run from Python through the
Snakemake API (snakedrizzle.workflow.runner), so the Python entry point, the ``astrodrizzle``
command and ``snakemake`` can never drift apart."""
from pathlib import Path

from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import params as sdparams
from snakedrizzle.workflow import runner

DEMO = "demo"


def AstroDrizzle(input=None, output="final", workdir=".", cores=1, dryrun=False, **params):
    """Drizzle ``input`` (glob, comma list or list of paths, ``@file`` or ``_asn.fits``; relative
    paths are read from the current directory) with AstroDrizzle's parameters (DrizzlePac names
    and defaults) into ``<workdir>/results/<output>/``. Without ``input``: the built-in demo
    (``results/demo/``), as ``snakemake`` with no configuration.

    Only stale stages run, as with ``snakemake``. Returns the path of the ``_drz``/``_drc``
    product (None if a dry run found it still to be made). Unknown parameter names and bad values
    raise InputError before anything runs.
    """
    params = sdconfig.check_params(params, where="AstroDrizzle")  # the workflow's own check
    if input is None:
        output, config = DEMO, {"input": "", "output": ""}
    else:
        config = {"input": runner.absolute_input(input), "output": output}
    config.update(runner.absolute_files(params))
    workdir = Path(workdir).resolve()
    runner.run(config=config, workdir=workdir, cores=cores, dryrun=dryrun)
    products = sorted((workdir / "results" / output).glob(f"{output}_dr[zc].fits"))
    return str(products[0]) if products else None


def main(argv=None):
    """``astrodrizzle 'DIR/*_flc.fits' --output NAME --final_pixfrac 0.8 --cores 2 --workdir DIR``"""
    names = list(sdparams.DEFAULTS)
    parser = runner.command_parser(
        "astrodrizzle", "AstroDrizzle as the snakedrizzle workflow: drizzle INPUT into "
        "WORKDIR/results/OUTPUT/OUTPUT_drz.fits (or _drc), running only the stale stages.", names)
    parser.add_argument("input", nargs="?", help="glob, comma list, @file or _asn.fits (relative to the current "
                        "directory); none: the built-in synthetic demo")
    parser.add_argument("--output", default="final", help="product name (default: final)")
    parser.add_argument("--workdir", default=".", help="where results/ and logs/ go (default: .)")
    parser.add_argument("--cores", type=int, default=1, help="cores to use (default: 1)")
    parser.add_argument("--dryrun", "--dry-run", action="store_true", help="show the jobs, run nothing")
    args = parser.parse_args(argv)
    params = runner.command_values(args, names)
    product = runner.command_errors("astrodrizzle", lambda: AstroDrizzle(
        args.input, output=args.output, workdir=args.workdir, cores=args.cores, dryrun=args.dryrun, **params))
    if product:
        print(product)
    return 0
