"""Weight regions (SPEC-HAP H7.3), per-region detection thresholds (H7.4, H7.5) and the
segmentation quality test and retries (H7.5), on small synthetic totals with a truth list.

The totals are drizzle-like: a deep centre where four exposures overlap (weight 4, noise
sigma) inside a shallow frame that one exposure reaches (weight 1, noise 2 sigma), or, with a
short exposure there, a quarter of that (weight 1/16 of the centre's, noise 4 sigma)."""
import logging

import numpy as np
import pytest
from photutils.segmentation import SegmentationImage
from scipy.spatial import cKDTree
from scipy.special import erf

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs.background import compute_background, forced_twod_background
from snakedrizzle.hap.catalogs.params import catalog_pars
from snakedrizzle.hap.catalogs.point import detect_point_sources
from snakedrizzle.hap.catalogs.regions import region_scale, weight_regions, whole_footprint
from snakedrizzle.hap.catalogs.segment import GAUSSIAN, RICKER, segment_total, segmentation_quality

PSCALE = 0.05
SIGMA_PSF = 1.0
NOISE = 0.01            # e-/s per pixel where four exposures overlap
SKY = 0.3
SHAPE = (300, 300)


def _weights(deep, depth=4):
    """WHT: ``depth`` in the central ``deep`` x ``deep`` square, 1 in the frame around it, 0
    beyond 5 px of the edges (the footprint is eroded 10 px more)."""
    wht = np.zeros(SHAPE, np.float32)
    wht[5:-5, 5:-5] = 1
    lo = (SHAPE[0] - deep) // 2
    wht[lo:lo + deep, lo:lo + deep] = depth
    return wht


def _stars(rng, n, flux_range, spacing=12, edge=20):
    xy = []
    while len(xy) < n:
        p = rng.uniform(edge, SHAPE[0] - edge, 2)
        if all(np.hypot(*(p - q)) > spacing for q in xy):
            xy.append(p)
    xy = np.array(xy)
    return xy[:, 0], xy[:, 1], 10 ** rng.uniform(*np.log10(flux_range), n)


def _image(rng, wht, x, y, flux, extra=None):
    """Pixel-integrated Gaussian stars on a sky, Gaussian noise NOISE * sqrt(4 / weight)."""
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    model = np.full(SHAPE, SKY) + (0 if extra is None else extra)
    s2 = np.sqrt(2) * SIGMA_PSF
    for xi, yi, f in zip(x, y, flux):
        sl = (slice(int(yi) - 8, int(yi) + 9), slice(int(xi) - 8, int(xi) + 9))
        gx = 0.5 * (erf((xx[sl] + 0.5 - xi) / s2) - erf((xx[sl] - 0.5 - xi) / s2))
        gy = 0.5 * (erf((yy[sl] + 0.5 - yi) / s2) - erf((yy[sl] - 0.5 - yi) / s2))
        model[sl] += f * gx * gy
    noise = NOISE * np.sqrt(wht.max() / np.where(wht > 0, wht, 1))
    return np.where(wht > 0, model + rng.normal(0, 1, SHAPE) * noise, 0).astype(np.float32)


def _pars(**overrides):
    # the PSF's FWHM for the finder and the Gaussian kernel
    return catalog_pars("acs", "wfc", {"fwhmpsf": 2.3548 * SIGMA_PSF * PSCALE, **overrides})


def _scores(found, x, y, flux, where, min_flux, max_flux=np.inf):
    """(completeness of stars of flux in [``min_flux``, ``max_flux``), purity, number of such
    stars, number of detections) among truth stars and detections inside ``where`` (bool map)."""
    inside = lambda px, py: where[np.round(py).astype(int), np.round(px).astype(int)]  # noqa: E731
    fx, fy = np.asarray(found["x"]), np.asarray(found["y"])
    keep = inside(fx, fy)
    dist, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([fx[keep], fy[keep]]))
    purity = float(np.mean(dist < 1.0)) if keep.any() else 1.0
    dist, _ = cKDTree(np.column_stack([fx, fy])).query(np.column_stack([x, y]))
    stars = inside(x, y) & (flux >= min_flux) & (flux < max_flux)
    return float(np.mean(dist[stars] < 1.0)), purity, int(stars.sum()), int(keep.sum())


