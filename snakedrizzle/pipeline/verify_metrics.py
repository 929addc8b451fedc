"""The array measures behind runastrodriz's alignment verification (SPEC-HAP H9): the placement
of each separately drizzled exposure on the product's pixel grid, the focus index, the
similarity index and the overlap distance between an exposure and the product.

Everything here works on plain arrays on the product's grid; reading files, deciding and
reporting live in snakedrizzle.pipeline.verify.
"""
from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy import ndimage

FOCUS_EROSION = 8          # px the common region of the exposures is eroded before the focus index
SOURCE_LOG_SIGMA = 3.0     # LoG width that turns background-free images into source cores
SOURCE_NSIGMA = 4.0        # background threshold = clipped mean + 4 sigma
BLANK_MEDIAN_SIZE = 5      # median filter for near-blank (sky-subtracted) regions
MAP_STEP = 16              # px between exact pixel->sky->pixel nodes of a resampling map


@dataclass
class Placed:
    """One exposure resampled onto the product grid, kept only over its bounding box."""
    name: str
    exptime: float
    rows: slice
    cols: slice
    sci: np.ndarray     # float64, 0 where the exposure has no data
    mask: np.ndarray    # bool, pixels the exposure covers

    def full(self, shape, what="sci"):
        out = np.zeros(shape, dtype=bool if what == "mask" else np.float64)
        out[self.rows, self.cols] = getattr(self, what)
        return out


def footprint_box(src_wcs, src_shape, dst_wcs, dst_shape, margin=2):
    """(rows, cols) slices of the destination grid covered by the source image's outline, or
    None when the two do not overlap."""
    ny, nx = src_shape
    edge = np.linspace(0.0, 1.0, 33)
    xs = np.concatenate([edge * (nx - 1), np.full(33, nx - 1.0), edge * (nx - 1), np.zeros(33)])
    ys = np.concatenate([np.zeros(33), edge * (ny - 1), np.full(33, ny - 1.0), edge * (ny - 1)])
    ra, dec = src_wcs.all_pix2world(xs, ys, 0)
    x, y = dst_wcs.all_world2pix(ra, dec, 0)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return None
    x0, x1 = int(np.floor(x.min())) - margin, int(np.ceil(x.max())) + margin + 1
    y0, y1 = int(np.floor(y.min())) - margin, int(np.ceil(y.max())) + margin + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, dst_shape[1]), min(y1, dst_shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1)


