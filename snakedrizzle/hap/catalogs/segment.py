"""Segmentation of the total image and SourceCatalog measurements (SPEC-HAP H7.5).

The total image is convolved with the detection kernel (a Gaussian of the PSF's FWHM), segmented
above ``segm_nsigma`` x the noise of each weight region (:mod:`.regions`), and large segments are
deblended. Segments that are too big or cover too much of the image (a nebula, a crowded core)
would take days to deblend and mean little: HAP then tries a RickerWavelet kernel, which keeps
point-like cores apart, and a second round with a 2-D background or higher thresholds, and
otherwise makes no segment catalog (``segment_total``). Every filter image is then measured
through the same segments (``detection_catalog``), so IDs and apertures agree.

Memory: ``SourceCatalog`` computes a property only when it is asked for, so each catalog gets only
what its columns need: the detection catalog the total's background-subtracted image and the
convolved image (positions, shapes, Kron radii, shared by every filter catalog); a filter catalog
its own background-subtracted image, error and background (fluxes and the background)."""
import logging
from dataclasses import dataclass

import numpy as np
from astropy.convolution import RickerWavelet2DKernel
from astropy.stats import gaussian_fwhm_to_sigma
from astropy.table import Table
from photutils.segmentation import (SegmentationImage, SourceCatalog, deblend_sources, detect_sources,
                                    make_2dgaussian_kernel)
from scipy import ndimage

from snakedrizzle.hap.catalogs.background import ROW_BLOCK, Background, background_subtracted, forced_twod_background
from snakedrizzle.hap.catalogs.regions import whole_footprint

__all__ = ["detection_kernel", "ricker_kernel", "convolved_image", "segmentation_quality", "load_segmentation",
           "detection_catalog", "filter_catalog", "segment_flux_errors", "segment_table", "segment_positions",
           "convolve_detection", "segment_total", "Segmentation", "KERNEL_SIZE", "GAUSSIAN", "RICKER"]

log = logging.getLogger("snakedrizzle")

KERNEL_SIZE = 11
GAUSSIAN, RICKER = "gaussian", "rickerwavelet"   # the detection kernels of H7.5
_RICKER_WIDTH = 1.5  # Ricker sigma / Gaussian sigma: the cores of the two kernels match


def detection_kernel(pscale, pars):
    """Normalised 11 x 11 Gaussian with the PSF's FWHM in pixels (H7.3)."""
    return make_2dgaussian_kernel(float(pars["fwhmpsf"]) / pscale, size=KERNEL_SIZE)


def ricker_kernel(pscale, pars):
    """H7.5's RickerWavelet kernel (``rw2d_size`` square): 1.5 x the PSF's Gaussian sigma wide,
    scaled so that its peak matches the Gaussian's; used without normalisation."""
    sigma = float(pars["fwhmpsf"]) / pscale * gaussian_fwhm_to_sigma
    size = int(pars["rw2d_size"])
    kernel = RickerWavelet2DKernel(_RICKER_WIDTH * sigma, x_size=size, y_size=size)
    return 0.5 * _RICKER_WIDTH ** 4 * sigma ** 2 * kernel.array


def _big_labels(segm):
    """Labels worth deblending: at least the kernel's area, but not the largest island(s), which
    in HAP are the bright-star halos or the galaxy that deblending would shred (H7.5)."""
    areas = dict(zip(segm.labels, segm.areas))
    big = sorted((lab for lab, a in areas.items() if a >= KERNEL_SIZE ** 2), key=areas.get, reverse=True)
    while len(big) >= 2 and areas[big[0]] >= 10 * areas[big[1]]:
        big.pop(0)
    return big[1:] if big else []


def convolve_detection(image, pscale, pars, kernel=GAUSSIAN):
    """A float32 background-subtracted ``image`` convolved with the detection ``kernel`` (H7.5:
    gaussian, or rickerwavelet after a poor segmentation)."""
    array = detection_kernel(pscale, pars).array if kernel == GAUSSIAN else ricker_kernel(pscale, pars)
    # a direct convolution (zero outside the image); astropy's convolve is far slower here
    return ndimage.convolve(image, array.astype(np.float32), mode="constant")


def convolved_image(data, background, pscale, pars, kernel=GAUSSIAN):
    """The background-subtracted image convolved with the detection kernel (H7.5)."""
    return convolve_detection(background_subtracted(data, background.level, dtype=np.float32), pscale, pars, kernel)


def segmentation_quality(segm, n_real, biggest_source, source_fraction, biggest_pixels, big_island_only=False):
    """``(poor, biggest, fraction)`` of H7.5's test: the largest segment's share of the ``n_real``
    pixels with data, and all segments' share. Poor if the largest exceeds ``biggest_source`` or
    ``biggest_pixels``, or (unless ``big_island_only``) the share exceeds ``source_fraction``."""
    if segm is None:
        return True, 1.0, 1.0
    n_real = max(int(n_real), 1)
    biggest_pixels_found = int(np.max(segm.areas))
    biggest, fraction = biggest_pixels_found / n_real, float(np.sum(segm.areas)) / n_real
    poor = (biggest > biggest_source or biggest_pixels_found > biggest_pixels
            or (not big_island_only and fraction > source_fraction))
    return bool(poor), biggest, fraction