def test_weight_regions_split_deep_and_shallow():
    wht = _weights(160)
    footprint = compute_background(np.ones(SHAPE, np.float32), wht, _pars()).footprint
    pars = _pars()
    assert region_scale(pars, 4) == 1.5 and region_scale(pars, 8) == 3.5   # (NDRIZIM - 1) / 2 wins
    regions = weight_regions(wht, footprint, region_scale(pars, 4))
    assert regions.count == 2 and np.allclose(regions.max_rel, [1.0, 0.25])
    # the 11 x 11 maximum filter grows the deep region by 5 px into the shallow frame
    deep = np.zeros(SHAPE, bool)
    deep[65:235, 65:235] = True
    assert np.array_equal(regions.labels == 1, deep & footprint)
    assert np.array_equal(regions.labels == 2, footprint & ~deep)
    # a sliver (under 5% of the footprint) is no region of its own: it joins the rest
    assert weight_regions(_weights(40), footprint, 1.5).count == 1
    uniform = weight_regions(np.where(wht > 0, 1, 0).astype(np.float32), footprint, 1.5)
    assert uniform.count == 1 and np.array_equal(uniform.labels.astype(bool), footprint)
    with pytest.raises(InputError, match="scale"):
        region_scale({"scale": 1.0}, 1)


def test_one_region_is_the_global_threshold():
    """A total of uniform weight: the same sources as one threshold over the whole footprint."""
    rng = np.random.default_rng(1)
    wht = np.where(_weights(160) > 0, 4, 0).astype(np.float32)
    x, y, flux = _stars(rng, 120, (0.5, 50))
    data = _image(rng, wht, x, y, flux)
    pars = _pars()
    background = compute_background(data, wht, pars)
    regions = weight_regions(wht, background.footprint, 1.5)
    assert regions.count == 1
    by_region = detect_point_sources(data.copy(), background, PSCALE, pars, regions)
    whole = detect_point_sources(data.copy(), background, PSCALE, pars)
    assert len(by_region) == len(whole) > 60
    assert np.allclose(by_region["x"], whole["x"], atol=1e-9) and np.allclose(by_region["y"], whole["y"], atol=1e-9)
    assert regions.threshold(background, 3.0) == 3.0 * background.rms_median


def test_shallow_frame_stays_pure_with_region_thresholds():
    """Deep centre over most of the footprint (the global noise is near the deep one) and a
    frame four times noisier: one global threshold finds noise peaks in the frame, the frame's
    own threshold (4 x the global) keeps it pure, and the deep centre loses nothing."""
    rng = np.random.default_rng(2)
    wht = _weights(200, depth=16)
    x, y, flux = _stars(rng, 150, (0.3, 30))
    data = _image(rng, wht, x, y, flux)
    pars = _pars()
    background = compute_background(data, wht, pars)
    assert background.kind == "sigma_clipped_background"
    regions = weight_regions(wht, background.footprint, region_scale(pars, 5))
    assert regions.count == 2 and regions.max_rel[1] == 1 / 16
    deep, shallow = regions.labels == 1, regions.labels == 2
    per_region = detect_point_sources(data.copy(), background, PSCALE, pars, regions)
    global_ = detect_point_sources(data.copy(), background, PSCALE, pars)
    bright = 3.0  # e-/s: well above 5 x the shallow noise in the PSF
    region_shallow = _scores(per_region, x, y, flux, shallow, bright)
    global_shallow = _scores(global_, x, y, flux, shallow, bright)
    print(f"\nshallow frame: region thresholds completeness {region_shallow[0]:.3f} purity {region_shallow[1]:.3f} "
          f"({region_shallow[3]} found); global completeness {global_shallow[0]:.3f} purity {global_shallow[1]:.3f} "
          f"({global_shallow[3]} found)")
    assert region_shallow[1] >= 0.95 and global_shallow[1] <= 0.9
    assert region_shallow[0] >= 0.95 and region_shallow[2] >= 10
    region_deep, global_deep = (_scores(t, x, y, flux, deep, 0.0) for t in (per_region, global_))
    assert region_deep == global_deep and region_deep[1] >= 0.95


def test_deep_centre_gains_faint_stars_with_a_local_noise_map():
    """Shallow frame over most of the footprint and a 2-D (local) noise map, as H7.5's round 2
    makes it: the global threshold (median noise: the shallow one) misses faint stars of the
    deep centre that its region's threshold finds, and the frame stays pure."""
    rng = np.random.default_rng(3)
    wht = _weights(150)
    x, y, flux = _stars(rng, 150, (0.2, 20))
    data = _image(rng, wht, x, y, flux)
    pars = _pars()
    background = forced_twod_background(data, compute_background(data, wht, pars), pars)
    assert background.kind == "twod_background"
    regions = weight_regions(wht, background.footprint, region_scale(pars, 4))
    deep, shallow = regions.labels == 1, regions.labels == 2
    per_region = detect_point_sources(data.copy(), background, PSCALE, pars, regions)
    global_ = detect_point_sources(data.copy(), background, PSCALE, pars)
    faint = (0.4, 1.5)  # e-/s: between 5 x the deep noise and 5 x the shallow noise in the PSF
    region_deep = _scores(per_region, x, y, flux, deep, *faint)
    global_deep = _scores(global_, x, y, flux, deep, *faint)
    print(f"\ndeep centre, stars of {faint} e-/s ({region_deep[2]}): region thresholds completeness {region_deep[0]:.3f} purity "
          f"{region_deep[1]:.3f}; global completeness {global_deep[0]:.3f} purity {global_deep[1]:.3f}")
    assert region_deep[2] >= 15
    assert region_deep[0] >= 0.8 and region_deep[0] >= global_deep[0] + 0.2
    assert region_deep[1] >= 0.95
    assert _scores(per_region, x, y, flux, shallow, 0.0)[1] >= 0.95


