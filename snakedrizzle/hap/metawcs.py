"""The visit meta-WCS (SPEC-HAP H4): one north-up grid per instrument/detector of a visit, on
which every exposure, filter and total product of that detector is drizzled.

It is AstroDrizzle's default frame of every SCI chip of every direct exposure of the detector
(all filters, single-exposure filters included, grism/prism excluded: the caller's choice of
inputs), with a perfect CD at the native scale (``snakedrizzle.wcs.default_frame``), turned north
up (``rot=0``) about CRPIX with the size the ceiling of the rotated box of the pixel-edge corners,
then, if the total product's ``final_scale`` differs from the native one, re-gridded to that
scale. Each step rounds as AstroDrizzle's ``final_rot``/``final_scale`` do
(``snakedrizzle.wcs.custom_frame``), in HAP's order: rotation, then scale. No padding is added.
"""
from astropy.io import fits

from snakedrizzle.align.headerlet import sci_extvers
from snakedrizzle.errors import InputError
from snakedrizzle.wcs import chip_wcs, custom_frame, default_frame, frame_orientat, frame_pscale


def exposure_chip_wcss(paths, headerlets=None):
    """Full-distortion WCS of every SCI chip of every exposure, in input order. ``headerlets``:
    {path: headerlet file} of aligned WCSs (the meta-WCS is recomputed after alignment)."""
    headerlets = headerlets or {}
    wcss = []
    for path in paths:
        try:
            with fits.open(path) as hdul:
                versions = sci_extvers(hdul)
        except OSError as exc:
            raise InputError(str(path), f"cannot read the exposure ({exc})") from None
        if not versions:
            raise InputError(str(path), "has no SCI extension")
        wcss.extend(chip_wcs(path, v, headerlet=headerlets.get(path)) for v in versions)
    return wcss


def visit_metawcs(exposures, rot=0.0, scale=None, headerlets=None):
    """The meta-WCS (astropy WCS with ``pixel_shape``) of a list of exposure paths or of chip
    WCSs (HSTWCS). ``rot``/``scale``: the total product's ``final_rot`` (HAP: always 0) and
    ``final_scale`` (None: native; HAP's ACS/SBC total: 0.025)."""
    exposures = list(exposures)
    if not exposures:
        raise InputError("meta-WCS", "no direct exposure to build the visit grid from")
    if all(isinstance(e, (str, bytes)) or hasattr(e, "__fspath__") for e in exposures):
        chips = exposure_chip_wcss(exposures, headerlets)
    else:
        chips = exposures
    frame = default_frame(chips)
    if rot is not None:
        frame = custom_frame(frame, rot=rot)
    if scale is not None:
        # HAP's second merge repeats the rotation, which is nil by then: only the scale changes
        # (size ceil(ratio * n), CRPIX scaled about pixel 1), as DrizzlePac's grid is.
        frame = custom_frame(frame, scale=scale)
    return frame


def metawcs_pars(frame):
    """The ``final_*`` values that put a product on ``frame`` (HAP passes these to a filter
    product; exposure and total products get the frame as ``final_refimage``)."""
    nx, ny = frame.pixel_shape
    return {
        "final_wcs": True,
        "final_rot": 0.0 if abs(frame_orientat(frame)) < 1e-9 else frame_orientat(frame),
        "final_scale": frame_pscale(frame),
        "final_outnx": int(nx),
        "final_outny": int(ny),
        "final_ra": float(frame.wcs.crval[0]),
        "final_dec": float(frame.wcs.crval[1]),
        "final_crpix1": float(frame.wcs.crpix[0]),
        "final_crpix2": float(frame.wcs.crpix[1]),
    }
