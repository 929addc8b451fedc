"""File-level final drizzle: reads the exposures, masks and sky values, drizzles them with
``adrizzle.drizzle`` and writes the product (SCI, WHT, CTX, HDRTAB) atomically."""
import logging
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.drizzle import adrizzle, ivm, product, provenance
from snakedrizzle.drizzle.chips import chip_inputs, chip_wcs, exposure_wcss, open_exposure, output_frame
from snakedrizzle.errors import InputError
from snakedrizzle.io import read_json, write_hdulist

log = logging.getLogger("snakedrizzle")


def final_drizzle_stage(exposure_paths, static_file, sky_files, crmask_files, out, pars, workers=1,
                        headerlets=None, ivm_sources=None):
    """The product. ``crmask_files`` maps (rootname, extver) to a CR mask file (or is empty).
    ``workers`` > 1 drizzles horizontal strips of the output in that many processes (same bits).
    ``ivm_sources`` ({rootname: ivm.sources(...)}, final_wht_type=IVM): what each exposure's IVM
    is read or made from; an exposure missing there gets its sources found now."""
    exps = [open_exposure(p, pars) for p in exposure_paths]
    if pars["final_wht_type"] == "IVM":
        ivm_sources = {e.rootname: (ivm_sources or {}).get(e.rootname) or ivm.sources(e) for e in exps}
    frame = output_frame(exposure_paths, pars, "final_", headerlets)
    # What made the intermediates (each carries its stage's parameters and its inputs'); CR
    # masks made for another product are recorded as that product's.
    here = os.path.dirname(os.path.abspath(out))
    lent = [f for f in crmask_files.values() if os.path.dirname(os.path.abspath(f)) != here]
    made_of = [f for f in [static_file, *sky_files, *crmask_files.values(), *(headerlets or {}).values()]
               if f and f not in lent]
    carried = [provenance.gather(made_of)]
    if lent:
        source = os.path.basename(os.path.dirname(os.path.abspath(lent[0])))
        carried.append(provenance.borrowed(provenance.gather(lent), source))
    params = provenance.record("final_drizzle", pars, carried)
    for exp in exps:
        if not adrizzle.reaches_frame(exposure_wcss(exp, pars, headerlets), exp.shapes, frame):
            raise InputError(exp.path, "does not overlap the output frame: nothing of it would be drizzled")
    chips, records, skies = _plan(exps, sky_files, static_file, crmask_files, frame, pars, headerlets,
                                  ivm_sources or {})
    bad = _unusable(records)
    if len(bad) == len(exps):
        raise InputError(", ".join(exposure_paths), "no exposure has a usable pixel (all NaN or flagged)")
    keep = [k for k, r in enumerate(records) if r["rootname"] not in bad]
    records, chips = [records[k] for k in keep], [chips[k] for k in keep]
    used = [e for e in exps if e.rootname not in bad]
    product.warn_mixed_filters(used, "DrizzlePac combines them too; the product's FILTER keywords "
                               "say MULTI and it has no PHOTFLAM")
    sci, wht, ctx = adrizzle.drizzle(chips, frame, kernel=pars["final_kernel"], pixfrac=pars["final_pixfrac"],
                                     fillval=pars["final_fillval"], context=pars["context"],
                                     stepsize=pars["stepsize"], workers=workers)
    if pars["final_units"] == "counts":
        sci *= np.float32(sum(e.exptime for e in used))  # total, not per-pixel, exposure time
    _write_product(out, used, records, skies, frame, sci, wht, ctx, pars, headerlets, params)