# ---- H7.5 segmentation quality and retries ------------------------------------------------------

def test_segmentation_quality_limits():
    labels = np.zeros((100, 100), np.int32)
    labels[:10, :10] = 1          # 100 px
    labels[50:52, 50:55] = 2      # 10 px
    segm = SegmentationImage(labels)
    assert segmentation_quality(segm, 10000, 0.015, 0.075, 25000) == (False, 0.01, 0.011)
    assert segmentation_quality(segm, 5000, 0.015, 0.075, 25000)[0]                  # 2% biggest
    assert segmentation_quality(segm, 10000, 0.015, 0.075, 99)[0]                    # > pixel limit
    assert segmentation_quality(segm, 10000, 0.015, 0.005, 25000)[0]                 # source fraction
    assert not segmentation_quality(segm, 10000, 0.015, 0.005, 25000, big_island_only=True)[0]
    assert segmentation_quality(None, 10000, 0.015, 0.075, 25000) == (True, 1.0, 1.0)


@pytest.fixture(scope="module")
def nebula_total():
    """A uniform-weight total with stars on a broad bright nebula (a Gaussian of sigma 35 px,
    about a tenth of the footprint above threshold)."""
    rng = np.random.default_rng(4)
    wht = np.where(_weights(160) > 0, 4, 0).astype(np.float32)
    x, y, flux = _stars(rng, 80, (1, 30))
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    nebula = 0.5 * np.exp(-((xx - 150) ** 2 + (yy - 150) ** 2) / (2 * 35.0 ** 2))
    return _image(rng, wht, x, y, flux, extra=nebula), wht, x, y


def test_nebula_is_poor_for_the_gaussian_and_ricker_keeps_the_stars(nebula_total, caplog):
    data, wht, x, y = nebula_total
    pars = _pars()
    background = compute_background(data, wht, pars)
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        found = segment_total(data, background, PSCALE, pars)
    assert (found.kernel, found.round, found.nsigma, found.poor) == (RICKER, 1, pars["rw2d_nsigma"], False)
    assert any("rickerwavelet kernel, round 1" in r.getMessage() for r in caplog.records)
    # the Gaussian round alone: one segment swallows the nebula and the stars on it
    gaussian = segment_total(data, background, PSCALE, _pars(rw2d_biggest_source=1.0, rw2d_source_fraction=1.0))
    assert gaussian.kernel == GAUSSIAN and max(gaussian.segm.areas) / background.footprint.sum() > 0.015
    assert max(found.segm.areas) < 0.2 * max(gaussian.segm.areas)
    # most stars now have their own segment
    labels = found.segm.data[np.round(y).astype(int), np.round(x).astype(int)]
    assert np.mean(labels > 0) >= 0.9 and len(np.unique(labels[labels > 0])) >= 0.9 * len(x)


def test_round_two_and_an_empty_catalog(nebula_total, caplog):
    data, wht, x, y = nebula_total
    background = compute_background(data, wht, _pars())
    assert background.kind == "sigma_clipped_background"
    # limits every segmentation fails: round 2 forces a 2-D background; the Gaussian's biggest
    # segment (the nebula) is many times the Ricker's, so the Ricker segments are kept, flagged
    strict = _pars(rw2d_biggest_pixels=20)
    kept = segment_total(data, background, PSCALE, strict)
    assert (kept.kernel, kept.round, kept.poor) == (RICKER, 2, True)
    assert kept.background.kind == "twod_background" and "Gaussian/Ricker" in kept.note
    # faint stars alone, the biggest segment allowed smaller than one: both kernels' biggest
    # segments are star images of similar size, so nothing can be kept
    rng = np.random.default_rng(5)
    x, y, flux = _stars(rng, 80, (1, 3))
    faint = _image(rng, wht, x, y, flux)
    with caplog.at_level(logging.WARNING, logger="snakedrizzle"):
        empty = segment_total(faint, compute_background(faint, wht, _pars()), PSCALE, _pars(rw2d_biggest_pixels=10))
    assert empty.segm is None and empty.poor and empty.round == 2
    assert any("empty segment catalog" in r.getMessage() for r in caplog.records)
    # a twod background in round 2 doubles both thresholds instead
    twod = forced_twod_background(data, background, strict)
    assert segment_total(data, twod, PSCALE, strict, whole_footprint(twod.footprint)).nsigma == 2 * strict["rw2d_nsigma"]