def source_pixels(src_wcs, dst_wcs, rows, cols):
    """Nearest source pixel (iy, ix) of every destination pixel in the box, pixel -> sky -> pixel.
    When the grids differ by a whole-pixel shift (a window of the same frame, the usual case)
    the shift is used directly, which is exact and needs no per-pixel transform."""
    yy, xx = np.mgrid[rows, cols]
    probe_y = np.array([rows.start, rows.start, rows.stop - 1, rows.stop - 1, (rows.start + rows.stop) // 2])
    probe_x = np.array([cols.start, cols.stop - 1, cols.start, cols.stop - 1, (cols.start + cols.stop) // 2])
    sx, sy = src_wcs.all_world2pix(*dst_wcs.all_pix2world(probe_x, probe_y, 0), 0)
    dx, dy = sx - probe_x, sy - probe_y
    if np.ptp(dx) < 1e-3 and np.ptp(dy) < 1e-3 and abs(dx[0] - round(dx[0])) < 1e-2 \
            and abs(dy[0] - round(dy[0])) < 1e-2:
        return yy + int(round(dy[0])), xx + int(round(dx[0]))
    # Elsewhere the map is smooth: exact on nodes every MAP_STEP px, bilinear in between
    # (DrizzlePac's stepsize idea; the interpolation error is far below the rounding).
    ny, nx = yy.shape
    node_y = np.unique(np.r_[np.arange(0, ny, MAP_STEP), ny - 1])
    node_x = np.unique(np.r_[np.arange(0, nx, MAP_STEP), nx - 1])
    gy, gx = np.meshgrid(node_y + rows.start, node_x + cols.start, indexing="ij")
    sx, sy = src_wcs.all_world2pix(*dst_wcs.all_pix2world(gx.ravel(), gy.ravel(), 0), 0)
    fy = np.interp(np.arange(ny), node_y, np.arange(len(node_y)))
    fx = np.interp(np.arange(nx), node_x, np.arange(len(node_x)))
    at = np.meshgrid(fy, fx, indexing="ij")
    src_y = ndimage.map_coordinates(sy.reshape(gy.shape), at, order=1, mode="nearest")
    src_x = ndimage.map_coordinates(sx.reshape(gx.shape), at, order=1, mode="nearest")
    return np.round(src_y).astype(np.int64), np.round(src_x).astype(np.int64)


def resample_nearest(data, valid, src_wcs, dst_wcs, box):
    """``data`` (and its ``valid`` mask) on the destination box by nearest neighbour: no
    smoothing, so the focus index of an exposure is not blunted by the resampling."""
    iy, ix = source_pixels(src_wcs, dst_wcs, *box)
    inside = (iy >= 0) & (iy < data.shape[0]) & (ix >= 0) & (ix < data.shape[1])
    iy, ix = np.where(inside, iy, 0), np.where(inside, ix, 0)
    mask = inside & valid[iy, ix]
    return np.where(mask, data[iy, ix], 0.0), mask


def focus_index(img, sigma):
    """Sharpness of an image: the largest |Laplacian of Gaussian| (a point source's core gives
    it, whatever else the field holds). Returns (value, (row, col))."""
    log = np.abs(ndimage.gaussian_laplace(img, sigma))
    pos = np.unravel_index(int(np.argmax(log)), log.shape)
    return float(log[pos]), (int(pos[0]), int(pos[1]))


def masked_focus(full, common, sigma):
    """focus_index of ``full`` with everything outside ``common`` zeroed, computed on the bounding
    box of ``common`` plus the filter's reach (zeros beyond it change nothing)."""
    rows, cols = np.nonzero(common)
    pad = int(4 * sigma) + 2
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, full.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, full.shape[1])
    img = np.where(common[r0:r1, c0:c1], full[r0:r1, c0:c1], 0.0)
    value, (r, c) = focus_index(img, sigma)
    return value, (r + r0, c + c0)


def focus_window(values, tolerance=0.8):
    """The range of product focus values consistent with the exposures' own: from
    min(mean - 3 std, tolerance * mean) to mean + 3 std (population std, as DrizzlePac)."""
    values = np.asarray(values, dtype=float)
    mean, std = float(values.mean()), float(values.std())
    return {"mean": mean, "std": std, "min": float(values.min()), "max": float(values.max()),
            "low": min(mean - 3.0 * std, tolerance * mean), "high": mean + 3.0 * std}


def focus_ok(product_focus, window):
    """The focus test: the product's focus inside the window and the exposures' spread not larger
    than their smallest value. (DrizzlePac compares normal z-scores of the same bounds, which is
    the same test for std > 0; with std == 0 its z-scores are NaN and it always passes.)"""
    if window["std"] > window["min"]:
        return False
    return window["low"] <= product_focus <= window["high"]


def similarity_index(image, reference):
    """|sum(image - reference)| / sum(image) over the largest 2^k square at the arrays' origin.
    DrizzlePac rebins that square by 4 first when 2^(k-2) > 64; rebinning by summing leaves both
    sums unchanged, so the index is computed on the square directly. inf when the image holds
    no positive flux."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0)
    reference = np.nan_to_num(np.asarray(reference, dtype=np.float64), nan=0.0)
    size = min(image.shape[0], reference.shape[0], image.shape[1], reference.shape[1])
    window = 1 << (int(size).bit_length() - 1)
    img, ref = image[:window, :window], reference[:window, :window]
    total = img.sum()
    if total <= 0:
        return float("inf")
    return float(abs((img - ref).sum()) / total)


def source_cores(values, sigma_clip=3.0):
    """Boolean map and count of the source cores of a region: clipped background (mean + 4 sigma)
    removed, near-blank regions median-filtered first, then the positive part of -LoG(3 px).
    ``values``: the region with the pixels outside it set to NaN (they are not statistics)."""
    good = np.isfinite(values)
    arr = np.where(good, values, 0.0)
    peak = arr.max()
    if peak <= 0:
        return np.zeros(arr.shape, dtype=bool), 0
    maxiters = max(int(np.log10(peak / 2) + 0.5), 1) if peak > 2 else 1
    mean, median, std = sigma_clipped_stats(arr[good], sigma=sigma_clip, maxiters=maxiters)
    if median < std and median < 1.0:
        # Sky-subtracted or faint regions: the median filter keeps pixel noise out of the cores.
        arr = ndimage.median_filter(arr, size=BLANK_MEDIAN_SIZE)
    arr = np.clip(arr - (mean + SOURCE_NSIGMA * std), 0.0, None)
    cores = -ndimage.gaussian_laplace(arr, SOURCE_LOG_SIGMA) > 0
    _, count = ndimage.label(cores)
    return cores, int(count)


def overlap_distance(single, product, region, exp_weight):
    """Distance of one exposure from the product inside ``region`` (bool, product grid): the
    Hamming distance of their source-core maps per core pixel of the exposure, weighted by
    EXPTIME / max EXPTIME, and the similarity index of the two regions. Returns a dict."""
    rows, cols = np.nonzero(region)
    box = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    inside = region[box]
    s_arr = np.where(inside, np.nan_to_num(single[box], nan=0.0), 0.0)
    d_arr = np.where(inside, np.nan_to_num(product[box], nan=0.0), 0.0)
    s_cores, s_num = source_cores(np.where(inside, s_arr, np.nan))
    d_cores, d_num = source_cores(np.where(inside, d_arr, np.nan))
    core_pixels = int(s_cores.sum())
    differing = int(np.count_nonzero(s_cores != d_cores))
    hamming = differing / core_pixels * exp_weight if core_pixels else float("inf")
    return {"hamming": float(hamming), "similarity": similarity_index(s_arr, d_arr),
            "sources": s_num, "product_sources": d_num, "core_pixels": core_pixels,
            "differing_pixels": differing, "region_pixels": int(inside.sum())}
