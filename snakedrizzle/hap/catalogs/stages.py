"""File-level catalog stages (the rules of ``rules/hap.smk`` call these).

Detection (``detection_stage``, one job per total): ``segment_map_stage`` (total image -> segments
and its background) and ``point_sources_stage`` (total image -> source positions). Then per filter
``point_catalog_stage`` and ``segment_catalog_stage``, and ``total_catalog_stage``.
Inputs are only read; every output is written atomically."""
import logging
import os

import numpy as np
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs import columns as C
from snakedrizzle.hap.catalogs.background import CONSTANT_KINDS, Background, background_subtracted, constant_map
from snakedrizzle.hap.catalogs.flags import source_flags
from snakedrizzle.hap.catalogs.params import ci_limits
from snakedrizzle.hap.catalogs.point import ab_mag, aperture_photometry_table, detect_point_sources
from snakedrizzle.hap.catalogs.product import native_array, read_product
from snakedrizzle.hap.catalogs.regions import product_regions
from snakedrizzle.hap.catalogs.saturation import saturated_sources
from snakedrizzle.hap.catalogs.segment import (convolve_detection, detection_catalog, filter_catalog,
                                               load_segmentation, segment_positions, segment_table,
                                               segment_total, segment_flux_errors)
from snakedrizzle.io import write_hdulist

__all__ = ["catalog_stage", "detection_stage", "point_sources_stage", "point_catalog_stage", "segment_map_stage",
           "segment_catalog_stage", "total_catalog_stage"]

log = logging.getLogger("snakedrizzle")


def _total_for_detection(total_file, pars):
    """The total product's SCI with its background and weight regions (its WHT is used up)."""
    total = read_product(total_file, arrays=("SCI", "WHT"))
    background = total.background(pars)
    regions = product_regions(total.wht, background.footprint, total.header, pars, in_place=True)
    total.wht = None  # the background's footprint and the regions keep what the weights told
    return total, background, regions


def detection_stage(total_file, point_out, segmap_out, pars):
    """:func:`segment_map_stage` and :func:`point_sources_stage` in one job: the total is read and
    its background and regions made once, and the two largest catalog jobs never run side by
    side. The segment map comes first: the point finder subtracts the background in place."""
    total, background, regions = _total_for_detection(total_file, pars)
    _write_segment_map(total, background, regions, segmap_out, pars)
    _write_point_sources(total, background, regions, point_out, pars)


def point_sources_stage(total_file, out, pars):
    """Point sources of the total image: ``ID, X-Center, Y-Center, RA, DEC`` (0-based pixels)."""
    _write_point_sources(*_total_for_detection(total_file, pars), out, pars)


def _write_point_sources(total, background, regions, out, pars):
    found = detect_point_sources(total.data, background, total.pscale, pars, regions, in_place=True)
    ra, dec = total.wcs.all_pix2world(found["x"], found["y"], 0) if len(found) else ([], [])
    table = Table({"ID": found["ID"], "X-Center": found["x"], "Y-Center": found["y"], "RA": ra, "DEC": dec})
    table.meta = C.catalog_metadata(total.header, "point", pars, pars["nsigma"], len(table))
    table.meta["BKGTYPE"] = background.kind
    table.meta["NREGIONS"] = regions.count  # weight regions, each with its own threshold (H7.3)
    C.write_catalog(C.finish_table(table, C.TOTAL_POINT_KEYS), out)


def _read_table(path, needed):
    try:
        table = Table.read(path, format="ascii.ecsv")
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the catalog ({exc})") from None
    missing = [c for c in needed if c not in table.colnames]
    if missing:
        raise InputError(path, f"column(s) {', '.join(missing)} missing")
    return table


