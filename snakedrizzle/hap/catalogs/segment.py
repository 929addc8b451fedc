"""Segmentation of the total image and SourceCatalog measurements (SPEC-HAP H7.5).

The total image is convolved with the detection kernel (a Gaussian of the PSF's FWHM), segmented
above ``segm_nsigma`` x the noise map, and large segments are deblended; every filter image is
then measured through the same segments (``detection_catalog``), so IDs and apertures agree.

Memory: ``SourceCatalog`` computes a property only when it is asked for, so each catalog gets only
what its columns need: the detection catalog the total's background-subtracted image and the
convolved image (positions, shapes, Kron radii, shared by every filter catalog); a filter catalog
its own background-subtracted image, error and background (fluxes and the background)."""
import logging

import numpy as np
from astropy.table import Table
from photutils.segmentation import (SegmentationImage, SourceCatalog, deblend_sources, detect_sources,
                                    make_2dgaussian_kernel)
from scipy import ndimage

from snakedrizzle.hap.catalogs.background import ROW_BLOCK, background_subtracted

__all__ = ["detection_kernel", "convolved_image", "segment_total", "load_segmentation", "detection_catalog",
           "filter_catalog", "total_error", "segment_table", "segment_positions", "convolve_detection",
           "KERNEL_SIZE"]

log = logging.getLogger("snakedrizzle")

KERNEL_SIZE = 11


def detection_kernel(pscale, pars):
    """Normalised 11 x 11 Gaussian with the PSF's FWHM in pixels (H7.3)."""
    return make_2dgaussian_kernel(float(pars["fwhmpsf"]) / pscale, size=KERNEL_SIZE)


def _big_labels(segm):
    """Labels worth deblending: at least the kernel's area, but not the largest island(s), which
    in HAP are the bright-star halos or the galaxy that deblending would shred (H7.5)."""
    areas = dict(zip(segm.labels, segm.areas))
    big = sorted((lab for lab, a in areas.items() if a >= KERNEL_SIZE ** 2), key=areas.get, reverse=True)
    while len(big) >= 2 and areas[big[0]] >= 10 * areas[big[1]]:
        big.pop(0)
    return big[1:] if big else []


def convolve_detection(image, pscale, pars):
    """A float32 background-subtracted ``image`` convolved with the detection kernel (H7.5)."""
    # a direct 11 x 11 convolution (zero outside the image); astropy's convolve is far slower here
    return ndimage.convolve(image, detection_kernel(pscale, pars).array.astype(np.float32), mode="constant")


def convolved_image(data, background, pscale, pars):
    """The background-subtracted image convolved with the detection kernel (H7.5)."""
    return convolve_detection(background_subtracted(data, background.level, dtype=np.float32), pscale, pars)


def segment_total(data, background, pscale, pars):
    """``(segmentation image or None, convolved image)`` of the total image."""
    convolved = convolved_image(data, background, pscale, pars)
    if background.kind == "empty" or background.rms_median <= 0:
        return None, convolved
    segm = detect_sources(convolved, background.rms_threshold(pars["segm_nsigma"]),
                          n_pixels=int(pars["source_box"]), mask=~background.footprint)
    if segm is None:
        return None, convolved
    labels = _big_labels(segm)
    if labels:
        try:
            segm = deblend_sources(convolved, segm, n_pixels=int(pars["source_box"]), labels=labels,
                                   n_levels=int(pars["nlevels"]), contrast=float(pars["contrast"]),
                                   progress_bar=False)
        except ValueError as exc:  # a segment photutils cannot split stays whole (HAP ignores these too)
            log.warning("deblending skipped: %s", exc)
    log.info("segments: %d (%d deblended) above %.1f sigma", segm.n_labels, len(labels), pars["segm_nsigma"])
    return segm, convolved


def total_error(image, rms, exptime):
    """``photutils.utils.calc_total_error(image, rms, exptime)`` with the same rounding, made
    block by block (photutils makes several full-image float64 temporaries)."""
    gain = max(float(exptime), 1e-9)
    error = np.empty(image.shape, np.result_type(image, rms))
    for start in range(0, image.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        # as photutils: the image's dtype divided by a float64 gain, back to that dtype, clipped at 0
        variance = np.true_divide(image[rows], gain, dtype=np.float64).astype(image.dtype)
        error[rows] = np.sqrt(rms[rows] ** 2 + np.maximum(variance, 0))
    return error


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


def segment_table(detection, measured, wcs):
    """Segment measurements of ``measured`` (a filter catalog, or ``detection`` itself) as a table
    with H7.9's names, without the aperture photometry; RA/DEC from the total's ``wcs``."""
    cat = measured
    quantity = lambda q: np.asarray(getattr(q, "value", q), float)  # noqa: E731
    table = segment_positions(detection, wcs, measured)
    table.update({
        "Bck": quantity(cat.background_centroid), "Area": quantity(cat.area), "FWHM": quantity(cat.fwhm),
        "FluxSegment": quantity(cat.segment_flux), "FluxSegmentErr": quantity(cat.segment_flux_err),
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
