"""``TweakReg(files, ...)``: DrizzlePac's TweakReg keywords and defaults over the same library steps
the workflow's align rules run, one exposure after another, in ``outdir``. Inputs are never
modified unless ``updatehdr=True`` is asked for explicitly (then each exposure gets its aligned
WCS in place, the old one archived as an alternate)."""
import os

from snakedrizzle.workflow import params as sdparams
from snakedrizzle.align import jobs
from snakedrizzle.align.chipfiles import chip_file
from snakedrizzle.align.order import overlap_order
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_exposure
from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.align.updatehdr import apply_headerlet


def _parameters(imagefindcfg, refimagefindcfg, params):
    merged = dict(params)
    merged.update(imagefindcfg or {})
    merged.update({sdparams.REF_PREFIX + k: v for k, v in (refimagefindcfg or {}).items()})
    unknown = set(merged) - set(sdparams.ALIGN_DEFAULTS)
    if unknown:
        raise InputError("TweakReg", f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return {**sdparams.ALIGN_DEFAULTS, **sdparams.normalise(merged)}


# Keywords of DrizzlePac's TweakReg about its display and log; accepted, they change nothing here.
_QUIET = ("interactive", "verbose", "runfile", "see2dplot", "shiftfile", "headerlet", "attach", "hdrfile",
          "clobber", "writecat", "updatewcs")


def TweakReg(files, refimage=None, refcat=None, updatehdr=False, wcsname="TWEAK", outdir="tweakreg",
             imagefindcfg=None, refimagefindcfg=None, outshifts="tweakreg_shifts.txt", outwcs="shifts_wcs.fits",
             clean=False, **params):
    """Align ``files`` (glob, list, comma list, @file, _asn) to ``refcat``/``refimage``/the first
    image; returns the shifts table. Writes catalogs, ``<root>_hlet.fits``, ``tweakreg_shifts.ecsv``,
    the shiftfile ``outshifts`` and the reference frame ``outwcs`` into ``outdir`` (``clean``:
    remove the catalogs afterwards). With ``expand_refcat`` the exposures are fitted one after
    another, each adding its unmatched sources to the reference catalog."""
    for key in _QUIET:
        params.pop(key, None)
    p = _parameters(imagefindcfg, refimagefindcfg,
                    {**params, "refimage": refimage or "", "refcat": refcat or "", "wcsname": wcsname})
    paths, _ = resolve_inputs(files if isinstance(files, str) else ",".join(map(str, files)))
    exps = {e.rootname: e for e in (read_exposure(path) for path in paths)}
    order = list(exps)
    if p["expand_refcat"] and not p["enforce_user_order"]:
        order = overlap_order(list(exps.values()))
    out = lambda name: os.path.join(outdir, name)  # noqa: E731
    cats = {root: _catalogs(e, out, p) for root, e in exps.items()}
    first = exps[order[0]]
    refcat_path = out("tweakreg_refcat.ecsv")
    jobs.refcat_job(first.path, cats[first.rootname], refcat_path, out(outwcs), p)
    fit_pars = sdparams.stage_params("align_fit", p)
    for root in order:
        e = exps[root]
        is_reference = e is first and not p["refimage"] and not p["refcat"]
        jobs.fit_job(e.path, root, cats[root], refcat_path, out(outwcs), out(f"{root}_hlet.fits"),
                     out(f"{root}_fit.json"), out(f"{root}_catalog_fit.match"), fit_pars, is_reference=is_reference)
        if p["expand_refcat"]:
            grown = out(f"{root}_cumulative_refcat.ecsv")
            jobs.expand_job(refcat_path, e.path, cats[root], out(f"{root}_hlet.fits"), out(outwcs), grown, p)
            refcat_path = grown
    if p["expand_refcat"]:
        jobs.write_sky_coo(refcat_path, out("cumulative_sky_refcat_tweakreg.coo"))
    table = jobs.shifts_job([out(f"{r}_fit.json") for r in exps], [out(f"{r}_catalog_fit.match") for r in exps],
                            out("tweakreg_shifts.ecsv"), out(outshifts), out("residuals.png"), out("vector.png"),
                            out(outwcs), p)
    if updatehdr is True:
        for root, e in exps.items():
            apply_headerlet(e.path, out(f"{root}_hlet.fits"), inplace=True)
    if clean:
        for path in (c for cs in cats.values() for c in cs):
            os.remove(path)
    return table


def _catalogs(exposure, out, p):
    """The exposure's chip catalogs (found, or from catfile), as ECSV paths in ``outdir``."""
    paths = []
    for index, v in enumerate(exposure.chips):
        base = out(f"{exposure.rootname}_sci{v}_xy_catalog")
        jobs.catalog_job(exposure.path, v, base + ".ecsv", base + ".coo", base + ".reg", p,
                         usercat=chip_file(p["catfile"], exposure.path, index),
                         region=chip_file(p["exclusions"], exposure.path, index))
        paths.append(base + ".ecsv")
    return paths
