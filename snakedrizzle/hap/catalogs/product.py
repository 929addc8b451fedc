"""What the catalog stages read from a HAP product (SCI, WHT, CTX and keywords)."""
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from snakedrizzle.errors import InputError
from snakedrizzle.hap.catalogs.background import compute_background

__all__ = ["CatalogImage", "read_product"]


@dataclass
class CatalogImage:
    path: str
    data: np.ndarray
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


def _filter_of(path):
    """HAP's filter field of a product name (``hst_<prop>_<vv>_<inst>_<det>_<filter>_<ipppss>``)."""
    parts = os.path.basename(path).split("_")
    return parts[5] if len(parts) > 6 and parts[0] == "hst" else ""


def read_product(path):
    """A HAP product as a :class:`CatalogImage`; anything missing is one InputError naming it."""
    try:
        with fits.open(path) as hdul:
            names = [h.name for h in hdul]
            missing = [e for e in ("SCI", "WHT") if e not in names]
            if missing:
                raise InputError(path, f"no {' or '.join(missing)} extension: not a drizzled product")
            header = hdul[0].header.copy()
            header.extend(hdul["SCI"].header, update=True, strip=True)
            wcs = WCS(hdul["SCI"].header)
            data = np.asarray(hdul["SCI"].data, np.float32)
            wht = np.asarray(hdul["WHT"].data, np.float32)
            ctx = np.asarray(hdul["CTX"].data) if "CTX" in names and hdul["CTX"].data is not None else None
    except OSError as exc:
        raise InputError(path, f"cannot read the product ({exc})") from None
    if data.ndim != 2 or wht.shape != data.shape:
        raise InputError(path, f"SCI {data.shape} and WHT {wht.shape} are not one 2-D image")
    for key in ("INSTRUME", "DETECTOR"):
        if key not in header:
            raise InputError(path, f"keyword {key} missing")
    pscale = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600)
    instrument = header["INSTRUME"].strip().lower()
    detector = "pc" if instrument == "wfpc2" else header["DETECTOR"].strip().lower()
    return CatalogImage(path, data, wht, ctx, header, wcs, pscale, instrument, detector, _filter_of(path))
