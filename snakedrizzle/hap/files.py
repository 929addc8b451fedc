"""File-level SVM stages (the rules of ``rules/hap.smk`` call these): the visit meta-WCS file,
the HAP product (an AstroDrizzle product with HAP's keywords) and the manifest. Inputs are only
read; every output is written atomically."""
import io
import logging
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.errors import InputError
from snakedrizzle.hap import keywords
from snakedrizzle.hap.metawcs import exposure_chip_wcss, visit_metawcs
from snakedrizzle.io import atomic_path, write_hdulist

__all__ = ["metawcs_stage", "hap_product_stage", "manifest_stage"]

log = logging.getLogger("snakedrizzle")

# Keywords an exposure's primary header gives the HAP keywords (H8).
_HEADER_KEYS = ("ROOTNAME", "EXPSTART", "EXPEND", "FILTER", "FILTER1", "FILTER2", "EXPTIME", "PR_INV_L")


def metawcs_stage(exposures, out, rot=0.0, scale=None, headerlets=None):
    """The visit meta-WCS of a detector (SPEC-HAP H4) as a header-only FITS frame file
    (``snakedrizzle.wcs.frame_to_header``), which products take as ``final_refimage``;
    ``headerlets`` ({exposure path: headerlet}): the aligned WCSs it is computed from."""
    frame = visit_metawcs(list(exposures), rot=rot, scale=scale, headerlets=headerlets)
    header = W.frame_to_header(frame)
    header["HAPMETA"] = (True, "visit meta-WCS of one detector (SPEC-HAP H4)")
    header["NEXPMETA"] = (len(exposures), "direct exposures the grid covers")
    nx, ny = frame.pixel_shape
    log.info("meta-WCS of %d exposures: %d x %d pixels, CRVAL %.8f %.8f, %.6f arcsec/pixel, north up",
             len(exposures), nx, ny, *frame.wcs.crval, W.frame_pscale(frame))
    # A 1x1 placeholder image: readers of a WCS want an image of its dimensionality; the frame's
    # size is FRAMENX/FRAMENY, which snakedrizzle.wcs.frame_from_image reads first.
    write_hdulist(fits.HDUList([fits.PrimaryHDU(np.zeros((1, 1), np.uint8), header=header)]), out)


def _exposure_headers(paths):
    """Header values of each exposure that the HAP keywords use: the primary header's, and the
    PHOT* keywords from (SCI,1) where it has them (ACS, WFC3/UVIS), else from PRIMARY (WFC3/IR)."""
    found = []
    for path in paths:
        try:
            with fits.open(path) as hdul:
                header = hdul[0].header
                sci = hdul["SCI", 1].header if ("SCI", 1) in hdul else fits.Header()
        except OSError as exc:
            raise InputError(path, f"cannot read the headers ({exc})") from None
        missing = [k for k in ("ROOTNAME", "EXPSTART", "EXPEND") if k not in header]
        if missing:
            raise InputError(path, f"keyword(s) {', '.join(missing)} missing from the primary header")
        values = {k: header[k] for k in _HEADER_KEYS if k in header}
        values.update({k: (sci if k in sci else header)[k] for k in keywords.PHOT_KEYWORDS
                       if k in sci or k in header})
        found.append(values)
    return found


def _footprint(frame, paths, headers):
    """HAP's footprint maps of the exposures' chips on the product grid."""
    chips = []
    for path, header in zip(paths, headers):
        for wcs in exposure_chip_wcss([path]):
            chips.append((wcs, float(header.get("EXPTIME", 0.0))))
    return keywords.footprint_maps(frame, chips)


def _fitted(key, value, comment):
    """(value, comment) with the comment cut to what one 80-character card has room for (as
    HAP's own cards are cut), instead of astropy's warning on every write."""
    image = fits.Card(key, value).image.rstrip()
    room = 80 - max(len(image), 30) - len(" / ")
    return value, comment[:max(room, 0)]


def _move_photometry(primary, sci, cards):
    """HAP keeps PHOT* in (SCI,1) only: drop them from PRIMARY (the AstroDrizzle product copies
    the first input's there) and set HAP's values in SCI."""
    for key in keywords.PHOT_KEYWORDS:
        primary.remove(key, ignore_missing=True)
    for key in keywords.PHOT_KEYWORDS:
        if key in cards:
            sci[key] = _fitted(key, *cards.pop(key))
    if any(k in sci for k in keywords.PHOT_KEYWORDS):
        primary.add_history("HAP: PHOT* in (SCI,1): PHOTMODE of the first input, the others the "
                            "mean over the inputs")


