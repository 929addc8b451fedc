"""``snakedrizzle.hap.runsinglehap(poller, ...)``: DrizzlePac's single-visit mosaic (SVM) as the workflow's DAG,
run from Python through the Snakemake API (snakedrizzle.workflow.runner), as ``snakemake
--config poller=FILE`` runs it; ``runsinglehap POLLER`` is the command."""
import logging
import os
from pathlib import Path

import yaml

from snakedrizzle.errors import InputError
from snakedrizzle.hap import parsets
from snakedrizzle.hap.plan import DEMO_POLLER, SvmPlan
from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import runner

__all__ = ["runsinglehap", "main", "OVERRIDES_FILE"]

log = logging.getLogger("snakedrizzle")

# Where the Python call's parameter overrides are written for the workflow (svm_pars).
OVERRIDES_FILE = "svm_pars.yaml"


def _absolute_poller(poller, cwd):
    if isinstance(poller, (list, tuple)):
        return ",".join(os.path.join(cwd, os.fspath(p)) for p in poller)
    text = os.fspath(poller).strip()
    if not text:
        raise InputError("poller", "no poller given")
    return text if text.lower() == DEMO_POLLER else os.path.join(cwd, os.path.expanduser(text))


def _overrides_file(svm_pars, overrides, workdir, cwd):
    """The svm_pars file of the run: the user's file, or (keyword overrides given) their merge
    written to ``<workdir>/svm_pars.yaml``. Checked here, before anything runs."""
    data = {}
    if svm_pars:
        source = svm_pars if isinstance(svm_pars, dict) else os.path.join(cwd, os.fspath(svm_pars))
        if not overrides and not isinstance(svm_pars, dict):
            parsets.parse_overrides(source)
            return source
        data = dict(parsets.load_overrides(source)[0])
    data.update(overrides)
    if not data:
        return ""
    parsets.parse_overrides(data)
    path = workdir / OVERRIDES_FILE
    text = yaml.safe_dump(data, sort_keys=True)
    if not path.is_file() or path.read_text() != text:
        workdir.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(path)


def runsinglehap(poller, workdir=".", cores=1, refcat=None, svm_pars=None, by_obset=False,
                 dryrun=False, targets=(), **overrides):
    """Build the SVM products of ``poller`` (DrizzlePac's poller CSV of 8 or 1 columns, a glob of
    FLT/FLC files, a list of paths, or 'demo') in ``<workdir>/results/svm/<ipppss>/``.

    ``overrides``: HAP parameter-set overrides as in a ``svm_pars`` YAML file (a parameter for
    every product, or scoped: ``filter={'final_pixfrac': 0.9}``); ``svm_pars``: such a file.
    ``refcat``: the astrometric reference catalog the visit is aligned to (default: the Gaia archive).
    ``targets``: files to build instead of every product (paths relative to ``workdir``).
    Only stale jobs run. Returns the absolute paths of the visit(s)' products and manifests that
    exist. Bad input raises InputError before any job runs."""
    cwd = os.getcwd()
    workdir = Path(workdir).resolve()
    config = {"poller": _absolute_poller(poller, cwd), "svm_by_obset": bool(by_obset)}
    config["svm_pars"] = _overrides_file(svm_pars, overrides, workdir, cwd)
    if refcat:
        config.update(runner.absolute_files({"refcat": refcat}, cwd))
        if not os.path.isfile(config["refcat"]):
            raise InputError(config["refcat"], "reference catalog not found")

    checked = sdconfig.check_config(config)
    if not SvmPlan(checked).is_demo:
        SvmPlan(checked).ensure()  # the poller and the tree are checked before any job
    runner.run(targets=targets, config=config, workdir=workdir, cores=cores, dryrun=dryrun)
    cwd_then = os.getcwd()
    try:
        os.chdir(workdir)
        return SvmPlan(checked).finished()
    finally:
        os.chdir(cwd_then)


def main(argv=None):
    """``runsinglehap POLLER [--refcat FILE] [--workdir DIR] [--cores N] [--svm_pars FILE]``"""
    import argparse

    parser = argparse.ArgumentParser(
        prog="runsinglehap", allow_abbrev=False,
        description="HAP single-visit mosaics as the snakedrizzle workflow: the exposure, filter "
                    "and total products of the visit in POLLER under WORKDIR/results/svm/<ipppss>/, "
                    "running only the stale jobs.")
    parser.error = lambda message: runner.usage_error("runsinglehap", message)
    parser.add_argument("poller", help="poller CSV (8 columns or 1 column of file names), a quoted "
                        "glob of FLT/FLC files, or 'demo'")
    parser.add_argument("--refcat", help="astrometric reference catalog (Gaia column names; default: the Gaia archive)")
    parser.add_argument("--svm_pars", help="YAML overrides of the HAP parameter sets")
    parser.add_argument("--by-obset", action="store_true", help="one visit per obset of the poller")
    parser.add_argument("--workdir", default=".", help="where results/ and logs/ go (default: .)")
    parser.add_argument("--cores", type=int, default=1, help="cores to use (default: 1)")
    parser.add_argument("--dryrun", "--dry-run", action="store_true", help="show the jobs, run nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s: %(message)s")
    products = runner.command_errors("runsinglehap", lambda: runsinglehap(
        args.poller, workdir=args.workdir, cores=args.cores, refcat=args.refcat,
        svm_pars=args.svm_pars, by_obset=args.by_obset, dryrun=args.dryrun))
    for path in products or ():
        print(path)
    return 0
