"""``snakedrizzle.pipeline.runastrodriz(input, ...)`` and the ``runastrodriz`` command: the HST
pipeline's drizzle with its astrometry cascade (SPEC-HAP H9) as the workflow's DAG, run through
the Snakemake API as ``snakemake --config runastrodriz=INPUT`` runs it.

The DAG works in ``<workdir>/results/pipeline/<root>/``; when it is done the public files (the
products, the trailer, the headerlets) are copied to ``<workdir>`` itself, where DrizzlePac's
``runastrodriz`` writes them. Inputs are never modified: ``update_inputs=True`` writes copies
of them with the chosen WCS (and DRIZCORR=COMPLETE) to ``<workdir>/updated/``.
"""
import logging
import os
import shutil
from pathlib import Path

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import runner

__all__ = ["runastrodriz", "main"]

log = logging.getLogger("snakedrizzle")


def _config(input, refcat, align_to_gaia, headerlets, force, mdriztab, align_pars, cwd):
    config = {"runastrodriz": os.path.join(cwd, os.fspath(input)), "pipeline_aposteriori": bool(align_to_gaia),
              "pipeline_headerlets": bool(headerlets), "pipeline_force": bool(force)}
    for key, value in (("refcat", refcat), ("mdriztab", mdriztab), ("align_pars", align_pars)):
        if value:
            path = os.path.join(cwd, os.fspath(value)) if not isinstance(value, bool) else value
            if isinstance(path, str) and not os.path.isfile(path):
                raise InputError(path, f"{key} file not found")
            config[key] = path
    return config


def _publish(files, workdir):
    """Copy the DAG's public files to ``workdir`` (atomically: a reader never sees half a file)."""
    out = []
    for path in files:
        dest = workdir / os.path.basename(path)
        with atomic_path(str(dest)) as tmp:
            shutil.copyfile(path, tmp)
        out.append(str(dest))
    return out


def _update_inputs(plan, workdir):
    """Copies of the inputs with the chosen WCS as primary (the old one kept as an alternate)
    and DRIZCORR=COMPLETE: what DrizzlePac writes into the originals."""
    from snakedrizzle.align.updatehdr import apply_headerlet

    folder = workdir / "updated"
    folder.mkdir(exist_ok=True)
    out = []
    for member in plan.input.members:
        hlet = workdir / plan.headerlet("final", member.root)
        for path in member.files.values():
            dest = str(folder / os.path.basename(path))
            apply_headerlet(path, str(hlet), output=dest)
            with fits.open(dest, mode="update") as hdul:
                hdul[0].header["DRIZCORR"] = "COMPLETE"
            out.append(dest)
    return out


def runastrodriz(input, workdir=".", cores=1, refcat=None, align_to_gaia=True, headerlets=True, force=False,
                 force_alignment=False, mdriztab=None, align_pars=None, update_inputs=False, dryrun=False,
                 targets=()):
    """Make the pipeline products of ``input`` (an ``_asn.fits`` association or one exposure)
    in ``workdir``: ``<root>_drz.fits`` (FLT inputs) and/or ``<root>_drc.fits`` (FLC), the
    trailer ``<root>.tra`` and, with ``headerlets``, ``<exp>_flt_hlet.fits`` per exposure.

    ``align_to_gaia=False`` is ``-g`` (no a posteriori stage); ``force`` is ``-f`` (drizzle
    whatever DRIZCORR says); ``force_alignment`` (``-a``) is accepted for DrizzlePac's command
    line: without a guiding check here, alignment is never turned off for bad guiding.
    ``refcat``: the astrometric catalog (Gaia column names; default: the Gaia archive);
    ``mdriztab``: an MDRIZTAB file for the final parameters (default: the built-in sets).
    Only stale jobs run. Returns the paths of the files written to ``workdir``."""
    from snakedrizzle.pipeline.plan import PipelinePlan

    del force_alignment  # accepted for DrizzlePac's signature (see above)
    cwd = os.getcwd()
    workdir = Path(workdir).resolve()
    config = _config(input, refcat, align_to_gaia, headerlets, force, mdriztab, align_pars, cwd)
    plan = PipelinePlan(sdconfig.check_config(config))  # bad input stops here, before any job
    if not plan.targets():
        print(f"runastrodriz: {plan.input.drizcorr_file}: DRIZCORR={plan.input.drizcorr}: "
              "astrodrizzle skipped (-f drizzles anyway)")
        return []
    runner.run(targets=targets, config=config, workdir=workdir, cores=cores, dryrun=dryrun)
    if dryrun:
        return []
    made = _publish([workdir / p for p in plan.targets() if (workdir / p).exists()], workdir)
    if update_inputs:
        made += _update_inputs(plan, workdir)
    return made


def main(argv=None):
    """``runastrodriz INPUT [--refcat CAT] [--workdir DIR] [-n N] [-g] [-b] [-f] [-a]``"""
    import argparse

    parser = argparse.ArgumentParser(
        prog="runastrodriz", allow_abbrev=False,
        description="The HST pipeline's drizzle (default, a priori and a posteriori WCS, each "
                    "verified; the best one drizzled) as the snakedrizzle workflow.")
    parser.error = lambda message: runner.usage_error("runastrodriz", message)
    parser.add_argument("input", help="an _asn.fits association or one exposure (FLT/FLC/RAW name)")
    parser.add_argument("--refcat", help="astrometric reference catalog (Gaia column names; default: the Gaia archive)")
    parser.add_argument("--mdriztab", help="MDRIZTAB file for the final drizzle's parameters (default: built-in sets)")
    parser.add_argument("--align-pars", help="YAML overrides of the alignment parameters")
    parser.add_argument("--workdir", default=".", help="where the products go (default: .)")
    parser.add_argument("-n", "--num-cores", type=int, default=1, help="cores to use (default: 1)")
    parser.add_argument("-g", action="store_true", help="no a posteriori (Gaia) alignment")
    parser.add_argument("-b", action="store_true", help="no headerlets")
    parser.add_argument("-f", action="store_true", help="force: drizzle whatever DRIZCORR says")
    parser.add_argument("-a", action="store_true", help="force alignment (no guiding check here: no effect)")
    parser.add_argument("--update-inputs", action="store_true",
                        help="also write copies of the inputs with the chosen WCS to WORKDIR/updated/")
    parser.add_argument("--dryrun", "--dry-run", action="store_true", help="show the jobs, run nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s: %(message)s")
    made = runner.command_errors("runastrodriz", lambda: runastrodriz(
        args.input, workdir=args.workdir, cores=args.num_cores, refcat=args.refcat, align_to_gaia=not args.g,
        headerlets=not args.b, force=args.f, force_alignment=args.a, mdriztab=args.mdriztab,
        align_pars=args.align_pars, update_inputs=args.update_inputs, dryrun=args.dryrun))
    for path in made or ():
        print(path)
    return 0
