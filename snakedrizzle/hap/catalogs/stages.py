"""File-level catalog stages (the rules of ``rules/hap.smk`` call these).

Point: ``point_sources_stage`` (total image -> source positions), then ``point_catalog_stage``
per filter and ``total_catalog_stage``. Segment: ``segment_map_stage`` (total image -> segments
and its background), then ``segment_catalog_stage`` per filter and ``total_catalog_stage``.
Inputs are only read; every output is written atomically."""
import logging
import os

import numpy as np
from astropy.io import fits
from astropy.table import Table

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs import columns as C
from snakedrizzle.hap.catalogs.background import Background
from snakedrizzle.hap.catalogs.flags import exposure_count, source_flags
from snakedrizzle.hap.catalogs.params import ci_limits
from snakedrizzle.hap.catalogs.point import ab_mag, aperture_photometry_table, detect_point_sources
from snakedrizzle.hap.catalogs.product import read_product
from snakedrizzle.hap.catalogs.segment import (convolved_image, load_segmentation, measure_segments,
                                                   segment_total)
from snakedrizzle.io import write_hdulist

__all__ = ["catalog_stage", "point_sources_stage", "point_catalog_stage", "segment_map_stage", "segment_catalog_stage",
           "total_catalog_stage"]

log = logging.getLogger("snakedrizzle")


def point_sources_stage(total_file, out, pars):
    """Point sources of the total image: ``ID, X-Center, Y-Center, RA, DEC`` (0-based pixels)."""
    total = read_product(total_file)
    background = total.background(pars)
    found = detect_point_sources(total.data, background, total.pscale, pars)
    ra, dec = total.wcs.all_pix2world(found["x"], found["y"], 0) if len(found) else ([], [])
    table = Table({"ID": found["ID"], "X-Center": found["x"], "Y-Center": found["y"], "RA": ra, "DEC": dec})
    table.meta = C.catalog_metadata(total.header, "point", pars, pars["nsigma"], len(table))
    table.meta["BKGTYPE"] = background.kind
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


def _photometry_with_flags(image, x, y, pars):
    """H7.6 photometry and H7.7 flags of ``image`` at 0-based ``x, y``."""
    photflam, photplam = image.photometry_keys
    table = aperture_photometry_table(image.data, np.column_stack([x, y]), image.pscale, pars,
                                      photflam, photplam, image.exptime)
    lower, upper, _ = ci_limits(image.instrument, image.detector, image.filter, pars)
    nexp = exposure_count(image.ctx) if image.ctx is not None else None
    table["Flags"] = source_flags(table, x, y, lower, upper, float(pars["bthresh"]), nexp=nexp,
                                  radius=float(pars["aperture_2"]) / image.pscale, detector=image.detector)
    return table, (lower, upper)


def point_catalog_stage(product_file, sources_file, out, pars):
    """Filter point catalog: the total's sources measured on the filter product (H7.6, H7.7)."""
    image = read_product(product_file)
    sources = _read_table(sources_file, C.TOTAL_POINT_KEYS)
    x, y = np.asarray(sources["X-Center"], float), np.asarray(sources["Y-Center"], float)
    table, limits = _photometry_with_flags(image, x, y, pars)
    for name in C.TOTAL_POINT_KEYS:
        table[name] = sources[name]
    table.meta = C.catalog_metadata(image.header, "point", pars, pars["nsigma"], len(table), limits)
    C.write_catalog(C.finish_table(table, C.POINT_COLUMNS), out)


