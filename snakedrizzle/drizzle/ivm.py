"""Inverse-variance (IVM) weights of the final drizzle (``final_wht_type=IVM``, SPEC §1.11).

Two sources, as DrizzlePac has them, chosen per exposure:

* a user IVM file, named in the second column of an ``@file`` input list: a FITS file with one
  ``IVM,<extver>`` image per chip of the exposure (DrizzlePac's convention). As an extension, a
  file holding a single image is accepted for a one-chip exposure.
* otherwise the IVM DrizzlePac generates: ``flat² / (dark + sky·flat + readnoise²)`` with the
  flat from the exposure's ``PFLTFILE`` (its ``SCI,<extver>`` cut to a subarray by LTV1/LTV2),
  dark = the chip's ``MEANDARK``, sky = the chip's MDRIZSKY (times the exposure time for
  count-rate data, so everything is in electrons) and the read noise of the exposure.

Reference-file names in headers are written ``jref$name.fits``: the part before ``$`` names an
environment variable holding the folder (``$jref/name.fits``), as in the HST pipeline.

Where DrizzlePac differs: a flat it cannot find is replaced by 1 with a warning; here it is an
InputError naming the file and the variable, raised when the workflow is planned. For WFC3/IR
DrizzlePac means to read the DARKFILE, but its subarray cut uses float indices and always falls
back to MEANDARK; MEANDARK is what it uses and what is used here, for every detector.
"""
import os
import re

import numpy as np
from astropy.io import fits

from snakedrizzle.errors import InputError

# A header's reference-file value: 'jref$name.fits' (IRAF-style environment prefix).
_ENV_PREFIX = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)\$(?P<name>.+)$")


def reference_path(value, keyword, owner):
    """The file behind a header value like ``jref$x_pfl.fits`` (or a plain path). InputError
    naming ``owner`` (the exposure), the keyword, the variable and the file when it is not
    reachable."""
    value = str(value or "").strip()
    if not value or value.upper() == "N/A":
        raise InputError(owner, f"final_wht_type=IVM without an IVM file needs the {keyword} reference "
                         f"file, but the header gives none ({keyword}={value!r}); name IVM files in an @file list")
    match = _ENV_PREFIX.match(value)
    if match:
        var = match["var"]
        folder = os.environ.get(var) or os.environ.get(var.lower()) or os.environ.get(var.upper())
        if not folder:
            raise InputError(owner, f"{keyword}={value}: environment variable ${var} is not set; set it to "
                             f"the folder holding {match['name']} (or name IVM files in an @file list)")
        path = os.path.join(folder, match["name"])
    else:
        path = value
    if not os.path.isfile(path):
        raise InputError(path, f"reference file {keyword} of {owner} not found"
                         + (f" (${match['var']}={folder})" if match else "")
                         + "; final_wht_type=IVM without an IVM file needs it")
    return os.path.abspath(path)


def sources(exposure, ivm_file=None):
    """What the IVM of each chip of ``exposure`` (an io.exposure.Exposure) is made from, checked
    now so that a missing file stops the run before any job: ``{'ivm': path}`` for a user file,
    else ``{'flat': path, 'meandark': {extver: value}}``. JSON-able (it travels as a rule param)."""
    if ivm_file:
        _check_user_file(ivm_file, exposure)
        return {"ivm": os.path.abspath(ivm_file)}
    with fits.open(exposure.path) as hdul:
        flat = reference_path(hdul[0].header.get("PFLTFILE"), "PFLTFILE", exposure.path)
        dark = {}
        for ver in exposure.chips:
            value = hdul["SCI", ver].header.get("MEANDARK")
            if value is None:
                raise InputError(exposure.path, f"SCI,{ver} has no MEANDARK keyword: final_wht_type=IVM "
                                 "without an IVM file needs the mean dark (or name IVM files in an @file list)")
            dark[str(ver)] = float(value)
    with fits.open(flat) as ref:
        names = {(h.name.upper(), h.ver) for h in ref}
    for ver in exposure.chips:
        if ("SCI", ver) not in names:
            raise InputError(flat, f"flat field (PFLTFILE of {exposure.path}) has no SCI,{ver} extension")
    return {"flat": flat, "meandark": dark}


def _ivm_hdu_index(hdul, ver, n_chips):
    """Index of the chip's IVM image in an open IVM file, or None."""
    for k, hdu in enumerate(hdul):
        if hdu.name.upper() == "IVM" and hdu.ver == ver:
            return k
    images = [k for k, hdu in enumerate(hdul) if hdu.is_image and hdu.header.get("NAXIS", 0) == 2]
    if n_chips == 1 and len(images) == 1 and not any(h.name.upper() == "IVM" for h in hdul):
        return images[0]
    return None