def hap_product_stage(drizzle_file, exposures, out, level, sky=None, exposure_names=None):
    """The HAP product ``out``: a copy of the AstroDrizzle product ``drizzle_file`` (SCI, WHT,
    CTX, HDRTAB; pixels untouched) with HAP's keywords (SPEC-HAP H8: HAPLEVEL, FILTER, NUMEXP,
    DATE-BEG/END, S_REGION, the footprint keywords of filter and total products, ROOTNAME,
    FILENAME, DRIZPARS, PHOT* in (SCI,1)). ``exposure_names`` ({ipppssoo: exposure-product
    basename}): HDRTAB gets HAP's HAPEXPNAME column from it (left as it is without)."""
    headers = _exposure_headers(exposures)
    # The pixels stay memory-mapped (the product of a visit's grid is hundreds of MB): only the
    # keywords read them, and the output gets their bytes copied file to file (not through a map).
    with fits.open(drizzle_file, memmap=True) as hdul:
        copy = fits.HDUList([_header_copy(hdu) for hdu in hdul])
        _add_keywords(copy, drizzle_file, exposures, headers, out, level, sky, exposure_names)
        copy.verify("silentfix")
        with atomic_path(out) as tmp, open(tmp, "wb") as dst, open(drizzle_file, "rb") as src:
            for new, old in zip(copy, hdul):
                _write_hdu(new, old, src, dst)


def _write_hdu(new, old, src, dst):
    """``new`` as astropy writes it in an HDU list; an image HDU whose pixels are ``old``'s is its
    header, then ``old``'s data bytes (with their padding) copied from ``src``."""
    if isinstance(new, (fits.PrimaryHDU, fits.ImageHDU)) and new.header.get("NAXIS", 0) \
            and new.data is old.data:
        dst.write(new.header.tostring().encode("ascii"))
        info = old.fileinfo()
        src.seek(info["datLoc"])
        left = info["datSpan"]
        while left:
            chunk = src.read(min(left, 1 << 24))
            if not chunk:
                raise InputError(src.name, "ends inside an image's pixels")
            dst.write(chunk)
            left -= len(chunk)
        return
    buffer = io.BytesIO()
    new.writeto(buffer)  # an extension goes after a minimal primary HDU, which is left out
    data = buffer.getvalue()
    if not isinstance(new, fits.PrimaryHDU):
        buffer.seek(0)
        with fits.open(buffer) as written:
            data = data[written[1].fileinfo()["hdrLoc"]:]
    dst.write(data)


def _header_copy(hdu):
    """An HDU with a copy of ``hdu``'s header and ``hdu``'s (memory-mapped) image data."""
    if isinstance(hdu, fits.PrimaryHDU):
        return fits.PrimaryHDU(data=hdu.data, header=hdu.header.copy())
    if isinstance(hdu, fits.ImageHDU):
        return fits.ImageHDU(data=hdu.data, header=hdu.header.copy())
    return hdu.copy()


def _add_keywords(copy, drizzle_file, exposures, headers, out, level, sky, exposure_names):
    """HAP's keywords set in ``copy`` (headers only; the pixels are untouched)."""
    name = os.path.basename(out)
    if exposure_names is not None:
        if "HDRTAB" not in copy:
            raise InputError(drizzle_file, "no HDRTAB extension to add HAPEXPNAME to")
        copy["HDRTAB"] = keywords.hdrtab_with_hapexpname(copy["HDRTAB"], exposure_names, drizzle_file)
    sci, wht = copy["SCI"], copy["WHT"]
    frame = W.frame_from_header(sci.header)
    frame.pixel_shape = (sci.header["NAXIS1"], sci.header["NAXIS2"])
    weights = np.asarray(wht.data)
    # the footprint maps live only while their keywords are made
    footprint = (keywords.footprint_keywords(*_footprint(frame, exposures, headers), weights)
                 if level != "exposure" else None)
    cards = keywords.hap_keywords(level, frame, weights, headers, footprint=footprint, product_name=name)
    primary = copy[0].header
    primary["ROOTNAME"] = (name.rsplit("_", 1)[0], "rootname of the product")
    primary["FILENAME"] = (name, "name of file")
    if "PR_INV_L" in headers[0]:
        primary["PINAME"] = (headers[0]["PR_INV_L"], "PI last name")
    for key, (value, comment) in cards["PRIMARY"].items():
        primary[key] = _fitted(key, value, comment)
    _move_photometry(primary, sci.header, cards["SCI"])
    for key, (value, comment) in cards["SCI"].items():
        # a long value (S_REGION) continues over several cards, without room for a comment
        sci.header[key] = (value, comment) if len(str(value)) < 40 else value
    if sky:
        log.info("%s: sky: %s", name, sky)
    log.info("%s: HAPLEVEL %d, %s, %d exposure(s) from %s", name, primary["HAPLEVEL"],
             primary["FILTER"], primary["NUMEXP"], drizzle_file)


def manifest_stage(product_files, out):
    """HAP's manifest: the file names of the visit's products, one a line, in HAP's order."""
    missing = [f for f in product_files if not os.path.exists(f)]
    if missing:
        raise InputError(missing[0], "product listed in the manifest does not exist")
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(os.path.basename(f) + "\n" for f in product_files)