def _photometry_with_flags(image, x, y, pars, exposures=(), headerlets=()):
    """H7.6 photometry and H7.7 flags of ``image`` (its raw SCI) at 0-based ``x, y``; bit 4 from
    the DQ of its input ``exposures`` (on their aligned ``headerlets``)."""
    saturated = saturated_sources(image, x, y, pars["aperture_2"], exposures, headerlets)
    nexp = image.exposure_map()
    image.ctx = None
    photflam, photplam = image.photometry_keys
    table = aperture_photometry_table(image.data, np.column_stack([x, y]), image.pscale, pars,
                                      photflam, photplam, image.exptime)
    lower, upper, _ = ci_limits(image.instrument, image.detector, image.filter, pars)
    table["Flags"] = source_flags(table, x, y, lower, upper, float(pars["bthresh"]), nexp=nexp,
                                  radius=float(pars["aperture_2"]) / image.pscale, detector=image.detector,
                                  saturated=saturated)
    return table, (lower, upper)


def point_catalog_stage(product_file, sources_file, out, pars, exposures=(), headerlets=()):
    """Filter point catalog: the total's sources measured on the filter product (H7.6, H7.7);
    ``exposures`` (its inputs) and their ``headerlets`` give flag 4."""
    image = read_product(product_file, arrays=("SCI",))
    sources = _read_table(sources_file, C.TOTAL_POINT_KEYS)
    x, y = np.asarray(sources["X-Center"], float), np.asarray(sources["Y-Center"], float)
    table, limits = _photometry_with_flags(image, x, y, pars, exposures, headerlets)
    for name in C.TOTAL_POINT_KEYS:
        table[name] = sources[name]
    table.meta = C.catalog_metadata(image.header, "point", pars, pars["nsigma"], len(table), limits)
    C.write_catalog(C.finish_table(table, C.POINT_COLUMNS), out)


def segment_map_stage(total_file, out, pars):
    """The total's segmentation (SEGM), background (BKG), noise (RMS), footprint (FOOT) and the
    convolved detection image (CONV: the segment catalogs measure shapes on it, and need not
    convolve again) in one FITS file; the header says which kernel, round and threshold H7.5
    settled on."""
    total, background, regions = _total_for_detection(total_file, pars)
    _write_segment_map(total, background, regions, out, pars)


def _write_segment_map(total, background, regions, out, pars):
    found = segment_total(total.data, background, total.pscale, pars, regions)  # total.data is kept
    background, convolved = found.background, found.convolved
    labels = np.asarray(found.segm.data, np.int32) if found.segm is not None else np.zeros(convolved.shape, np.int32)
    primary = fits.PrimaryHDU()
    primary.header["BKGTYPE"] = (background.kind, "background (SPEC-HAP H7.2)")
    primary.header["NSEGMENT"] = (int(labels.max()), "segments of the total image")
    primary.header["SEGSIGMA"] = (float(found.nsigma), "detection threshold (sigma)")
    primary.header["SEGKERN"] = (found.kernel, "detection kernel (SPEC-HAP H7.5)")
    primary.header["SEGROUND"] = (found.round, "segmentation round (SPEC-HAP H7.5)")
    primary.header["NREGIONS"] = (regions.count, "weight regions (SPEC-HAP H7.3)")
    if found.poor:
        primary.header["SEGWARN"] = f"poor segmentation: {found.note}"[:68]
    hdus = [primary, fits.CompImageHDU(labels, name="SEGM"),
            fits.ImageHDU(np.array(background.level, np.float32), name="BKG"),
            fits.ImageHDU(np.array(background.rms, np.float32), name="RMS"),
            fits.CompImageHDU(background.footprint.astype(np.uint8), name="FOOT"),
            fits.ImageHDU(convolved, name="CONV")]
    write_hdulist(fits.HDUList(hdus), out)


