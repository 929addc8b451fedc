"""``TweakReg(files, ...)``: DrizzlePac's TweakReg keywords and defaults over the same library steps
the workflow's align rules run, one exposure after another, in ``outdir``. Inputs are never
modified unless ``updatehdr=True`` is asked for explicitly (then each exposure gets its aligned
WCS in place, the old one archived as an alternate)."""
import os

from . import params as sdparams
from .align import jobs
from .errors import InputError
from .exposure import read_exposure
from .inputs import resolve_inputs
from .updatehdr import apply_headerlet


def _parameters(imagefindcfg, refimagefindcfg, params):
    merged = dict(params)
    merged.update(imagefindcfg or {})
    merged.update({sdparams.REF_PREFIX + k: v for k, v in (refimagefindcfg or {}).items()})
    unknown = set(merged) - set(sdparams.ALIGN_DEFAULTS)
    if unknown:
        raise InputError("TweakReg", f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return {**sdparams.ALIGN_DEFAULTS, **sdparams.normalise(merged)}


def TweakReg(files, refimage=None, refcat=None, updatehdr=False, wcsname="TWEAK", outdir="tweakreg",
             imagefindcfg=None, refimagefindcfg=None, **params):
    """Align ``files`` (glob, list, comma list, @file, _asn) to ``refcat``/``refimage``/the first
    image; returns the shifts table. Writes catalogs, ``<root>_hlet.fits``, ``tweakreg_shifts.ecsv``
    and ``tweakreg_shifts.txt`` (TweakReg's shiftfile) into ``outdir``."""
    p = _parameters(imagefindcfg, refimagefindcfg,
                    {**params, "refimage": refimage or "", "refcat": refcat or "", "wcsname": wcsname})
    paths, _ = resolve_inputs(files if isinstance(files, str) else ",".join(map(str, files)))
    exps = [read_exposure(path) for path in paths]
    out = lambda name: os.path.join(outdir, name)  # noqa: E731
    cats = {}
    for e in exps:
        cats[e.rootname] = []
        for v in e.chips:
            base = out(f"{e.rootname}_sci{v}_xy_catalog")
            jobs.catalog_job(e.path, v, base + ".ecsv", base + ".coo", base + ".reg", p)
            cats[e.rootname].append(base + ".ecsv")
    first = exps[0]
    jobs.refcat_job(first.path, cats[first.rootname], out("tweakreg_refcat.ecsv"), out("shifts_wcs.fits"), p)
    fit_pars = sdparams.stage_params("align_fit", p)
    for e in exps:
        is_reference = e is first and not p["refimage"] and not p["refcat"]
        jobs.fit_job(e.path, e.rootname, cats[e.rootname], out("tweakreg_refcat.ecsv"), out("shifts_wcs.fits"),
                     out(f"{e.rootname}_hlet.fits"), out(f"{e.rootname}_fit.json"),
                     out(f"{e.rootname}_catalog_fit.match"), fit_pars, is_reference=is_reference)
    table = jobs.shifts_job([out(f"{e.rootname}_fit.json") for e in exps],
                            [out(f"{e.rootname}_catalog_fit.match") for e in exps],
                            out("tweakreg_shifts.ecsv"), out("tweakreg_shifts.txt"), out("residuals.png"),
                            out("vector.png"), out("shifts_wcs.fits"), p)
    if updatehdr is True:
        for e in exps:
            apply_headerlet(e.path, out(f"{e.rootname}_hlet.fits"), inplace=True)
    return table
