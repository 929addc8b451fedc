"""What the catalog stages read from a HAP product (SCI, WHT, CTX and keywords).

A stage reads only the arrays it uses (``arrays=``), each once: a product's big-endian FITS array
is read without memory mapping and byte-swapped in place, not copied."""
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs.background import ROW_BLOCK, compute_background
from snakedrizzle.hap.catalogs.flags import exposure_count

__all__ = ["CatalogImage", "read_product", "native_array"]


@dataclass
class CatalogImage:
    path: str
    data: np.ndarray        # None unless read (``arrays``), and so for wht and ctx
    wht: np.ndarray
    ctx: np.ndarray
    header: fits.Header     # primary cards, then SCI cards (SCI wins)
    wcs: WCS
    pscale: float           # arcsec/pixel
    instrument: str         # lower case
    detector: str
    filter: str             # HAP filter name from the product name, or "total"

    @property
    def exptime(self):
        return float(self.header.get("TEXPTIME", self.header.get("EXPTIME", 1.0)) or 1.0)

    @property
    def photometry_keys(self):
        return float(self.header.get("PHOTFLAM", 0.0) or 0.0), float(self.header.get("PHOTPLAM", 0.0) or 0.0)

    def background(self, pars):
        readnoise = max([float(v) for k, v in self.header.items() if k.startswith("READNSE")] or [0.0])
        if self.instrument == "wfpc2":
            readnoise = 5.0
        return compute_background(self.data, self.wht, pars, numexp=int(self.header.get("NUMEXP", 1) or 1),
                                  exptime=self.exptime, readnoise=readnoise, sbc=self.detector == "sbc")

    def exposure_map(self):
        """Exposures per pixel from CTX (read now, band by band, if it was not), or None
        without CTX."""
        if self.ctx is not None:
            return exposure_count(self.ctx)
        try:
            with fits.open(self.path, memmap=False) as hdul:
                if "CTX" not in hdul or not hdul["CTX"].shape:
                    return None
                ctx = hdul["CTX"]
                count = np.zeros(ctx.shape[-2:], np.int16)
                # bands of rows read from the file: the context array (4 bytes a pixel and a
                # plane) is never held whole, nor mapped
                for start in range(0, count.shape[0], ROW_BLOCK):
                    rows = slice(start, start + ROW_BLOCK)
                    count[rows] = exposure_count(ctx.section[..., rows, :])
                return count
        except OSError as exc:
            raise InputError(self.path, f"cannot read the product's CTX ({exc})") from None


def _filter_of(path):
    """HAP's filter field of a product name (``hst_<prop>_<vv>_<inst>_<det>_<filter>_<ipppss>``)."""
    parts = os.path.basename(path).split("_")
    return parts[5] if len(parts) > 6 and parts[0] == "hst" else ""


def native_array(array, dtype):
    """``array`` as native ``dtype``: swapped in place when it is the same type in FITS order."""
    array = np.asarray(array)
    if array.dtype.newbyteorder("=") == np.dtype(dtype) and array.dtype.byteorder == ">" and array.flags.writeable:
        return array.byteswap(inplace=True).view(np.dtype(dtype))
    return np.asarray(array, dtype)


def read_product(path, arrays=("SCI", "WHT", "CTX")):
    """A HAP product as a :class:`CatalogImage` with the image ``arrays`` named (the others None);
    anything missing is one InputError naming it."""
    try:
        with fits.open(path, memmap=False) as hdul:
            names = [h.name for h in hdul]
            missing = [e for e in ("SCI", "WHT") if e not in names]
            if missing:
                raise InputError(path, f"no {' or '.join(missing)} extension: not a drizzled product")
            header = hdul[0].header.copy()
            header.extend(hdul["SCI"].header, update=True, strip=True)
            wcs = WCS(hdul["SCI"].header)
            shapes = [hdul[e].shape for e in ("SCI", "WHT")]
            data = native_array(hdul["SCI"].data, np.float32) if "SCI" in arrays else None
            wht = native_array(hdul["WHT"].data, np.float32) if "WHT" in arrays else None
            ctx = (np.asarray(hdul["CTX"].data) if "CTX" in arrays and "CTX" in names
                   and hdul["CTX"].data is not None else None)
    except OSError as exc:
        raise InputError(path, f"cannot read the product ({exc})") from None
    if len(shapes[0]) != 2 or shapes[1] != shapes[0]:
        raise InputError(path, f"SCI {shapes[0]} and WHT {shapes[1]} are not one 2-D image")
    for key in ("INSTRUME", "DETECTOR"):
        if key not in header:
            raise InputError(path, f"keyword {key} missing")
    pscale = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600)
    instrument = header["INSTRUME"].strip().lower()
    detector = "pc" if instrument == "wfpc2" else header["DETECTOR"].strip().lower()
    return CatalogImage(path, data, wht, ctx, header, wcs, pscale, instrument, detector, _filter_of(path))
