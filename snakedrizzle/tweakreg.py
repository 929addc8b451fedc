"""``TweakReg(files, ...)``: DrizzlePac's TweakReg keywords and defaults over the workflow's align
rules, the DAG ``AstroDrizzle()`` runs with ``align=true`` (target: the shifts table), in
``outdir``. The rules' products are then given TweakReg's names in ``outdir``. Inputs are never
modified unless ``updatehdr=True`` is asked for explicitly (then each exposure gets its aligned
WCS in place, the old one archived as an alternate)."""
import os
import shutil

from astropy.table import Table

from snakedrizzle.align.updatehdr import apply_headerlet
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import rootname_of
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.workflow import params as sdparams
from snakedrizzle.workflow import runner

# The product name of a TweakReg() run in its outdir: results/tweakreg/align/...
NAME = "tweakreg"

# Keywords of DrizzlePac's TweakReg about its display and log; accepted, they change nothing here.
_QUIET = ("interactive", "verbose", "runfile", "see2dplot", "shiftfile", "headerlet", "attach", "hdrfile",
          "clobber", "writecat", "updatewcs")


def _parameters(imagefindcfg, refimagefindcfg, params):
    merged = dict(params)
    merged.update(imagefindcfg or {})
    merged.update({sdparams.REF_PREFIX + k: v for k, v in (refimagefindcfg or {}).items()})
    unknown = set(merged) - set(sdparams.ALIGN_DEFAULTS)
    if unknown:
        raise InputError("TweakReg", f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return sdconfig.check_params(merged, where="TweakReg")  # a bad value: one line, before Snakemake starts


def TweakReg(files, refimage=None, refcat=None, updatehdr=False, wcsname="TWEAK", outdir="tweakreg",
             imagefindcfg=None, refimagefindcfg=None, outshifts="tweakreg_shifts.txt", outwcs="shifts_wcs.fits",
             clean=False, cores=1, **params):
    """Align ``files`` (glob, list, comma list, @file, _asn; relative paths are the caller's) to
    ``refcat``/``refimage``/the first image; returns the shifts table. Writes catalogs,
    ``<root>_hlet.fits``, ``tweakreg_shifts.ecsv``, the shiftfile ``outshifts``, the reference
    frame ``outwcs`` and the plots into ``outdir`` (``clean``: remove the catalogs afterwards);
    the workflow's own copies stay under ``outdir/results/tweakreg/align/``, so a rerun with the
    same files and parameters only redoes what changed. With ``expand_refcat`` the exposures
    are fitted one after another, each adding its unmatched sources to the reference catalog."""
    for key in _QUIET:
        params.pop(key, None)
    p = _parameters(imagefindcfg, refimagefindcfg,
                    {**params, "refimage": refimage or "", "refcat": refcat or "", "wcsname": wcsname})
    spec = runner.absolute_input(files)
    config = {"input": spec, "output": NAME, "align": True, **runner.absolute_files(p)}
    target = f"results/{NAME}/align/{NAME}_shifts.ecsv"
    runner.run([target], config=config, workdir=outdir, cores=cores)
    aligned = os.path.join(outdir, "results", NAME, "align")
    paths, _ = resolve_inputs(spec)
    roots = [rootname_of(path)[0] for path in paths]
    table = _publish(aligned, outdir, roots, outshifts, outwcs, with_catalogs=not clean)
    if updatehdr is True:
        for path, root in zip(paths, roots):
            apply_headerlet(path, os.path.join(outdir, f"{root}_hlet.fits"), inplace=True)
    if clean:  # the copies of an earlier run too; the rules make them again when needed
        for folder in (aligned, outdir):
            for root in roots:
                for name in _catalog_names(folder, root):
                    os.remove(os.path.join(folder, name))
    return table


def _catalog_names(folder, root):
    prefix = f"{root}_sci"
    return sorted(n for n in os.listdir(folder) if n.startswith(prefix) and "_xy_catalog." in n)


def _publish(aligned, outdir, roots, outshifts, outwcs, with_catalogs=True):
    """Copy the rules' products to the names TweakReg() has always used in ``outdir``; the
    shifts table and the shiftfile name the reference frame under its name there."""
    names = {f"{NAME}_shifts_wcs.fits": outwcs, f"{NAME}_refcat.ecsv": f"{NAME}_refcat.ecsv",
             f"{NAME}_residuals.png": "residuals.png", f"{NAME}_vectors.png": "vector.png",
             f"cumulative_sky_refcat_{NAME}.coo": f"cumulative_sky_refcat_{NAME}.coo"}
    for root in roots:
        for suffix in ("_hlet.fits", "_fit.json", "_catalog_fit.match", "_cumulative_refcat.ecsv"):
            names[root + suffix] = root + suffix
        if with_catalogs:
            names.update((n, n) for n in _catalog_names(aligned, root))
    for source, target in names.items():
        if os.path.exists(os.path.join(aligned, source)):
            with atomic_path(os.path.join(outdir, target)) as tmp:
                shutil.copyfile(os.path.join(aligned, source), tmp)
    frame, renamed = f"{NAME}_shifts_wcs.fits", os.path.basename(outwcs)
    table = Table.read(os.path.join(aligned, f"{NAME}_shifts.ecsv"))
    if table.meta.get("reference") == frame:
        table.meta["reference"] = renamed
    with atomic_path(os.path.join(outdir, f"{NAME}_shifts.ecsv")) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    with open(os.path.join(aligned, f"{NAME}_shifts.txt")) as f:
        text = f.read().replace(f"# refimage: {frame}[", f"# refimage: {renamed}[", 1)
    with atomic_path(os.path.join(outdir, outshifts)) as tmp, open(tmp, "w") as f:
        f.write(text)
    return table

def main(argv=None):
    """``tweakreg 'DIR/*_flc.fits' --refcat gaia.ecsv --threshold 5 --outdir DIR``"""
    names = [n for n in sdparams.ALIGN_DEFAULTS if n != "align"]
    parser = runner.command_parser(
        "tweakreg", "TweakReg as the snakedrizzle workflow's align rules: the shifts table, shiftfile, "
        "headerlets and catalogs of FILES in OUTDIR (refimagefindpars carry the prefix ref_).", names)
    parser.add_argument("files", help="glob, comma list, @file or _asn.fits (relative to the current directory)")
    parser.add_argument("--outdir", default="tweakreg", help="where everything is written (default: tweakreg)")
    parser.add_argument("--outshifts", default="tweakreg_shifts.txt", help="the shiftfile's name in OUTDIR")
    parser.add_argument("--outwcs", default="shifts_wcs.fits", help="the reference frame's name in OUTDIR")
    parser.add_argument("--updatehdr", default="false", metavar="true|false",
                        help="write the aligned WCS into the input files (default: false)")
    parser.add_argument("--clean", default="false", metavar="true|false", help="remove the catalogs afterwards")
    parser.add_argument("--cores", type=int, default=1, help="cores to use (default: 1)")
    args = parser.parse_args(argv)
    params = runner.command_values(args, names)

    def call():
        TweakReg(args.files, outdir=args.outdir, outshifts=args.outshifts, outwcs=args.outwcs, cores=args.cores,
                 updatehdr=runner.switch("updatehdr", args.updatehdr), clean=runner.switch("clean", args.clean),
                 **params)
        return [os.path.join(args.outdir, f"{NAME}_shifts.ecsv"), os.path.join(args.outdir, args.outshifts)]

    for path in runner.command_errors("tweakreg", call):
        print(path)
    return 0
