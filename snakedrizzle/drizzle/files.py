"""File-level stages: each reads its input files, calls the pure step functions and writes its
product atomically. One function per workflow rule; the scripts in ``scripts/`` only adapt
``snakemake`` objects to these calls, and users may call them directly.

``pars`` is always the dict of AstroDrizzle parameters the stage uses (see ``params.STAGES``).
"""
import functools
import logging
import os

import numpy as np
from astropy.io import fits

from snakedrizzle.drizzle import ablot, adrizzle, drizcr, median as med, sky as skymod, static as staticmod
from snakedrizzle import wcs as W
from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import read_chip, read_exposure
from snakedrizzle.io import read_json, write_hdulist, write_image, write_json
from snakedrizzle.drizzle.masks import good_pixels, reset_bits
from snakedrizzle.drizzle.parallel import row_strips, run_strips, shared_array

log = logging.getLogger("snakedrizzle")


def _exposure(path, pars):
    return read_exposure(path, exptime=pars.get("exptime"), gain=pars.get("gain"),
                         rdnoise=pars.get("rdnoise"))


@functools.lru_cache(maxsize=64)
def _cached_wcs(path, ver, coeffs, headerlet, mtimes):
    return W.chip_wcs(path, ver, coeffs, headerlet=headerlet)


def _chip_wcs(path, ver, pars, headerlets=None):
    """A chip's full-distortion WCS (read once per process): the aligned one from the exposure's
    headerlet when ``headerlets`` ({rootname: headerlet file}, from the align stages) has one."""
    from snakedrizzle.io.exposure import rootname_of

    hlet = (headerlets or {}).get(rootname_of(path)[0])
    mtimes = tuple(os.path.getmtime(f) for f in (path, hlet) if f)
    return _cached_wcs(path, int(ver), bool(pars["coeffs"]), hlet, mtimes)


def _nsplit(text):
    return tuple(float(v) for v in str(text).replace(",", " ").split())


# ---- static mask and sky ------------------------------------------------------------------------

def prepare_stage(exposure_path, out_static, out_stats, pars):
    """Everything that needs one pass over an exposure's own pixels: per-chip static masks (one
    uint8 extension per chip, 1 = good) and sky statistics. When the exposure's sky depends on it
    alone (``local_sky``), the statistics file also carries its MDRIZSKY values."""
    exp = _exposure(exposure_path, pars)
    hdus, stats = [fits.PrimaryHDU()], {}
    for ver in exp.chips:
        chip = read_chip(exp.path, ver)
        static_good = (staticmod.static_mask(chip.sci, pars["static_sig"]) if pars["static"]
                       else np.ones(chip.sci.shape, bool))
        hdus.append(fits.ImageHDU(static_good.astype(np.uint8), name="MASK", ver=ver))
        log.info("%s[sci,%d]: static mask flags %d pixels", exp.rootname, ver, int((~static_good).sum()))
        stats[str(ver)] = _chip_sky_stats(exp, ver, chip, static_good, pars)
    write_hdulist(fits.HDUList(hdus), out_static)
    record = {"rootname": exp.rootname, "chips": stats}
    if skymod.local_sky(pars):
        record.update(_sky_values(exp, stats, [], pars))
    write_json(out_stats, record)


def _chip_sky_stats(exp, ver, chip, static_good, pars):
    """Sky statistic of one chip, in data units, plus what converts it to surface brightness."""
    good = chip.finite & good_pixels(reset_bits(chip.dq, pars["resetbits"]), pars["sky_bits"])
    if pars["use_static"]:
        good &= static_good
    value = skymod.chip_sky(chip.sci, good, pars["skystat"], pars["skywidth"], pars["skylower"],
                            pars["skyupper"], pars["skyclip"], pars["skylsigma"], pars["skyusigma"])
    return {"value": value, "pscale": W.linear_pscale(W.chip_wcs(exp.path, ver)),
            "exptime": exp.exptime, "in_units": exp.in_units}