@dataclass
class Segmentation:
    """The segmentation H7.5 settles on: ``segm`` None means an empty segment catalog."""
    segm: object            # SegmentationImage or None
    convolved: np.ndarray   # the image convolved with ``kernel`` (float32)
    background: Background  # the background it used (round 2 may have replaced it)
    kernel: str             # GAUSSIAN or RICKER
    nsigma: float           # the threshold used, in units of the region noise
    round: int              # 1 or 2 (0: nothing tried)
    note: str               # why this one (for the log and the segment map's header)
    poor: bool = False      # empty for poor quality, or kept though poor (H7.5's last chance)


def _attempt(data, background, regions, pscale, pars, kernel, nsigma):
    """``(segm or None, convolved)`` above ``nsigma`` x each region's noise (H7.5)."""
    convolved = convolved_image(data, background, pscale, pars, kernel)
    segm = detect_sources(convolved, regions.threshold(background, nsigma), n_pixels=int(pars["source_box"]),
                          mask=~background.footprint)
    return segm, convolved


def _rounds(data, background, regions, pscale, pars, n_real):
    """Gaussian, then RickerWavelet, then both again with a 2-D background or doubled
    thresholds, until a segmentation is good enough (H7.5)."""
    limits = (float(pars["rw2d_biggest_source"]), float(pars["rw2d_source_fraction"]), int(pars["rw2d_biggest_pixels"]))
    nsigmas = {GAUSSIAN: float(pars["segm_nsigma"]), RICKER: float(pars["rw2d_nsigma"])}
    for round_ in (1, 2):
        if round_ == 2:
            if background.kind == "sigma_clipped_background":
                background = forced_twod_background(data, background, pars)
            elif background.kind == "twod_background":
                nsigmas = {k: 2 * v for k, v in nsigmas.items()}
            # the last chance: HAP's looser "deblend" limits for the RickerWavelet segments
            ricker_limits = (float(pars["biggest_source_deblend_limit"]),
                             float(pars["source_fraction_deblend_limit"]), limits[2])
        for kernel in (GAUSSIAN, RICKER):
            found = None  # one attempt's images at a time
            segm, convolved = _attempt(data, background, regions, pscale, pars, kernel, nsigmas[kernel])
            found = Segmentation(segm, convolved, background, kernel, nsigmas[kernel], round_, "")
            if segm is None:
                found.note = f"no segment above {nsigmas[kernel]:g} sigma"
                return found
            test = limits if kernel == GAUSSIAN or round_ == 1 else ricker_limits
            poor, biggest, fraction = segmentation_quality(segm, n_real, *test, big_island_only=kernel == RICKER)
            found.note = f"biggest segment {100 * biggest:.2f}%, segments {100 * fraction:.1f}% of the image"
            if not poor:
                return found
            if kernel == GAUSSIAN:
                gaussian_biggest = biggest
            del segm, convolved
    # RickerWavelet still poor in round 2: HAP keeps it when the Gaussian's biggest segment is
    # much bigger (overlapping stars that deblending can split), not when both are (nebulosity)
    if gaussian_biggest / biggest > float(pars["ratio_bigsource_limit"]):
        found.note += f"; Gaussian/Ricker biggest segment {gaussian_biggest / biggest:.1f}"
    else:
        found.note, found.segm = f"still poor after round 2 ({found.note})", None
    found.poor = True
    return found


def segment_total(data, background, pscale, pars, regions=None):
    """The :class:`Segmentation` of the total image (H7.5): segments above ``segm_nsigma`` x each
    weight region's noise (``regions``, default the footprint as one) in the image convolved
    with the Gaussian kernel, retried as :func:`_rounds` says when the segments are too big or
    cover too much; big segments are deblended. One warning says what was used, or why the
    segment catalog is empty."""
    regions = whole_footprint(background.footprint) if regions is None else regions
    if background.kind == "empty" or background.rms_median <= 0 or not regions.count:
        return Segmentation(None, convolved_image(data, background, pscale, pars), background, GAUSSIAN,
                            float(pars["segm_nsigma"]), 0, "no data or no noise")
    n_real = int(np.count_nonzero(np.isfinite(data) & (data != 0)))
    found = _rounds(data, background, regions, pscale, pars, n_real)
    if found.segm is None:
        log.warning("segmentation: empty segment catalog, %s kernel round %d: %s", found.kernel, found.round,
                    found.note)
        return found
    labels = _big_labels(found.segm)
    if labels:
        try:
            found.segm = deblend_sources(found.convolved, found.segm, n_pixels=int(pars["source_box"]),
                                         labels=labels, n_levels=int(pars["nlevels"]),
                                         contrast=float(pars["contrast"]), progress_bar=False)
        except ValueError as exc:  # a segment photutils cannot split stays whole (HAP ignores these too)
            log.warning("deblending skipped: %s", exc)
    # a retry changes what the catalog means: the user hears of it; the first choice is routine
    say = log.info if (found.kernel, found.round) == (GAUSSIAN, 1) else log.warning
    say("segmentation: %s kernel, round %d, %g sigma in %d weight region(s): %d segments (%d deblended); %s",
        found.kernel, found.round, found.nsigma, regions.count, found.segm.n_labels, len(labels), found.note)
    return found