def segment_map_stage(total_file, out, pars):
    """The total's segmentation (SEGM), background (BKG) and noise (RMS) maps in one FITS file."""
    total = read_product(total_file)
    background = total.background(pars)
    segm, _ = segment_total(total.data, background, total.pscale, pars)
    labels = segm.data.astype(np.int32) if segm is not None else np.zeros(total.data.shape, np.int32)
    primary = fits.PrimaryHDU()
    primary.header["BKGTYPE"] = (background.kind, "background (SPEC-HAP H7.2)")
    primary.header["NSEGMENT"] = (int(labels.max()), "segments of the total image")
    primary.header["SEGSIGMA"] = (float(pars["segm_nsigma"]), "detection threshold (sigma)")
    hdus = [primary, fits.CompImageHDU(labels, name="SEGM"),
            fits.ImageHDU(background.level.astype(np.float32), name="BKG"),
            fits.ImageHDU(background.rms.astype(np.float32), name="RMS"),
            fits.CompImageHDU(background.footprint.astype(np.uint8), name="FOOT")]
    write_hdulist(fits.HDUList(hdus), out)


def _stored_segmentation(path):
    try:
        with fits.open(path) as hdul:
            segm = load_segmentation(hdul["SEGM"].data)
            background = Background(hdul["BKG"].data.astype(np.float32), hdul["RMS"].data.astype(np.float32),
                                    hdul[0].header["BKGTYPE"], hdul["FOOT"].data.astype(bool))
            return segm, background, float(hdul[0].header["SEGSIGMA"])
    except (OSError, KeyError) as exc:
        raise InputError(path, f"not a segmentation file of the total image ({exc})") from None


def segment_catalog_stage(product_file, total_file, segmap_file, out, pars):
    """Filter (or total) segment catalog: the total's segments measured on ``product_file``."""
    segm, total_background, nsigma = _stored_segmentation(segmap_file)
    image = read_product(product_file)
    if segm is None:
        table = Table({name: np.zeros(0) for name in C.SEGMENT_COLUMNS})
        table.meta = C.catalog_metadata(image.header, "segment", pars, nsigma, 0)
        C.write_catalog(C.finish_table(table, C.SEGMENT_COLUMNS), out)
        return
    total = read_product(total_file)
    convolved = convolved_image(total.data, total_background, total.pscale, pars)
    detection = dict(data=total.data, background=total_background, segm=segm, convolved=convolved,
                     wcs=total.wcs, pars=pars, exptime=total.exptime)
    is_total = product_file == total_file
    background = total_background if is_total else image.background(pars)
    measured = measure_segments(detection, None if is_total else dict(
        data=image.data, background=background, wcs=image.wcs, exptime=image.exptime))
    x, y = np.asarray(measured["X-Centroid"], float), np.asarray(measured["Y-Centroid"], float)
    table, limits = _photometry_with_flags(image, x, y, pars)
    for name in measured.colnames:
        table[name] = measured[name]
    table["MagSegment"] = ab_mag(measured["FluxSegment"], *image.photometry_keys)
    table.meta = C.catalog_metadata(image.header, "segment", pars, nsigma, len(table), limits)
    C.write_catalog(C.finish_table(table, C.SEGMENT_COLUMNS), out)


def _segment_positions(total_file, segmap_file, pars):
    """``ID, X-Centroid, Y-Centroid, RA, DEC`` of the total's segments, and its header."""
    segm, background, nsigma = _stored_segmentation(segmap_file)
    total = read_product(total_file)
    if segm is None:
        return Table({name: np.zeros(0) for name in C.TOTAL_SEGMENT_KEYS}), total.header, nsigma
    convolved = convolved_image(total.data, background, total.pscale, pars)
    measured = measure_segments(dict(data=total.data, background=background, segm=segm, convolved=convolved,
                                     wcs=total.wcs, pars=pars, exptime=total.exptime))
    return measured[list(C.TOTAL_SEGMENT_KEYS)], total.header, nsigma


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
    """The rules' entry: ``inputs`` names detection, total, and product (filter level) or filters
    (total level), as :meth:`snakedrizzle.hap.catalogs.plan.SvmCatalogs.inputs` gives them."""
    if level == "total":
        total_catalog_stage(inputs["total"], inputs["detection"], list(inputs["filters"]), out, kind, pars)
    elif kind == "point":
        point_catalog_stage(inputs["product"], inputs["detection"], out, pars)
    else:
        segment_catalog_stage(inputs["product"], inputs["total"], inputs["detection"], out, pars)
