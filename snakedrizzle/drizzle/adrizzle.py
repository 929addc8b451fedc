"""Drizzling chips onto a frame with STScI's C kernels (the ``drizzle`` package), SPEC §1.6.

``drizzle(chips, frame, ...)`` is the array-level stage (separate and final drizzle): chips with
their WCS in, SCI/WHT/CTX arrays out, optionally split between processes by output rows with a
result that does not depend on the split. The other functions prepare what the kernel needs
(weights, weight scale); the resampling itself is ``drizzle.resample.Drizzle``.
"""
import itertools
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from drizzle.resample import Drizzle

from snakedrizzle import wcs as W
from snakedrizzle.drizzle.parallel import release, row_strips, run_strips, shared_array

KERNELS = ("square", "point", "turbo", "gaussian", "lanczos3")


def new_output(shape, kernel="square", fillval=None, n_chips=1, context=True):
    """An empty output (SCI, WHT and, if ``context``, CTX planes for ``n_chips`` chips)."""
    if kernel == "tophat":
        raise ValueError("kernel 'tophat' is not supported (AstroDrizzle 3.11 rejects it too)")
    if kernel not in KERNELS:
        raise ValueError(f"unknown drizzle kernel {kernel!r}; choose one of {KERNELS}")
    return Drizzle(kernel=kernel, fillval=fillval, out_shape=tuple(shape),
                   max_ctx_id=max(n_chips - 1, 0), disable_ctx=not context)


def add_chip(out, data, weight, pixmap, exptime, pix_ratio, pixfrac=1.0, in_units="counts",
             wt_scl=1.0, rows=None, cols=None):
    """Drizzle one chip: data in its own units (counts are divided by ``exptime`` in the kernel,
    so the output is a count rate), surface brightness scaled by ``pix_ratio**2``. ``rows``
    and ``cols`` (first, last, inclusive) limit the input pixels drizzled; the others only lend
    their map."""
    if pixfrac <= 0.001 and out.kernel != "point":
        warnings.warn("pixfrac <= 0.001: using the 'point' kernel, as AstroDrizzle does")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gaussian/lanczos flux warnings are the user's choice
        out.add_image(np.asarray(data, dtype=np.float32), exptime=exptime, pixmap=pixmap,
                      iscale=pix_ratio ** 2, pixel_scale_ratio=pix_ratio,
                      weight_map=np.asarray(weight, dtype=np.float32), wht_scale=wt_scl,
                      pixfrac=pixfrac, in_units=in_units,
                      ymin=rows[0] if rows else None, ymax=rows[1] if rows else None,
                      xmin=cols[0] if cols else None, xmax=cols[1] if cols else None)
    return out


def skip_chip(out):
    """Account for a chip that reaches nothing of this output, so that the next chips keep their
    context bits (the kernel numbers images by the order they are added)."""
    if out.out_ctx is not None:
        out._increment_ctx_id()  # drizzle has no public way to skip an image id


def final_weight(wht_type, mask, exptime, err=None, ivm=None):
    """Weight image of the final drizzle (SPEC §1.11): EXPTIME, (EXPTIME/ERR)² or the IVM, times
    the good-pixel mask."""
    mask = mask.astype(np.float32)
    if wht_type == "ERR" and err is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where((err > 0) & np.isfinite(err), (exptime / err) ** 2, 0.0) * mask
        return w.astype(np.float32)
    if wht_type == "IVM" and ivm is not None:
        # a non-finite IVM (a flat or variance of 0 in a reference file) carries no weight
        return np.where(np.isfinite(ivm), ivm, 0.0).astype(np.float32) * mask
    mask *= np.float32(exptime)
    return mask


def final_wt_scl(wht_type, wt_scl, exptime, pix_ratio):
    """The weight scale of the final drizzle: a number given by the user, else what the weight
    type implies ('exptime'/'expsq' resolve to 1: the weights already hold EXPTIME). IVM weights
    always take EXPTIME²/pix_ratio⁴ (the IVM is per electron²; DrizzlePac sets this scale
    whatever ``final_wt_scl`` says)."""
    if wht_type == "IVM":
        return exptime ** 2 / pix_ratio ** 4
    if wt_scl not in (None, "exptime", "expsq", ""):
        return float(wt_scl)
    if wht_type == "ERR":
        return 1.0 / pix_ratio ** 4
    return 1.0


@dataclass
class DrizzleChip:
    """One chip to drizzle. ``read(r0, r1)`` returns its (data, weight) rows [r0, r1) as float32
    arrays (data with the sky already subtracted), so a stage can read only the rows a strip of
    the output needs; ``DrizzleChip.from_arrays`` wraps arrays already in memory."""
    wcs: object
    shape: tuple
    exptime: float
    read: Callable
    in_units: str = "counts"
    wt_scl: float = 1.0

    @classmethod
    def from_arrays(cls, data, weight, wcs, exptime, in_units="counts", wt_scl=1.0):
        data = np.asarray(data, dtype=np.float32)
        weight = np.asarray(weight, dtype=np.float32)
        return cls(wcs, data.shape, exptime, lambda r0, r1: (data[r0:r1], weight[r0:r1]), in_units, wt_scl)