def _stored_segmentation(path):
    """``(segm or None, background, nsigma, convolved, warning)`` of a segment-map file;
    ``convolved`` is None in a file written before CONV was stored (the caller convolves again),
    ``warning`` None unless the segmentation was poor (H7.5; the catalogs' h19 line)."""
    try:
        with fits.open(path, memmap=False) as hdul:
            segm = load_segmentation(hdul["SEGM"].data)
            kind, shape = hdul[0].header["BKGTYPE"], tuple(hdul["SEGM"].shape)
            if kind in CONSTANT_KINDS:  # one value per map: read one pixel of each
                level, rms = (constant_map(np.float32(hdul[e].section[0, 0]), shape) for e in ("BKG", "RMS"))
            else:
                level, rms = (native_array(hdul[e].data, np.float32) for e in ("BKG", "RMS"))
            background = Background(level, rms, kind, hdul["FOOT"].data.astype(bool))
            convolved = native_array(hdul["CONV"].data, np.float32) if "CONV" in hdul else None
            return segm, background, float(hdul[0].header["SEGSIGMA"]), convolved, hdul[0].header.get("SEGWARN")
    except (OSError, KeyError) as exc:
        raise InputError(path, f"not a segmentation file of the total image ({exc})") from None


def _detection(total, segm, background, convolved, pars, measured=False):
    """The total's detection SourceCatalog, made on its SCI background-subtracted in place.
    ``measured``: the total is itself measured, so its catalog gets the background."""
    image = background_subtracted(total.data, background.level, in_place=True)
    if convolved is None:  # a segment map from before CONV was stored
        convolved = convolve_detection(image.astype(np.float32, copy=False), total.pscale, pars)
    # positions, shapes and Kron radii need no background; the flux errors are summed apart
    return detection_catalog(image, segm, convolved, total.wcs, pars, background=background.level if measured else None)


def _segment_measurements(image, total_file, segm, total_background, background, convolved, pars):
    """``(segment table, x, y)``: the total's segments measured on ``image`` (a filter product,
    or the total itself) and the detection centroids. ``image.data`` is background-subtracted in
    place: the caller reads the raw image again if it needs it."""
    is_total = image.path == total_file
    total = image if is_total else read_product(total_file, arrays=("SCI",))
    detection = _detection(total, segm, total_background, convolved, pars, measured=is_total)
    # every catalog's positions are the detection centroids (a filter catalog takes them over)
    x, y = np.asarray(detection.x_centroid, float), np.asarray(detection.y_centroid, float)
    measured, measured_image = detection, total.data
    if not is_total:
        measured_image = background_subtracted(image.data, background.level, in_place=True)
        measured = filter_catalog(measured_image, segm, None, background.level, detection)
    flux_errors = segment_flux_errors(measured_image, background.rms, image.exptime, segm)
    return segment_table(detection, measured, total.wcs, flux_errors), x, y


def segment_catalog_stage(product_file, total_file, segmap_file, out, pars, exposures=(), headerlets=()):
    """Filter (or total) segment catalog: the total's segments measured on ``product_file``;
    ``exposures`` and ``headerlets`` as for :func:`point_catalog_stage`. The segment measurements
    come first and their maps are dropped before the aperture photometry (lower peak)."""
    image = read_product(product_file, arrays=("SCI", "WHT"))
    # the filter's own background first, while nothing else is in memory (lower peak)
    background = None if product_file == total_file else image.background(pars)
    image.wht = None
    segm, total_background, nsigma, convolved, warning = _stored_segmentation(segmap_file)
    if segm is None:
        table = Table({name: np.zeros(0) for name in C.SEGMENT_COLUMNS})
        table.meta = C.catalog_metadata(image.header, "segment", pars, nsigma, 0, warning=warning)
        C.write_catalog(C.finish_table(table, C.SEGMENT_COLUMNS), out)
        return
    segments, x, y = _segment_measurements(image, total_file, segm, total_background, background or total_background,
                                           convolved, pars)
    del segm, convolved, total_background, background
    image.data = None  # background-subtracted now: the photometry reads the raw image again
    image.data = read_product(product_file, arrays=("SCI",)).data
    table, limits = _photometry_with_flags(image, x, y, pars, exposures, headerlets)
    for name in segments.colnames:
        table[name] = segments[name]
    table["MagSegment"] = ab_mag(segments["FluxSegment"], *image.photometry_keys)
    table.meta = C.catalog_metadata(image.header, "segment", pars, nsigma, len(table), limits, warning=warning)
    C.write_catalog(C.finish_table(table, C.SEGMENT_COLUMNS), out)


