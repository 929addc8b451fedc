"""The order exposures are aligned in when the reference catalog grows (``expand_refcat``) and
``enforce_user_order`` is off: TweakReg starts from the pair of images that overlap most, then
adds, one at a time, the image that overlaps most with those already aligned. Overlaps are
measured on the footprints (chip outlines through the full WCS) drawn on a common grid."""
import numpy as np
from matplotlib.path import Path

from snakedrizzle.wcs import chip_wcs
from snakedrizzle.align.match import reference_frame

GRID = 256  # cells across the union of footprints: ample to rank overlaps


def footprint_masks(exposures):
    """{rootname: boolean mask on a shared grid} of the exposures' chip outlines."""
    chips = {e.rootname: [chip_wcs(e.path, v) for v in e.chips] for e in exposures}
    frame = reference_frame([w for ws in chips.values() for w in ws])
    nx, ny = frame.pixel_shape
    step = max(nx, ny) / GRID
    gx, gy = np.meshgrid(np.arange(0.5, nx, step), np.arange(0.5, ny, step))
    points = np.column_stack([gx.ravel(), gy.ravel()])
    masks = {}
    for root, ws in chips.items():
        inside = np.zeros(len(points), bool)
        for w in ws:
            corners = frame.all_world2pix(w.calc_footprint(), 0)
            inside |= Path(corners).contains_points(points)
        masks[root] = inside
    return masks


def overlap_order(exposures):
    """Rootnames in alignment order (input order breaks ties)."""
    masks = footprint_masks(exposures)
    roots = [e.rootname for e in exposures]
    if len(roots) < 3:
        return roots
    pairs = [(int(np.count_nonzero(masks[a] & masks[b])), -i, -j)
             for i, a in enumerate(roots) for j, b in enumerate(roots) if i < j]
    _, i, j = max(pairs)
    order = [roots[-i], roots[-j]]
    covered = masks[order[0]] | masks[order[1]]
    rest = [r for r in roots if r not in order]
    while rest:
        best = max(rest, key=lambda r: (int(np.count_nonzero(masks[r] & covered)), -roots.index(r)))
        order.append(best)
        covered |= masks[best]
        rest.remove(best)
    return order