def segment_flux_errors(image, rms, exptime, segm):
    """Error of each segment's flux (in ``segm.labels`` order): the root of the sum over its
    pixels of ``calc_total_error(image, rms, exptime)`` squared, as photutils' ``segment_flux_err``,
    accumulated band by band rather than from a frame-sized error image (one such image was a
    sixth of a segment catalog job's peak)."""
    gain = max(float(exptime), 1e-9)
    sums = np.zeros(int(segm.max_label) + 1, np.float64)
    for start in range(0, image.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        labels = segm.data[rows]
        inside = labels > 0
        # photutils' rounding: the image's dtype over a float64 gain, back to that dtype, clipped at 0
        variance = np.true_divide(image[rows][inside], gain, dtype=np.float64).astype(image.dtype)
        error = np.sqrt(np.asarray(rms[rows])[inside] ** 2 + np.maximum(variance, 0))
        sums += np.bincount(labels[inside], weights=error.astype(np.float64) ** 2, minlength=sums.size)
    return np.sqrt(sums[segm.labels])


def detection_catalog(image, segm, convolved, wcs, pars, error=None, background=None):
    """SourceCatalog of the background-subtracted total ``image``; ``error`` and ``background``
    are needed only when the total itself is measured."""
    return SourceCatalog(image, segm, convolved_data=convolved, error=error, background=background, wcs=wcs,
                         kron_params=tuple(pars["kron_params"]))


def filter_catalog(image, segm, error, background, detection):
    """SourceCatalog of a background-subtracted filter ``image`` through the total's segments
    (positions, shapes and apertures from ``detection``)."""
    return SourceCatalog(image, segm, error=error, background=background, wcs=detection.wcs,
                         detection_catalog=detection)


def segment_table(detection, measured, wcs, flux_errors):
    """Segment measurements of ``measured`` (a filter catalog, or ``detection`` itself) as a table
    with H7.9's names, without the aperture photometry; RA/DEC from the total's ``wcs``;
    ``flux_errors`` from :func:`segment_flux_errors`."""
    cat = measured
    quantity = lambda q: np.asarray(getattr(q, "value", q), float)  # noqa: E731
    table = segment_positions(detection, wcs, measured)
    table.update({
        "Bck": quantity(cat.background_centroid), "Area": quantity(cat.area), "FWHM": quantity(cat.fwhm),
        "FluxSegment": quantity(cat.segment_flux), "FluxSegmentErr": np.asarray(flux_errors, float),
        "KronRadius": quantity(cat.kron_radius), "Xmin": cat.bbox_xmin, "Ymin": cat.bbox_ymin,
        "Xmax": cat.bbox_xmax, "Ymax": cat.bbox_ymax, "X2": quantity(cat.covariance_xx),
        "Y2": quantity(cat.covariance_yy), "XY": quantity(cat.covariance_xy),
        "CXX": quantity(cat.ellipse_cxx), "CYY": quantity(cat.ellipse_cyy), "CXY": quantity(cat.ellipse_cxy),
        "Elongation": quantity(cat.elongation), "Ellipticity": quantity(cat.ellipticity),
        "Theta": np.deg2rad(quantity(cat.orientation)),
    })
    return table


def segment_positions(detection, wcs, measured=None):
    """``X-Centroid, Y-Centroid, RA, DEC, ID`` of ``measured`` (default: ``detection``); a
    centroid it cannot give falls back to the detection's."""
    cat = detection if measured is None else measured
    x, y = np.asarray(cat.x_centroid, float), np.asarray(cat.y_centroid, float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    x[bad], y[bad] = np.asarray(detection.x_centroid)[bad], np.asarray(detection.y_centroid)[bad]
    ra, dec = wcs.all_pix2world(x, y, 0) if len(x) else (x, y)
    return Table({"ID": np.asarray(cat.label), "X-Centroid": x, "Y-Centroid": y, "RA": ra, "DEC": dec})


def load_segmentation(array):
    """A SegmentationImage of a stored label array, or None if it has no segment."""
    return SegmentationImage(np.asarray(array, np.int32)) if np.any(array) else None
