"""A sane bound on the size of an output frame, checked when the frame is computed, before any
plane of it is allocated (issue 11 item 1).

A file of another field caught by a glob stretches the default frame over both fields: one
exposure a degree away turned a few-megapixel product into a 40,000 x 140,000 plane and a median
that ate the machine. A final_scale given in degrees where arcseconds are meant does the same
by another route. Both are caught here with a message that says which it probably is.

Two bounds:
* relative (frames the user did not size): the frame may cover at most ``AREA_FACTOR`` times
  the summed area of the input chips, both measured at the frame's scale (so the bound does not
  depend on final_scale). A mosaic along the frame's axes has a bounding box about as large as
  its area, a frame rotated against it up to twice that; n exposures touching corner to corner
  along the frame's diagonal, the worst legitimate layout, n times. The case of issue 11 (four
  ACS exposures, one of them 1 degree away) is 41 times. Small frames (``FLOOR_PIXELS``) pass.
* absolute (every frame, including one sized by final_outnx/final_outny or a reference image):
  ``MAX_PIXELS``, beyond which the final drizzle's SCI, WHT and CTX planes alone need more memory
  than a workstation has.
"""
import os

import numpy as np

from snakedrizzle import wcs as W
from snakedrizzle.errors import InputError
from snakedrizzle.wcs import groups

AREA_FACTOR = 8.0
FLOOR_PIXELS = 4096 * 4096
MAX_PIXELS = 2_000_000_000
BYTES_PER_PIXEL = 12  # float32 SCI + float32 WHT + int32 CTX of the final drizzle
# A frame pixel this many times smaller (linearly) than the inputs' is named as a likely cause.
TINY_SCALE_RATIO = 4.0


def input_area(chip_wcss, chip_shapes, frame):
    """Summed pixel count of the chips, expressed in pixels of ``frame``."""
    out_scale = W.frame_pscale(frame)
    return float(sum(ny * nx * (W.linear_pscale(w) / out_scale) ** 2
                     for w, (ny, nx) in zip(chip_wcss, chip_shapes)))


def check_frame_size(frame, chip_wcss, chip_shapes, prefix="final_", sized_by_user=False, exposures=()):
    """InputError when ``frame`` is larger than the bounds above; ``sized_by_user``: its shape
    comes from ``<prefix>outnx/outny`` or a reference image (then only the absolute bound).
    ``exposures``: (path, extvers) of the inputs, to name the far ones in the message."""
    nx, ny = frame.pixel_shape
    pixels = float(nx) * float(ny)
    label = "final output frame" if prefix == "final_" else "separate-drizzle frame"
    size = f"{label} of {nx} x {ny} pixels ({pixels:.3g})"
    area = input_area(chip_wcss, chip_shapes, frame)
    if not sized_by_user and pixels > max(AREA_FACTOR * area, FLOOR_PIXELS):
        far_note = far_exposures_note(exposures)
        raise InputError(
            "inputs", f"{size} is {pixels / area:.0f} times the area of the {len(chip_wcss)} input chips "
            f"({area:.3g} pixels at its scale; at most {AREA_FACTOR:g} times is allowed). Likely cause: "
            + (far_note or "exposures of more than one field among the inputs") + ".")
    if pixels > MAX_PIXELS:
        in_scale = float(np.median([W.linear_pscale(w) for w in chip_wcss]))
        out_scale = W.frame_pscale(frame)
        if sized_by_user:
            what, cause = f"{prefix}outnx/{prefix}outny", "the requested size"
        elif in_scale / out_scale > TINY_SCALE_RATIO:
            what = f"{prefix}scale"
            cause = (f"a tiny {prefix}scale ({out_scale:.3g} arcsec/pixel against the inputs' "
                     f"{in_scale:.3g}; the scale is in arcsec, not degrees)")
        else:
            what, cause = "inputs", far_exposures_note(exposures) or "inputs spread over a large area"
        raise InputError(
            what, f"{size} would need {pixels * BYTES_PER_PIXEL / 1e9:.0f} GB for the final SCI, WHT and "
            f"CTX planes alone (at most {MAX_PIXELS:.0e} pixels is allowed); the {len(chip_wcss)} input "
            f"chips cover {area:.3g} of its pixels. Likely cause: {cause}.")


def far_exposures_note(exposures):
    """The exposures ((path, extvers) pairs) outside the largest group of overlapping ones and
    their distance from it, or '' when all overlap."""
    found = groups.overlap_groups([groups.exposure_cap(path, chips) for path, chips in exposures])
    if len(found) <= 1:
        return ""
    main = found[0]
    far = []
    for group in found[1:]:
        for cap in group:
            gap = min(np.degrees(np.arccos(np.clip(np.dot(cap.centre, m.centre), -1, 1))) for m in main)
            far.append(f"{os.path.basename(cap.name)} is {gap * 60:.1f} arcmin from the others")
    return "an exposure of another field (" + "; ".join(far) + ")"