def combine_static_stage(exposure_paths, mask_files, out, pars):
    """The product's static mask: for each (shape, chip) signature, bad if bad in any exposure."""
    combined = {}
    for path, mfile in zip(exposure_paths, mask_files):
        exp = _exposure(path, pars)
        with fits.open(mfile) as hdul:
            for ver, shape in zip(exp.chips, exp.shapes):
                key = (shape, ver)
                m = hdul["MASK", ver].data.astype(bool)
                combined[key] = combined[key] & m if key in combined else m
    hdus = [fits.PrimaryHDU()]
    for (shape, ver), m in combined.items():
        hdu = fits.ImageHDU(m.astype(np.uint8), name="MASK", ver=ver)
        hdu.header["SIGNATUR"] = (f"{shape[0]}x{shape[1]}_{ver}", "shape and chip the mask applies to")
        hdus.append(hdu)
    write_hdulist(fits.HDUList(hdus), out)


def _static_for(static_file, shape, ver):
    if not static_file:
        return True
    with fits.open(static_file) as hdul:
        for hdu in hdul[1:]:
            if hdu.ver == ver and hdu.data.shape == tuple(shape):
                return hdu.data.astype(bool)
    return True


def sky_stage(exposure_path, stats_files, out, pars):
    """MDRIZSKY per chip of one exposure from the statistics of every exposure of the product
    (``stats_files``: its own first), for the methods that compare exposures (globalmin, match)."""
    exp = _exposure(exposure_path, pars)
    own = read_json(stats_files[0])["chips"]
    pool = [c for f in stats_files for c in read_json(f)["chips"].values()]
    write_json(out, {"rootname": exp.rootname, **_sky_values(exp, own, pool, pars)})


def _sky_values(exp, own, pool, pars):
    """{'method', 'mdrizsky', 'subtracted'} of one exposure from its chips' statistics ``own``
    and, for the global methods, those of all exposures (``pool``)."""
    method = pars["skymethod"]
    sky = {str(v): 0.0 for v in exp.chips}
    subtract = bool(pars["skysub"])
    if pars["skyfile"]:
        values, applied = skymod.parse_skyfile(pars["skyfile"])
        row = values.get(os.path.basename(exp.path)) or values.get(exp.rootname)
        if row is None:
            raise InputError(pars["skyfile"], f"no sky value for {os.path.basename(exp.path)}")
        sky = {str(v): row[min(i, len(row) - 1)] for i, v in enumerate(exp.chips)}
        subtract = subtract and not applied
    elif not subtract:
        if pars["skyuser"]:
            hdr = fits.getheader(exp.path, ("SCI", exp.chips[0]))
            if pars["skyuser"] not in hdr:
                raise InputError(exp.path, f"skyuser keyword {pars['skyuser']} not in the SCI header")
            sky = {str(v): float(fits.getheader(exp.path, ("SCI", v)).get(pars["skyuser"], 0.0)) for v in exp.chips}
    else:
        if method != "localmin" and method != "globalmin":
            # 'match' needs image overlaps; until then it falls back to globalmin as AstroDrizzle
            # does when matching fails (noted in the log).
            log.warning("skymethod=%s: sky matching is not implemented; using globalmin", method)
        b = skymod.minimum_sky(list(own.values()) if method == "localmin" else pool)
        if b is None:
            log.warning("%s: no usable sky pixels; sky set to 0", exp.rootname)
            b = 0.0
        sky = {k: skymod.from_brightness(b, c["pscale"], c["exptime"], c["in_units"]) for k, c in own.items()}
    return {"method": method, "mdrizsky": sky,
            "subtracted": {k: (v if subtract else 0.0) for k, v in sky.items()}}


# ---- separate drizzle --------------------------------------------------------------------------

def _frame_pars(pars, prefix):
    keys = ("ra", "dec", "scale", "rot", "outnx", "outny", "crpix1", "crpix2")
    return {k: pars.get(prefix + k) for k in keys}


def output_frame(exposure_paths, pars, prefix="final_", headerlets=None):
    """The default frame of all chips, customised by the ``final_*`` (or ``driz_sep_*``) values."""
    if pars.get(prefix + "wcs") and pars.get(prefix + "refimage"):
        base = W.frame_from_image(pars[prefix + "refimage"])
    else:
        wcss = []
        for path in exposure_paths:
            exp = _exposure(path, pars)
            wcss += [_chip_wcs(path, v, pars, headerlets) for v in exp.chips]
        base = W.default_frame(wcss)
    if pars.get(prefix + "wcs"):
        return W.custom_frame(base, **_frame_pars(pars, prefix))
    return base