def _check_user_file(path, exposure):
    if not os.path.isfile(path):
        raise InputError(path, f"IVM file of {exposure.path} (@file list) not found "
                         f"(looked for {os.path.abspath(path)})")
    try:
        with fits.open(path) as hdul:
            for ver, shape in zip(exposure.chips, exposure.shapes):
                k = _ivm_hdu_index(hdul, ver, len(exposure.chips))
                if k is None:
                    raise InputError(path, f"IVM file of {exposure.path} has no IVM,{ver} extension")
                if tuple(hdul[k].shape) != tuple(shape):
                    raise InputError(path, f"IVM,{ver} has shape {hdul[k].shape}, the chip SCI,{ver} of "
                                     f"{exposure.path} has {tuple(shape)}")
    except OSError as exc:
        raise InputError(path, f"IVM file is not a readable FITS file ({exc})") from None


def read_user_ivm(path, ver, n_chips, rows=None):
    """Rows ``rows=(r0, r1)`` (all if None) of a chip's IVM from a user file, float32."""
    cut = slice(*rows) if rows else slice(None)
    with fits.open(path, memmap=True) as hdul:
        k = _ivm_hdu_index(hdul, ver, n_chips)
        if k is None:
            raise InputError(path, f"IVM file has no IVM,{ver} extension")
        return np.array(hdul[k].data[cut], dtype=np.float32)


def subarray_cut(ref_shape, shape, ltv):
    """(row slice, column slice) of a full-detector reference image for a chip of ``shape``
    whose header has LTV1/LTV2 = ``ltv``: a subarray starts at -LTV; a reference of the chip's
    own shape is used whole."""
    starts = [0, 0]
    for axis, offset in ((0, ltv[1]), (1, ltv[0])):
        if ref_shape[axis] != shape[axis]:
            starts[axis] = max(int(round(-float(offset))), 0)
    return (slice(starts[0], starts[0] + shape[0]), slice(starts[1], starts[1] + shape[1]))


def generated_ivm(flat, dark, sky, rdnoise):
    """DrizzlePac's IVM of a chip: flat² / (dark + sky·flat + rdnoise²), all in electrons;
    ``flat`` and ``sky`` arrays or numbers."""
    flat = np.asarray(flat, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (flat ** 2 / (dark + np.asarray(sky, dtype=np.float64) * flat + rdnoise ** 2)).astype(np.float32)


def read_generated_ivm(source, exposure, ver, mdrizsky, rows=None):
    """Rows of the IVM DrizzlePac generates for chip ``ver`` from ``source`` (see ``sources``);
    ``mdrizsky`` in the chip's data units."""
    shape = exposure.shapes[exposure.chips.index(ver)]
    r0, r1 = rows or (0, shape[0])
    with fits.open(exposure.path, memmap=True) as hdul:
        hdr = hdul["SCI", ver].header
        ltv = (hdr.get("LTV1", 0.0), hdr.get("LTV2", 0.0))
        time = _electron_seconds(hdul, ver, exposure, (r0, r1))
    with fits.open(source["flat"], memmap=True) as ref:
        data = ref["SCI", ver].data
        ys, xs = subarray_cut(data.shape, shape, ltv)
        flat = np.array(data[ys.start + r0:ys.start + r1, xs], dtype=np.float64)
    if flat.shape != (r1 - r0, shape[1]):
        raise InputError(source["flat"], f"flat SCI,{ver} of shape {data.shape} does not cover the chip "
                         f"(shape {shape}, LTV1/LTV2 = {ltv}) of {exposure.path}")
    return generated_ivm(flat, source["meandark"][str(ver)], mdrizsky * time, exposure.rdnoise)


def _electron_seconds(hdul, ver, exposure, rows):
    """Factor from the chip's data units to electrons: 1 for counts; for count rates the TIME
    image when the file has one (WFC3/IR), else the exposure time (DrizzlePac's sky image)."""
    if exposure.in_units != "cps":
        return 1.0
    names = {(h.name.upper(), h.ver) for h in hdul}
    if ("TIME", ver) in names and hdul["TIME", ver].shape == exposure.shapes[exposure.chips.index(ver)]:
        return np.array(hdul["TIME", ver].data[slice(*rows)], dtype=np.float64)
    return exposure.exptime


def read_ivm(source, exposure, ver, mdrizsky, rows=None):
    """Rows of chip ``ver``'s IVM (user file or generated), float32."""
    if "ivm" in source:
        return read_user_ivm(source["ivm"], ver, len(exposure.chips), rows)
    return read_generated_ivm(source, exposure, ver, mdrizsky, rows)


def files_of(source):
    """The files an IVM is read from (the final drizzle's inputs)."""
    return [source["ivm"]] if "ivm" in source else [source["flat"]]
