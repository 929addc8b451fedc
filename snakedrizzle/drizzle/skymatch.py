"""Sky matching (SPEC §1.5 ``match`` and ``globalmin+match``), on arrays and WCS objects.

Two steps, so the workflow can run the first once per pair of exposures:

1. ``pair_sky``: for two exposures, the sky statistic of each one's pixels inside their overlap
   on the sky. Chip footprints are spherical polygons (``spherical_geometry``) traced along the
   distorted chip edges; for every pair of chips the intersection polygon is projected back into
   each chip and filled, and the chip's good pixels inside it give its statistic (the same
   clipped statistic as a chip's own sky). Values are surface brightness (per arcsec², per
   second), so chips and exposures with different scales or exposure times compare.
2. ``solve_skies``: the per-exposure sky offsets that make every overlap agree in the least-squares
   sense, each equation weighted by the mean pixel count of its overlap (as DrizzlePac's skymatch
   weighs them), then shifted so the lowest offset is 0 (``match``), plus the smallest residual
   chip sky of all exposures (``globalmin+match``).

Everything runs in a fixed order with no sampling, so the same inputs give the same values.
Exposures linked by no overlap form separate groups: each group is solved on its own and its
lowest offset is 0 (an exposure that overlaps nothing gets 0), with a warning naming the groups.
"""
import logging
import math
from dataclasses import dataclass

import numpy as np
from spherical_geometry.polygon import SphericalPolygon

from snakedrizzle.drizzle.sky import sky_statistic, to_brightness

log = logging.getLogger("snakedrizzle")

# Segments per chip edge of a footprint. Four follow the distortion's curvature of the edges to
# well under a pixel (a quarter edge's sagitta is 1/16 of the whole edge's), while polygon
# intersection in spherical_geometry grows with the square of the vertex count (0.05 s for 4
# segments, 2.5 s for 16, per chip pair).
EDGE_SEGMENTS = 4
STERADIAN_ARCSEC2 = (180.0 / math.pi * 3600.0) ** 2


@dataclass
class SkyChip:
    """One chip as sky matching sees it: data, good pixels (DQ, static and finite combined),
    its full-distortion WCS and what turns its data units into surface brightness."""
    sci: np.ndarray
    good: np.ndarray
    wcs: object
    pscale: float
    exptime: float
    in_units: str

    def brightness(self, value):
        return to_brightness(value, self.pscale, self.exptime, self.in_units)


def chip_footprint(wcs, shape, segments=EDGE_SEGMENTS):
    """The chip's outline on the sky (outer pixel edges, with distortion) as a spherical polygon."""
    ny, nx = shape
    xs, ys = np.linspace(-0.5, nx - 0.5, segments + 1), np.linspace(-0.5, ny - 0.5, segments + 1)
    x = np.concatenate([xs[:-1], np.full(ys.size - 1, nx - 0.5), xs[::-1][:-1], np.full(ys.size - 1, -0.5)])
    y = np.concatenate([np.full(xs.size - 1, -0.5), ys[:-1], np.full(xs.size - 1, ny - 0.5), ys[::-1][:-1]])
    ra, dec = wcs.all_pix2world(x, y, 0)
    return SphericalPolygon.from_radec(ra, dec)


def footprint_intersection(p, q, label="chips"):
    """The overlap of two footprints, or None when they do not overlap. Identical outlines
    (the same pointing twice) are their own overlap; a geometry failure counts as no overlap,
    with a warning naming ``label``, rather than stopping the run."""
    vp, vq = (np.concatenate(list(f.points)) for f in (p, q))
    if vp.shape == vq.shape and np.allclose(vp, vq, rtol=0, atol=1e-12):
        return p.copy()
    try:
        inter = p.intersection(q)
        area = inter.area()
    except Exception as exc:  # spherical_geometry raises assorted errors on degenerate input
        log.warning("%s: footprint intersection failed (%s); treated as no overlap", label, exc)
        return None
    return inter if area > 0 and len(inter.polygons) else None