def drizzle(chips, frame, *, kernel="square", pixfrac=1.0, fillval=None, context=True, stepsize=10,
            workers=1, whole_chips=False):
    """Drizzle ``chips`` (``DrizzleChip``) onto ``frame`` (a celestial WCS with ``pixel_shape``):
    returns (SCI, WHT, CTX planes or None) of shape (ny, nx). ``fillval`` (None = NaN) fills the
    pixels nothing reached; ``stepsize`` is the pixel-map grid step.

    ``workers`` > 1 drizzles horizontal strips of the output in forked processes, with arrays
    bit-identical for any number of workers: every process drizzles into an output of the whole
    frame's geometry (lazily allocated: only the rows its input reaches cost memory), so every
    drop is computed in the same coordinates, and every chip is drizzled as the same fixed grid of
    square tiles whatever the split (each process adds the tiles that reach its strip, in the
    same order). Tiles must be square-ish: the kernel trims each call's input box along a polygon
    it maps back into the input by a search that goes wrong on long thin boxes (a 1024 x 80 row
    band lost 40 % of its pixels), which is how strips of rows once changed the product.

    ``whole_chips`` drizzles each chip in one kernel call instead (one process only), as
    DrizzlePac does: the result differs from the tiled one by float rounding where contributions
    from two tiles meet in an output pixel (their order changes)."""
    new_output((1, 1), kernel)  # reject an unknown kernel before any work
    if whole_chips and workers != 1:
        raise ValueError("whole_chips drizzles in one process: workers must be 1")
    nx, ny = frame.pixel_shape
    ratios = [W.frame_pscale(frame) / W.linear_pscale(c.wcs) for c in chips]
    # Rows beyond a tile's outline that its drops can still reach: kernel size x scale ratio.
    margin = int(np.ceil(8.0 / min(ratios))) + 4 if chips else 4
    tiles = [[] if whole_chips else _tiles(c, frame, margin) for c in chips]
    strips = row_strips(ny, workers, min_rows=4 * margin)
    n_planes = max(len(chips) - 1, 0) // 32 + 1 if context else 0
    # The frame exists once: this process's drizzle output becomes the result, and each other
    # process hands its strip back through shared memory of that strip's size.
    handback = {strip: StripPlanes(strip[1] - strip[0], nx, n_planes) for strip in strips[1:]}
    result = []

    def work(start, stop):
        out = Drizzle(kernel=kernel, fillval=None, out_img=np.zeros((ny, nx), np.float32),
                      max_ctx_id=max(len(chips) - 1, 0), disable_ctx=not context)
        for k, (chip, ratio) in enumerate(zip(chips, ratios)):
            if whole_chips:
                add_chip(out, *chip.read(0, chip.shape[0]), W.pixmap(chip.wcs, frame, chip.shape, stepsize),
                         chip.exptime, ratio, pixfrac, chip.in_units, chip.wt_scl)
                continue
            mine = [t for t in tiles[k] if t[4] < stop and t[5] >= start]
            _add_tiles(out, k, chip, frame, ratio, pixfrac, stepsize, mine)
        if (start, stop) in handback:
            handback[(start, stop)].take_from(out, start)
        else:
            result.append(out)

    run_strips(strips, work)
    out = result[0]
    for (start, stop), planes in handback.items():
        planes.give_to(out, start)
    fill = np.float32(np.nan if fillval is None or str(fillval).upper() in ("INDEF", "NAN") else float(fillval))
    for r0 in range(0, ny, _CHUNK_ROWS):  # in bands: no frame-sized mask
        rows = slice(r0, r0 + _CHUNK_ROWS)
        np.copyto(out.out_img[rows], fill, where=out.out_wht[rows] == 0)
    return out.out_img, out.out_wht, out.out_ctx if context else None


_CHUNK_ROWS = 256  # rows copied (and released) at a time between a strip's process and the result


class StripPlanes:
    """Shared memory for one strip's rows of SCI, WHT and ``n_planes`` CTX planes, made before
    the fork. The strip's process copies its rows in (releasing its own copy band by band, as it
    exits right after); the calling process copies them into the result, releasing them likewise,
    so the frame is held about once rather than twice."""

    def __init__(self, n_rows, nx, n_planes):
        self.n_rows = n_rows
        self.sci = shared_array((n_rows, nx), np.float32)
        self.wht = shared_array((n_rows, nx), np.float32)
        self.ctx = shared_array((n_planes, n_rows, nx), np.int32) if n_planes else None

    def _bands(self, out, start):
        """(shared rows, the same rows of ``out``) for every band of the strip, plane by plane."""
        for r0 in range(0, self.n_rows, _CHUNK_ROWS):
            r1 = min(r0 + _CHUNK_ROWS, self.n_rows)
            rows = slice(start + r0, start + r1)
            yield self.sci[r0:r1], out.out_img[rows]
            yield self.wht[r0:r1], out.out_wht[rows]
            for p in range(0 if self.ctx is None else self.ctx.shape[0]):
                yield self.ctx[p, r0:r1], out.out_ctx[p, rows]

    def take_from(self, out, start):
        for shared, rows in self._bands(out, start):
            shared[...] = rows
            release(rows)

    def give_to(self, out, start):
        for shared, rows in self._bands(out, start):
            rows[...] = shared
            release(shared)


