"""Reading user catalogs (TweakReg ``catfile`` and ``refcat``): any table astropy reads (ECSV, CSV,
FITS, VOTable) or white-space separated text, columns chosen by 1-based number or by name, and
TweakReg's flux selection (minflux/maxflux in ``fluxunits``, then the ``nbright`` brightest)."""
import os

import numpy as np
from astropy.table import Table

from snakedrizzle.errors import InputError

_SELF_DESCRIBING = (".fits", ".fit", ".fts", ".ecsv", ".csv", ".vot", ".xml")


def read_table(path, what="catalog"):
    if not os.path.isfile(path):
        raise InputError(path, f"{what} not found")
    try:
        if path.lower().endswith(_SELF_DESCRIBING):
            return Table.read(path)
        return Table.read(path, format="ascii")
    except Exception as exc:
        raise InputError(path, f"{what} is not a readable table ({exc})") from None


def column(table, wanted, names, path, what):
    """The name of column ``wanted`` (1-based number or name); when not given, the first column
    whose lower-case name is in ``names``."""
    if wanted not in (None, ""):
        if str(wanted).strip().isdigit():
            index = int(wanted) - 1
            if not 0 <= index < len(table.colnames):
                raise InputError(path, f"has no column number {wanted} for {what}")
            return table.colnames[index]
        if wanted not in table.colnames:
            raise InputError(path, f"has no column {wanted!r} for {what} (columns: {', '.join(table.colnames)})")
        return wanted
    lower = {c.lower(): c for c in table.colnames}
    for name in names:
        if name in lower:
            return lower[name]
    raise InputError(path, f"has no {what} column (looked for {', '.join(names)}; columns: "
                     f"{', '.join(table.colnames)})")


def flux_select(table, minflux=None, maxflux=None, units="counts", nbright=None):
    """Rows of ``table`` (column 'flux') within the flux limits, brightest ``nbright`` kept. In
    magnitudes (``units='mag'``) minflux is the faint limit (the larger magnitude) and maxflux the
    bright one, as in TweakReg; rows keep their order."""
    flux = np.asarray(table["flux"], float)
    brightness = -flux if units == "mag" else flux
    keep = np.isfinite(flux)
    if minflux is not None:
        keep &= brightness >= (-minflux if units == "mag" else minflux)
    if maxflux is not None:
        keep &= brightness <= (-maxflux if units == "mag" else maxflux)
    index = np.flatnonzero(keep)
    if nbright:
        index = np.sort(index[np.argsort(-brightness[index], kind="stable")[: int(nbright)]])
    return table[index]