def fill_polygon(x, y, shape):
    """Boolean mask of the pixels whose centres lie inside the polygon with pixel vertices
    (x, y) (0-based; even-odd rule, half-open rows so shared edges count once)."""
    ny, nx = shape
    mask = np.zeros(shape, bool)
    x, y = np.append(x, x[0]), np.append(y, y[0])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("overlap polygon does not project into the chip")
    rows = np.arange(max(0, math.ceil(y.min())), min(ny - 1, math.floor(y.max())) + 1)
    if rows.size == 0:
        return mask
    x0, y0, x1, y1 = x[:-1], y[:-1], x[1:], y[1:]
    r = rows[:, None].astype(float)
    crosses = ((y0 <= r) & (r < y1)) | ((y1 <= r) & (r < y0))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = np.where(crosses, x0 + (r - y0) / (y1 - y0) * (x1 - x0), np.inf)
    xc.sort(axis=1)
    count = crosses.sum(axis=1)
    runs = np.zeros((rows.size, nx + 1), np.int32)
    index = np.arange(rows.size)
    for k in range(0, int(count.max()) - 1, 2):
        have = count > k + 1
        start = np.clip(np.ceil(xc[have, k]), 0, nx).astype(int)
        stop = np.clip(np.ceil(xc[have, k + 1]), 0, nx).astype(int)
        np.add.at(runs, (index[have], start), 1)
        np.add.at(runs, (index[have], stop), -1)
    mask[rows] = np.cumsum(runs[:, :nx], axis=1) > 0
    return mask


def overlap_mask(polygon, wcs, shape):
    """The chip's pixels inside ``polygon`` (a footprint intersection)."""
    mask = np.zeros(shape, bool)
    for lon, lat in polygon.to_lonlat():
        x, y = wcs.all_world2pix(np.asarray(lon), np.asarray(lat), 0)
        mask |= fill_polygon(np.asarray(x, float), np.asarray(y, float), shape)
    return mask


@dataclass
class PairSky:
    """Each exposure's sky (brightness) inside the overlap, the pixels it came from, and the
    overlap's area. ``sky`` is None when either side had no usable pixel there."""
    sky: tuple
    npix: tuple
    area_arcsec2: float
    chip_pairs: list


def _sky_inside(chip, polygon, stat):
    inside = overlap_mask(polygon, chip.wcs, chip.sci.shape) & chip.good
    value, npix = sky_statistic(chip.sci[inside], **stat)
    return (None, 0) if value is None else (chip.brightness(value), npix)


def pair_sky(chips_a, chips_b, stat=None, labels=("a", "b")):
    """Sky of exposure a and of exposure b (lists of ``SkyChip``) in their common area. For each
    pair of overlapping chips, each chip's statistic inside the chips' intersection; an
    exposure's sky is the pixel-weighted mean of its chip-pair values (as skymatch combines them).
    ``stat``: the keyword arguments of ``sky.sky_statistic`` (skystat, skywidth, ...)."""
    stat = stat or {}
    feet_a = [chip_footprint(c.wcs, c.sci.shape) for c in chips_a]
    feet_b = [chip_footprint(c.wcs, c.sci.shape) for c in chips_b]
    sums, counts, area, chip_pairs = [0.0, 0.0], [0, 0], 0.0, []
    for i, (ca, fa) in enumerate(zip(chips_a, feet_a)):
        for j, (cb, fb) in enumerate(zip(chips_b, feet_b)):
            inter = footprint_intersection(fa, fb, f"{labels[0]}[{i}] x {labels[1]}[{j}]")
            if inter is None:
                continue
            area += inter.area() * STERADIAN_ARCSEC2
            sides = [_sky_inside(ca, inter, stat), _sky_inside(cb, inter, stat)]
            chip_pairs.append({"chips": [i, j], "sky": [s for s, _ in sides], "npix": [n for _, n in sides]})
            for k, (value, npix) in enumerate(sides):
                if value is not None and npix > 0:
                    sums[k] += value * npix
                    counts[k] += npix
    sky = None if min(counts) == 0 else (sums[0] / counts[0], sums[1] / counts[1])
    return PairSky(sky, tuple(counts), area, chip_pairs)