def _plan(exps, sky_files, static_file, crmask_files, frame, pars, headerlets, ivm_sources):
    """(DrizzleChip per chip, header record per chip, {(rootname, extver): MDRIZSKY})."""
    chips, records, skies = [], [], {}
    for exp, sky_file in zip(exps, sky_files):
        sky = read_json(sky_file)
        for ver, shape in zip(exp.chips, exp.shapes):
            w = chip_wcs(exp.path, ver, pars, headerlets)
            pix_ratio = W.frame_pscale(frame) / W.linear_pscale(w)
            wt_scl = adrizzle.final_wt_scl(pars["final_wht_type"], pars["final_wt_scl"], exp.exptime, pix_ratio)
            crmask = crmask_files.get((exp.rootname, ver))
            source = ivm_sources.get(exp.rootname)
            weight = _ivm_weight(source, exp, ver, float(sky["mdrizsky"][str(ver)])) if source else None
            read = _final_reader(exp, ver, pars, static_file, crmask, np.float32(sky["subtracted"][str(ver)]),
                                 weight)
            chips.append(adrizzle.DrizzleChip(w, shape, exp.exptime, read, exp.in_units, wt_scl))
            skies[(exp.rootname, ver)] = float(sky["mdrizsky"][str(ver)])
            records.append({"path": exp.path, "rootname": exp.rootname, "extver": ver, "exptime": exp.exptime,
                            "wt_scl": wt_scl, "mask": "static+dq" + ("+cr" if crmask else ""),
                            "scale": W.frame_pscale(frame), "iscale": W.linear_pscale(w),
                            "sky": skies[(exp.rootname, ver)],
                            "usable": bool(read(0, shape[0])[1].any())})
    for root in _unusable(records):
        log.warning("%s has no usable pixels (nothing unflagged and finite): left out of the product", root)
    return chips, records, skies


def _unusable(records):
    """Rootnames of the exposures none of whose chips has a pixel of non-zero weight."""
    roots = {r["rootname"] for r in records}
    return sorted(root for root in roots if not any(r["usable"] for r in records if r["rootname"] == root))


def _ivm_weight(source, exp, ver, mdrizsky):
    """Reader of a chip's IVM rows. The IVM's sky term is MDRIZSKY, the sky DrizzlePac counts as
    subtracted, even when skysub left the data as they were."""
    return lambda r0, r1: ivm.read_ivm(source, exp, ver, mdrizsky, rows=(r0, r1))


def _final_reader(exp, ver, pars, static_file, crmask, subtracted, read_ivm=None):
    def read(r0, r1):
        good, chip = chip_inputs(exp, ver, pars, pars["final_bits"], static_file, crmask, rows=(r0, r1),
                                 with_err=pars["final_wht_type"] == "ERR")
        weight = adrizzle.final_weight(pars["final_wht_type"], good, exp.exptime, err=chip.err,
                                       ivm=read_ivm(r0, r1) if read_ivm else None)
        chip.sci -= subtracted
        return chip.sci, weight
    return read


def _write_product(out, exps, records, skies, frame, sci, wht, ctx, pars, headerlets, params):
    bunit = _output_bunit(exps[0].bunit, pars["final_units"])
    made_of = {"inputs": {e.path: product.sha256(e.path) for e in exps}, "params": params}
    phdr = product.primary_header(exps, out, pars, records, made_of)
    wcsname = (chip_wcs(exps[0].path, exps[0].chips[0], pars, headerlets).wcs.name
               or fits.getheader(exps[0].path, ("SCI", exps[0].chips[0])).get("WCSNAME", ""))
    shdr = product.sci_header(frame, exps, bunit, wcsname)
    hdus = [fits.PrimaryHDU(header=phdr), fits.ImageHDU(sci, shdr, name="SCI", ver=1),
            fits.ImageHDU(wht, shdr, name="WHT", ver=1)]
    if pars["context"]:
        hdus.append(fits.ImageHDU(ctx[0] if ctx.shape[0] == 1 else ctx, shdr, name="CTX", ver=1))
    hdus.append(product.header_table(exps, skies))
    write_hdulist(fits.HDUList(hdus), out)


def _output_bunit(bunit, units):
    base = bunit.upper().replace("/S", "").strip() or "ELECTRONS"
    return base + "/S" if units == "cps" else base