def _segment_positions(total_file, segmap_file, pars):
    """``ID, X-Centroid, Y-Centroid, RA, DEC`` of the total's segments, and its header."""
    segm, background, nsigma, convolved, _ = _stored_segmentation(segmap_file)
    total = read_product(total_file, arrays=("SCI",) if segm is not None else ())
    if segm is None:
        return Table({name: np.zeros(0) for name in C.TOTAL_SEGMENT_KEYS}), total.header, nsigma
    detection = _detection(total, segm, background, convolved, pars)
    return segment_positions(detection, total.wcs), total.header, nsigma


def total_catalog_stage(total_file, detection_file, filter_catalogs, out, kind, pars):
    """Total catalog: the detection positions (point: the sources file; segment: the total's
    segments of ``detection_file``) with each filter's MagAP2_f, CI_f, Flags_f side by side
    (H7.8); rows whose every filter flag exceeds ``flag_trim_value`` (or is missing) go."""
    if kind == "point":
        keys = C.TOTAL_POINT_KEYS
        total = _read_table(detection_file, keys)[list(keys)]
        header, nsigma = read_product(total_file).header, pars["nsigma"]
    else:
        keys = C.TOTAL_SEGMENT_KEYS
        total, header, nsigma = _segment_positions(total_file, detection_file, pars)
    order = list(keys)
    flag_columns = []
    for path in filter_catalogs:
        filt = _read_table(path, ("ID", "MagAp2", "CI", "Flags"))
        name = _filter_of_catalog(path)
        by_id = {int(i): row for row, i in enumerate(filt["ID"])}
        rows = [by_id.get(int(i), -1) for i in total["ID"]]
        for pattern, base in C.TOTAL_FILTER_COLUMNS:
            values = np.array([filt[base][r] if r >= 0 else C.FILL_VALUE for r in rows], float)
            total[pattern.format(name)] = values
            order.append(pattern.format(name))
        flag_columns.append(f"Flags_{name}")
    if flag_columns:
        flags = np.column_stack([np.asarray(total[c], float) for c in flag_columns])
        bad = (flags > float(pars["flag_trim_value"])) | (flags == C.FILL_VALUE)
        keep = ~np.all(bad, axis=1)
        log.info("total %s catalog: %d of %d sources kept (flag trimming)", kind, keep.sum(), len(total))
        total = total[keep]
    total.meta = C.catalog_metadata(header, kind, pars, nsigma, len(total))
    C.write_catalog(C.finish_table(total, order), out)


def _filter_of_catalog(path):
    parts = os.path.basename(path).split("_")
    return parts[5] if len(parts) > 6 else os.path.basename(path)


def catalog_stage(kind, level, inputs, out, pars):
    """The rules' entry: ``inputs`` names detection, total, and product, exposures, headerlets
    (filter level) or filters (total level), as
    :meth:`snakedrizzle.hap.catalogs.plan.SvmCatalogs.inputs` gives them."""
    if level == "total":
        total_catalog_stage(inputs["total"], inputs["detection"], list(inputs["filters"]), out, kind, pars)
        return
    exposures, headerlets = list(inputs.get("exposures", ())), list(inputs.get("headerlets", ()))
    if kind == "point":
        point_catalog_stage(inputs["product"], inputs["detection"], out, pars, exposures, headerlets)
    else:
        segment_catalog_stage(inputs["product"], inputs["total"], inputs["detection"], out, pars, exposures,
                              headerlets)