def separate_frame_stage(exposure_paths, out, pars, headerlets=None):
    """The plane of the separate drizzle: DrizzlePac's default frame of ``exposure_paths`` (or the
    ``driz_sep_*`` custom frame). Each exposure is drizzled onto its own window of it, so an
    exposure added later only needs a window of its own; with ``driz_sep_wcs`` windows are
    clipped to the user's frame."""
    frame = output_frame(exposure_paths, pars, prefix="driz_sep_", headerlets=headerlets)
    hdr = W.frame_to_header(frame)
    hdr["BOUNDED"] = (bool(pars.get("driz_sep_wcs")), "windows are clipped to NAXIS1/2")
    write_hdulist(fits.HDUList([fits.PrimaryHDU(header=hdr)]), out)


def _window(exp, plane, bounded, pars, headerlets):
    """The exposure's window in the plane: integer-aligned box around its chip footprints."""
    boxes = [W.footprint_bounds(_chip_wcs(exp.path, v, pars, headerlets), plane, s)
             for v, s in zip(exp.chips, exp.shapes)]
    x0 = int(np.floor(min(b[0] for b in boxes))) - 2
    x1 = int(np.ceil(max(b[1] for b in boxes))) + 3
    y0 = int(np.floor(min(b[2] for b in boxes))) - 2
    y1 = int(np.ceil(max(b[3] for b in boxes))) + 3
    if bounded:
        nx, ny = plane.pixel_shape
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, nx), min(y1, ny)
        if x1 <= x0 or y1 <= y0:
            raise InputError(exp.path, "does not overlap the separate-drizzle output frame")
    return x0, y0, x1 - x0, y1 - y0


def chip_inputs(exp, ver, pars, bits, static_file, crmask_file=None, rows=None, with_err=True):
    """(good-pixel mask, chip arrays) for drizzling one chip (rows ``rows=(r0, r1)`` only, if
    given): DQ (after resetbits), static mask, CR mask and non-finite pixels combined."""
    chip = read_chip(exp.path, ver, with_err=with_err, rows=rows)
    cut = slice(*rows) if rows else slice(None)
    dq = reset_bits(chip.dq, pars["resetbits"])
    static = _static_for(static_file, exp.shapes[exp.chips.index(ver)], ver)
    good = chip.finite & good_pixels(dq, bits) & (static[cut] if isinstance(static, np.ndarray) else static)
    if crmask_file:
        good &= fits.getdata(crmask_file)[cut].astype(bool)
    return good, chip


def single_drizzle_stage(exposure_path, static_file, sky_file, plane_file, out_sci, out_wht, pars,
                         headerlets=None):
    exp = _exposure(exposure_path, pars)
    plane_hdr = fits.getheader(plane_file)
    plane = W.frame_from_header(plane_hdr)
    x0, y0, nx, ny = _window(exp, plane, plane_hdr.get("BOUNDED", False), pars, headerlets)
    frame = W.subframe(plane, x0, y0, nx, ny)
    subtracted = read_json(sky_file)["subtracted"]
    out = adrizzle.new_output((ny, nx), pars["driz_sep_kernel"], pars["driz_sep_fillval"], context=False)
    for ver in exp.chips:
        good, chip = chip_inputs(exp, ver, pars, pars["driz_sep_bits"], static_file, with_err=False)
        w = _chip_wcs(exp.path, ver, pars, headerlets)
        pix_ratio = W.frame_pscale(frame) / W.linear_pscale(w)
        wt_scl = _wt_scl(pars["driz_sep_wt_scl"])
        adrizzle.add_chip(out, chip.sci - np.float32(subtracted[str(ver)]), exp.exptime * good,
                          W.pixmap(w, frame, chip.sci.shape, pars["stepsize"]), exp.exptime, pix_ratio,
                          pars["driz_sep_pixfrac"], exp.in_units, wt_scl)
    sci = out.out_img
    if pars["driz_sep_fillval"] is None:  # AstroDrizzle's separate images start (and stay) at 0
        sci = np.where(out.out_wht > 0, sci, 0.0).astype(np.float32)
    hdr = W.frame_to_header(frame)
    hdr["WINX0"], hdr["WINY0"] = (x0, "window origin in the separate-drizzle plane (0-based)"), (y0, "")
    hdr["EXPTIME"] = exp.exptime
    hdr["BUNIT"] = "ELECTRONS/S"
    hdr["ROOTNAME"] = exp.rootname
    write_image(out_sci, sci, hdr)
    write_image(out_wht, out.out_wht, hdr)


