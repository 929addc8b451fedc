"""Segmentation of the total image and SourceCatalog measurements (SPEC-HAP H7.5).

The total image is convolved with the detection kernel (a Gaussian of the PSF's FWHM), segmented
above ``segm_nsigma`` x the noise map, and large segments are deblended; every filter image is
then measured through the same segments (``detection_catalog``), so IDs and apertures agree."""
import logging

import numpy as np
from astropy.table import Table
from photutils.segmentation import (SegmentationImage, SourceCatalog, deblend_sources, detect_sources,
                                    make_2dgaussian_kernel)
from photutils.utils import calc_total_error
from scipy import ndimage

__all__ = ["detection_kernel", "convolved_image", "segment_total", "load_segmentation", "measure_segments", "KERNEL_SIZE"]

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


def convolved_image(data, background, pscale, pars):
    """The background-subtracted image convolved with the detection kernel (H7.5)."""
    image = np.nan_to_num(data - background.level).astype(np.float32)
    # a direct 11 x 11 convolution (zero outside the image); astropy's convolve is far slower here
    return ndimage.convolve(image, detection_kernel(pscale, pars).array.astype(np.float32), mode="constant")


def segment_total(data, background, pscale, pars):
    """``(segmentation image or None, convolved image)`` of the total image."""
    convolved = convolved_image(data, background, pscale, pars)
    if background.kind == "empty" or background.rms_median <= 0:
        return None, convolved
    threshold = float(pars["segm_nsigma"]) * background.rms
    segm = detect_sources(convolved, threshold, n_pixels=int(pars["source_box"]), mask=~background.footprint)
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


def _catalog(data, background, segm, wcs, pars, exptime, convolved=None, detection=None):
    image = np.nan_to_num(data - background.level)
    error = calc_total_error(image, background.rms, max(exptime, 1e-9))
    return SourceCatalog(image, segm, convolved_data=convolved, error=error, background=background.level,
                         wcs=wcs, kron_params=tuple(pars["kron_params"]), detection_catalog=detection)


def measure_segments(total, filt=None):
    """Segment measurements as a table with H7.9's names (without the aperture photometry).

    ``total``: dict(data, background, segm, convolved, wcs, pars, exptime) of the total image;
    ``filt``: the same (without segm/convolved) for a filter image, measured through the total's
    segments; None measures the total itself."""
    detection = _catalog(total["data"], total["background"], total["segm"], total["wcs"], total["pars"],
                         total["exptime"], convolved=total["convolved"])
    cat = detection if filt is None else _catalog(filt["data"], filt["background"], total["segm"],
                                                  filt["wcs"], total["pars"], filt["exptime"],
                                                  detection=detection)
    x, y = np.asarray(cat.x_centroid, float), np.asarray(cat.y_centroid, float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    x[bad], y[bad] = np.asarray(detection.x_centroid)[bad], np.asarray(detection.y_centroid)[bad]
    ra, dec = total["wcs"].all_pix2world(x, y, 0) if len(x) else (x, y)
    quantity = lambda q: np.asarray(getattr(q, "value", q), float)  # noqa: E731
    return Table({
        "X-Centroid": x, "Y-Centroid": y, "RA": ra, "DEC": dec, "ID": np.asarray(cat.label),
        "Bck": quantity(cat.background_centroid), "Area": quantity(cat.area), "FWHM": quantity(cat.fwhm),
        "FluxSegment": quantity(cat.segment_flux), "FluxSegmentErr": quantity(cat.segment_flux_err),
        "KronRadius": quantity(cat.kron_radius), "Xmin": cat.bbox_xmin, "Ymin": cat.bbox_ymin,
        "Xmax": cat.bbox_xmax, "Ymax": cat.bbox_ymax, "X2": quantity(cat.covariance_xx),
        "Y2": quantity(cat.covariance_yy), "XY": quantity(cat.covariance_xy),
        "CXX": quantity(cat.ellipse_cxx), "CYY": quantity(cat.ellipse_cyy), "CXY": quantity(cat.ellipse_cxy),
        "Elongation": quantity(cat.elongation), "Ellipticity": quantity(cat.ellipticity),
        "Theta": np.deg2rad(quantity(cat.orientation)),
    })


def load_segmentation(array):
    """A SegmentationImage of a stored label array, or None if it has no segment."""
    return SegmentationImage(np.asarray(array, np.int32)) if np.any(array) else None