TILE = 256  # input pixels on a side of the tiles a chip is drizzled in


def _edges(n):
    """Tile edges along an axis of ``n`` pixels: about TILE apart, none much thinner."""
    return np.linspace(0, n, max(1, round(n / TILE)) + 1).round().astype(int)


def _tiles(chip, frame, margin):
    """[(x0, x1, y0, y1, first, last)]: the chip's tiles (input pixels [x0, x1) x [y0, y1)) and
    the output rows their drops can reach, for tiles that can reach the frame at all."""
    ny = frame.pixel_shape[1]
    tiles = []
    for y0, y1 in zip(_edges(chip.shape[0])[:-1], _edges(chip.shape[0])[1:]):
        for x0, x1 in zip(_edges(chip.shape[1])[:-1], _edges(chip.shape[1])[1:]):
            lo, hi = _outline_rows(chip.wcs, frame, x0, x1, y0, y1)
            first, last = int(np.floor(lo)) - margin, int(np.ceil(hi)) + margin
            if last >= 0 and first < ny:
                tiles.append((int(x0), int(x1), int(y0), int(y1), first, last))
    return tiles


def _outline_rows(src_wcs, frame, x0, x1, y0, y1, step=16):
    """(ymin, ymax) in ``frame`` (0-based) of the outline of source pixels [x0, x1) x [y0, y1)."""
    xs = np.unique(np.r_[np.arange(x0 + 0.5, x1 + 0.5, step), x1 + 0.5])
    ys = np.unique(np.r_[np.arange(y0 + 0.5, y1 + 0.5, step), y1 + 0.5])
    ex = np.r_[xs, xs, np.full(ys.size, x0 + 0.5), np.full(ys.size, x1 + 0.5)]
    ey = np.r_[np.full(xs.size, y0 + 0.5), np.full(xs.size, y1 + 0.5), ys, ys]
    ra, dec = src_wcs.all_pix2world(ex, ey, 1)
    oy = frame.wcs_world2pix(ra, dec, 0)[1]
    return float(oy.min()), float(oy.max())


def _add_tiles(out, index, chip, frame, ratio, pixfrac, stepsize, tiles):
    """Add ``tiles`` of chip number ``index`` to ``out``, one band of tile rows at a time (read and
    mapped with two more rows each side: the kernel takes pixel corners from neighbouring map
    values)."""
    for (y0, y1), band in itertools.groupby(tiles, key=lambda t: (t[2], t[3])):
        r0, r1 = max(y0 - 2, 0), min(y1 + 2, chip.shape[0])
        data, weight = chip.read(r0, r1)
        pm = W.pixmap(chip.wcs, frame, chip.shape, stepsize, rows=(r0, r1))
        for x0, x1, *_ in band:
            _set_image_id(out, index)
            add_chip(out, data, weight, pm, chip.exptime, ratio, pixfrac, chip.in_units, chip.wt_scl,
                     rows=(y0 - r0, y1 - 1 - r0), cols=(x0, x1 - 1))


def _set_image_id(out, index):
    """Make the next kernel call add to context bit ``index``: all tiles of a chip share its bit
    (drizzle numbers each call as a new image and has no public way to choose the number)."""
    if out.out_ctx is not None:
        out._ctx_id = index


def separate_window(chip_wcss, shapes, plane, bounded=False):
    """(x0, y0, nx, ny): an exposure's window in the separate-drizzle ``plane``, the integer box
    around its chips' footprints with 2-3 pixels to spare; clipped to the plane when ``bounded``.
    Raises ValueError when a bounded plane leaves nothing of the exposure."""
    boxes = [W.footprint_bounds(w, plane, s) for w, s in zip(chip_wcss, shapes)]
    x0 = int(np.floor(min(b[0] for b in boxes))) - 2
    x1 = int(np.ceil(max(b[1] for b in boxes))) + 3
    y0 = int(np.floor(min(b[2] for b in boxes))) - 2
    y1 = int(np.ceil(max(b[3] for b in boxes))) + 3
    if bounded:
        nx, ny = plane.pixel_shape
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, nx), min(y1, ny)
        if x1 <= x0 or y1 <= y0:
            raise ValueError("does not overlap the separate-drizzle output frame")
    return x0, y0, x1 - x0, y1 - y0


def reaches_frame(chip_wcss, shapes, frame):
    """True if any of the chips' footprints overlaps ``frame``."""
    nx, ny = frame.pixel_shape
    for w, shape in zip(chip_wcss, shapes):
        x0, x1, y0, y1 = W.footprint_bounds(w, frame, shape)
        if x1 > -0.5 and x0 < nx - 0.5 and y1 > -0.5 and y0 < ny - 0.5:
            return True
    return False