def _wt_scl(value):
    # 'exptime'/'expsq' resolve to 1: the weight image already holds EXPTIME (SPEC §1.7 quirk).
    if value is None or str(value).strip().lower() in ("exptime", "expsq", ""):
        return 1.0
    return float(value)


# ---- median ------------------------------------------------------------------------------------

def median_stage(exposure_paths, sci_files, wht_files, sky_files, out, pars, workers=1):
    """The median (or other combination) of the separately drizzled exposures, on the union of
    their windows; ``workers`` > 1 splits its rows between processes."""
    exps = [_exposure(p, pars) for p in exposure_paths]
    headers = [fits.getheader(f) for f in sci_files]
    x0s = [h["WINX0"] for h in headers]
    y0s = [h["WINY0"] for h in headers]
    gx0, gy0 = min(x0s), min(y0s)
    gx1 = max(x + h["NAXIS1"] for x, h in zip(x0s, headers))
    gy1 = max(y + h["NAXIS2"] for y, h in zip(y0s, headers))
    ny, nx = gy1 - gy0, gx1 - gx0
    frame = W.subframe(W.frame_from_header(headers[0]), gx0 - x0s[0], gy0 - y0s[0], nx, ny)

    readnoise = [e.rdnoise for e in exps]  # one read noise per exposure: all its chips share it
    exptime = [e.exptime for e in exps]
    background = []
    for e, f in zip(exps, sky_files):
        sky = read_json(f)["subtracted"]
        background.append(min(sky[str(v)] * e.conversion_factor for v in e.chips))
    wht_means = []
    for f in wht_files:
        with fits.open(f, memmap=False) as h:
            wht_means.append(med.mean_positive(h[0].section[:]))
    result = shared_array((ny, nx), np.float32) if workers > 1 else np.zeros((ny, nx), np.float32)
    offsets = ([x - gx0 for x in x0s], [y - gy0 for y in y0s])
    run_strips(row_strips(ny, workers), lambda r0, r1: _stream_combine(
        sci_files, wht_files, *offsets, (ny, nx), pars, wht_means, readnoise, exptime, background, result, r0, r1))
    hdr = W.frame_to_header(frame)
    hdr["BUNIT"] = "ELECTRONS/S"
    hdr["WINX0"], hdr["WINY0"] = gx0, gy0
    write_image(out, result, hdr)