@dataclass
class SkySolution:
    skies: dict      # {name: sky in brightness units}
    offsets: dict    # {name: matched offset, lowest 0 in each group}
    groups: list     # lists of names connected by usable overlaps, in input order
    globalmin: float  # added to every offset (globalmin+match), else 0


def _groups(n, links):
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in links:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def match_offsets(names, pairs):
    """Offsets per exposure that best equalise the overlaps: for each usable pair (a, b, sky_a,
    sky_b, weight) the equation weight·(d_a − d_b) = weight·(sky_a − sky_b), solved by least
    squares within each connected group, whose lowest offset is then set to 0.
    Returns ({name: offset}, [[names of a group], ...])."""
    index = {n: k for k, n in enumerate(names)}
    usable = [p for p in pairs if p[4] > 0]
    groups = _groups(len(names), [(index[a], index[b]) for a, b, *_ in usable])
    offsets = np.zeros(len(names))
    for group in groups:
        if len(group) < 2:
            continue
        col = {g: k for k, g in enumerate(group)}
        rows = [(col[index[a]], col[index[b]], sa - sb, w) for a, b, sa, sb, w in usable if index[a] in col]
        K = np.zeros((len(rows), len(group)))
        F = np.zeros(len(rows))
        for e, (ka, kb, diff, w) in enumerate(rows):
            K[e, ka], K[e, kb], F[e] = w, -w, w * diff
        d = np.linalg.lstsq(K, F, rcond=None)[0]
        offsets[group] = d - d.min()
    if len(groups) > 1:
        log.warning("sky matching: %d groups of exposures share no usable overlap (%s); each group's "
                    "sky is matched within the group, its lowest set to 0", len(groups),
                    "; ".join(", ".join(names[i] for i in g) for g in groups))
    return {n: float(offsets[k]) for k, n in enumerate(names)}, [[names[i] for i in g] for g in groups]


def solve_skies(names, pairs, method="match", chip_skies=None):
    """Each exposure's sky (brightness) for ``method`` 'match' or 'globalmin+match'.
    ``pairs``: (name_a, name_b, sky_a, sky_b, weight) of the pairs whose overlap gave a sky on
    both sides; ``chip_skies``: {name: [brightness of each chip's own sky, None if unusable]},
    for the global minimum of the matched (residual) skies in globalmin+match."""
    offsets, groups = match_offsets(list(names), pairs)
    minimum = 0.0
    if method == "globalmin+match":
        residual = [b - offsets[n] for n in names for b in (chip_skies or {}).get(n, []) if b is not None]
        if residual:
            minimum = min(residual)
        else:
            log.warning("globalmin+match: no usable chip sky in any exposure; global minimum 0")
    elif method != "match":
        raise ValueError(f"sky matching has no method {method!r}")
    return SkySolution({n: offsets[n] + minimum for n in names}, offsets, groups, minimum)


def match_exposures(exposures, method="match", stat=None):
    """The whole computation on arrays: ``exposures`` is {name: [SkyChip, ...]} (in a fixed
    order); every pair is measured with ``pair_sky`` and the skies solved. Returns the
    ``SkySolution``."""
    stat = stat or {}
    names = list(exposures)
    pairs = []
    for k, a in enumerate(names):
        for b in names[k + 1:]:
            p = pair_sky(exposures[a], exposures[b], stat, labels=(a, b))
            if p.sky is not None:
                pairs.append((a, b, p.sky[0], p.sky[1], 0.5 * (p.npix[0] + p.npix[1])))
    chip_skies = {}
    for n, chips in exposures.items():
        values = [sky_statistic(c.sci[c.good], **stat)[0] for c in chips]
        chip_skies[n] = [None if v is None else c.brightness(v) for v, c in zip(values, chips)]
    return solve_skies(names, pairs, method, chip_skies)
