"""Association tables (``_asn.fits``) for synthetic exposures, as CALACS/CALWF3 write them: a
binary table of MEMNAME (rootname, upper case), MEMTYPE (``EXP-DTH`` for the exposures,
``PROD-DTH`` for the product) and MEMPRSNT, with ASN_ID and ASN_TAB in the primary header."""
import os

import numpy as np
from astropy.io import fits

from snakedrizzle.io.exposure import rootname_of

__all__ = ["write_association"]


def write_association(paths, out, asn_id=None):
    """Write the association of exposures ``paths`` to ``out`` (``<asn_id>_asn.fits``; the id
    defaults to the first rootname's ``ipppss`` followed by ``010``, as the pipeline names them)."""
    roots = [rootname_of(p)[0].upper() for p in paths]
    asn_id = (asn_id or roots[0][:6] + "010").upper()
    names = roots + [asn_id]
    types = ["EXP-DTH"] * len(roots) + ["PROD-DTH"]
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="MEMNAME", format="14A", array=np.array(names)),
        fits.Column(name="MEMTYPE", format="14A", array=np.array(types)),
        fits.Column(name="MEMPRSNT", format="L", array=np.ones(len(names), bool))], name="ASN")
    primary = fits.PrimaryHDU()
    if os.path.isfile(paths[0]):   # what an association's PRIMARY shares with its members
        first = fits.getheader(paths[0], 0)
        for key in ("TELESCOP", "INSTRUME", "DETECTOR", "PROPOSID", "TARGNAME", "RA_TARG", "DEC_TARG"):
            if key in first:
                primary.header[key] = first[key]
    primary.header["ROOTNAME"] = asn_id.lower()
    primary.header["ASN_ID"] = asn_id
    primary.header["ASN_TAB"] = os.path.basename(os.fspath(out))
    primary.header["FILENAME"] = os.path.basename(os.fspath(out))
    fits.HDUList([primary, table]).writeto(out, overwrite=True)
    return os.fspath(out)