def _rows_per_block(n_images, ncols, bufsize_mb, grow):
    budget = (bufsize_mb or 64) * 2 ** 20
    per_row = max(n_images, 1) * ncols * 4 * 8  # stack, weights, masks and sort buffers
    return max(int(budget // per_row), 2 * grow + 1, 1)


def _stream_combine(sci_files, wht_files, xoffs, yoffs, shape, pars, wht_means, readnoise, exptime,
                    background, result, first_row, end_row):
    """Median of images placed at offsets in the median frame, into ``result`` rows
    [first_row, end_row), one block of rows at a time.

    Each process opens the files itself (a shared file offset would mix the reads of two
    processes) and reads rows explicitly (``section``) instead of memory-mapping: mapped pages of
    every exposure would stay resident, and memory would grow with the number of exposures."""
    scis = [fits.open(f, memmap=False) for f in sci_files]
    whts = [fits.open(f, memmap=False) for f in wht_files]
    try:
        _combine_rows(scis, whts, xoffs, yoffs, shape, pars, wht_means, readnoise, exptime, background,
                      result, first_row, end_row)
    finally:
        for h in scis + whts:
            h.close()


def _combine_rows(scis, whts, xoffs, yoffs, shape, pars, wht_means, readnoise, exptime, background,
                  result, first_row, end_row):
    ny, nx = shape
    n = len(scis)
    grow = int(pars["combine_grow"]) if "minmed" in pars["combine_type"] else 0
    rows = _rows_per_block(n, nx, pars["combine_bufsize"], grow)
    lth, hth = _thresholds(pars, n)
    for r0 in range(first_row, end_row, rows):
        r1 = min(r0 + rows, end_row)
        e0, e1 = max(r0 - grow, 0), min(r1 + grow, ny)  # overlap rows so 'grow' sees neighbours
        stack = np.zeros((n, e1 - e0, nx), dtype=np.float32)
        wstack = np.zeros_like(stack)
        outside = np.ones(stack.shape, dtype=bool)
        for k in range(n):
            h, w = scis[k][0].header["NAXIS2"], scis[k][0].header["NAXIS1"]
            a0, a1 = max(e0 - yoffs[k], 0), min(e1 - yoffs[k], h)
            if a1 <= a0:
                continue
            dst = (k, slice(a0 + yoffs[k] - e0, a1 + yoffs[k] - e0), slice(xoffs[k], xoffs[k] + w))
            stack[dst] = scis[k][0].section[a0:a1]
            wstack[dst] = whts[k][0].section[a0:a1]
            outside[dst] = False
        block_pars = dict(pars, outside=outside, wht_means=wht_means, grow=grow, lthresh=lth, hthresh=hth)
        combined = med.combine_stack(stack, wstack, block_pars, readnoise, exptime, background)
        result[r0:r1] = combined[r0 - e0:r1 - e0]


def _thresholds(pars, n):
    lt, ht = pars.get("combine_lthresh"), pars.get("combine_hthresh")
    return (None if lt is None else [lt] * n), (None if ht is None else [ht] * n)


# ---- blot and driz_cr --------------------------------------------------------------------------

def blot_stage(exposure_path, ver, median_file, sky_file, out, pars, headerlets=None):
    exp = _exposure(exposure_path, pars)
    ver = int(ver)
    median_data = fits.getdata(median_file).astype(np.float32)
    frame = W.frame_from_header(fits.getheader(median_file))
    w = _chip_wcs(exp.path, ver, pars, headerlets)
    shape = exp.shapes[exp.chips.index(ver)]
    pix_ratio = W.frame_pscale(frame) / W.linear_pscale(w)
    pm = W.pixmap(w, frame, shape, pars["stepsize"])
    blotted = ablot.blot(median_data, pm, exp.exptime, pix_ratio, pars["blot_interp"])
    blotted /= np.float32(exp.conversion_factor)
    sky = read_json(sky_file)["subtracted"][str(ver)] if pars["blot_addsky"] else pars["blot_skyval"]
    blotted += np.float32(sky)
    write_image(out, blotted.astype(np.float32), fits.getheader(exp.path, ("SCI", ver)))


def driz_cr_stage(exposure_path, ver, blot_file, sky_file, out, pars):
    exp = _exposure(exposure_path, pars)
    ver = int(ver)
    chip = read_chip(exp.path, ver)
    c = np.float32(exp.conversion_factor)
    sky = read_json(sky_file)["mdrizsky"][str(ver)] * exp.conversion_factor
    good = drizcr.cr_mask(chip.sci * c, fits.getdata(blot_file).astype(np.float32) * c, sky,
                          exp.rdnoise, 1.0, _nsplit(pars["driz_cr_snr"]), _nsplit(pars["driz_cr_scale"]),
                          int(pars["driz_cr_grow"]), int(pars["driz_cr_ctegrow"]), exp.cte_direction(ver))
    log.info("%s[sci,%d]: %d cosmic-ray pixels", exp.rootname, ver, int((~good).sum()))
    write_image(out, good.astype(np.uint8))


def crclean_stage(exposure_path, mask_files, blot_files, out, pars):
    """A cleaned copy of the exposure: CR pixels replaced by the blotted median, DQ |= crbit."""
    exp = _exposure(exposure_path, pars)
    crbit = int(pars["crbit"] or 0)
    with fits.open(exp.path) as src:
        hdul = fits.HDUList([h.copy() for h in src])
    for ver, mfile, bfile in zip(exp.chips, mask_files, blot_files):
        chip = read_chip(exp.path, ver)
        good = fits.getdata(mfile).astype(bool) & good_pixels(reset_bits(chip.dq, pars["resetbits"]), crbit)
        hdul["SCI", ver].data = np.where(good, chip.sci, fits.getdata(bfile)).astype(np.float32)
        dq = hdul["DQ", ver].data
        if dq is not None and dq.shape == good.shape:
            hdul["DQ", ver].data = np.where(good, dq, dq | crbit).astype(dq.dtype)
    write_hdulist(hdul, out)


# ---- final drizzle -----------------------------------------------------------------------------

def final_drizzle_stage(exposure_paths, static_file, sky_files, crmask_files, out, pars, workers=1,
                        headerlets=None):
    """The product. ``crmask_files`` maps (rootname, extver) to a CR mask file (or is empty).
    ``workers`` > 1 drizzles horizontal strips of the output in that many processes (same result)."""
    from snakedrizzle.drizzle import product

    if pars["final_wht_type"] == "IVM":
        raise InputError("final_wht_type", "IVM weighting is not supported yet (no IVM files or "
                         "flat/dark reference files are read); use EXP or ERR")
    exps = [_exposure(p, pars) for p in exposure_paths]
    frame = output_frame(exposure_paths, pars, "final_", headerlets)
    _check_overlap(exps, frame, pars, headerlets)
    plan, records, skies = [], [], {}
    for exp, sky_file in zip(exps, sky_files):
        sky = read_json(sky_file)
        for ver in exp.chips:
            w = _chip_wcs(exp.path, ver, pars, headerlets)
            pix_ratio = W.frame_pscale(frame) / W.linear_pscale(w)
            wt_scl = adrizzle.final_wt_scl(pars["final_wht_type"], pars["final_wt_scl"], exp.exptime, pix_ratio)
            crmask = crmask_files.get((exp.rootname, ver))
            plan.append((exp, ver, w, pix_ratio, wt_scl, np.float32(sky["subtracted"][str(ver)]), crmask))
            skies[(exp.rootname, ver)] = float(sky["mdrizsky"][str(ver)])
            records.append({"path": exp.path, "extver": ver, "exptime": exp.exptime, "wt_scl": wt_scl,
                            "mask": "static+dq" + ("+cr" if crmask else ""),
                            "scale": W.frame_pscale(frame), "iscale": W.linear_pscale(w),
                            "sky": skies[(exp.rootname, ver)]})

    def add_chips(out_driz, y0, y1):
        """Drizzle what reaches output rows [y0, y1) into ``out_driz`` (whose row 0 is y0)."""
        for exp, ver, w, pix_ratio, wt_scl, subtracted, crmask in plan:
            shape = exp.shapes[exp.chips.index(ver)]
            rows = W.rows_reaching(w, frame, shape, pars["stepsize"], y0, y1)
            if rows is None:
                adrizzle.skip_chip(out_driz)
                continue
            # Two more rows each side: the kernel takes pixel corners from neighbouring map values.
            r0, r1 = max(rows[0] - 2, 0), min(rows[1] + 2, shape[0])
            good, chip = chip_inputs(exp, ver, pars, pars["final_bits"], static_file, crmask, rows=(r0, r1),
                                     with_err=pars["final_wht_type"] == "ERR")
            weight = adrizzle.final_weight(pars["final_wht_type"], good, exp.exptime, err=chip.err)
            pm = W.pixmap(w, frame, shape, pars["stepsize"], rows=(r0, r1))
            pm[..., 1] -= y0
            chip.sci -= subtracted
            adrizzle.add_chip(out_driz, chip.sci, weight, pm, exp.exptime, pix_ratio,
                              pars["final_pixfrac"], exp.in_units, wt_scl,
                              rows=(rows[0] - r0, rows[1] - 1 - r0))

    # Rows beyond a strip that its input pixels can still reach: kernel size × input/output scale.
    margin = int(np.ceil(8.0 / min(p[3] for p in plan))) + 4
    sci, wht, ctx = adrizzle.drizzle_strips(frame.pixel_shape[::-1], add_chips, workers, margin,
                                            kernel=pars["final_kernel"], fillval=pars["final_fillval"],
                                            n_chips=len(plan), context=pars["context"])
    bunit = _output_bunit(exps[0].bunit, pars["final_units"])
    if pars["final_units"] == "counts":
        sci *= np.float32(sum(e.exptime for e in exps))  # total, not per-pixel, exposure time
    provenance = {"inputs": {e.path: product.sha256(e.path) for e in exps}}
    phdr = product.primary_header(exps, out, pars, records, provenance)
    wcsname = (_chip_wcs(exps[0].path, exps[0].chips[0], pars, headerlets).wcs.name
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


def _check_overlap(exps, frame, pars, headerlets):
    nx, ny = frame.pixel_shape
    for exp in exps:
        inside = False
        for ver, shape in zip(exp.chips, exp.shapes):
            x0, x1, y0, y1 = W.footprint_bounds(_chip_wcs(exp.path, ver, pars, headerlets), frame, shape)
            inside |= x1 > -0.5 and x0 < nx - 0.5 and y1 > -0.5 and y0 < ny - 0.5
        if not inside:
            raise InputError(exp.path, "does not overlap the output frame: nothing of it would be drizzled")
