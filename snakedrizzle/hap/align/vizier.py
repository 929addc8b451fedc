"""GSC 2.4.2 and 2MASS as reference catalogs (SPEC-HAP H6.1's ``GSC242`` and ``2MASS``), asked of
VizieR through astroquery and brought to the one form of :mod:`snakedrizzle.hap.align.refcat`.

HAP asks STScI's catalog service (H6.3), which answers with its own column names and propagates
to the observation epoch itself; VizieR serves the same catalogs with CDS's names, at their own
epochs, and we propagate (refcat.propagate) as for Gaia:

``GSC242`` (VizieR I/353/gsc242): ``RA_ICRS, DE_ICRS`` (deg) at ``Epoch`` (decimal year, per row),
``pmRA`` (mas/yr, times cos Dec), ``pmDE``: most rows carry Gaia proper motions, the others none
(kept at their position: H6.3); position errors ``e_RA_ICRS, e_DE_ICRS``; ``Gmag`` (else another
of its magnitudes); ``GSC2`` the identifier.
``2MASS`` (VizieR II/246/out): ``RAJ2000, DEJ2000`` (deg, ICRS) at the date the source was
measured, ``JD`` (Julian date); no proper motions; ``errMaj, errMin`` (arcsec) the error ellipse;
``Jmag``; ``2MASS`` the designation.

STScI's own names (``raErr, decErr, rapm, decpm, epoch``; 2MASS ``jdate``) are read too, so a
table saved from that service works as a local ``refcat``.
"""
import numpy as np
from astropy.table import Table
from astropy.time import Time

TABLES = {"GSC242": "I/353/gsc242", "2MASS": "II/246/out"}
QUERY_COLUMNS = {"GSC242": ["GSC2", "RA_ICRS", "DE_ICRS", "e_RA_ICRS", "e_DE_ICRS", "pmRA", "pmDE", "Epoch",
                            "Gmag", "Vmag", "Fmag", "Jmag"],
                 "2MASS": ["2MASS", "RAJ2000", "DEJ2000", "errMaj", "errMin", "Jmag", "JD"]}
# candidates for each column of the one form, first found wins (lower case)
_RA = ("ra_icrs", "raj2000", "ra", "radeg")
_DEC = ("de_icrs", "dej2000", "dec", "dedeg")
_NAMES = {"pmra": ("pmra", "rapm"), "pmdec": ("pmde", "pmdec", "decpm"),
          "RA_error": ("e_ra_icrs", "raerr", "errmaj"), "DEC_error": ("e_de_icrs", "decerr", "errmin"),
          "epoch": ("epoch", "jd", "jdate", "_tab1_36", "date"),
          "mag": ("gmag", "vmag", "fmag", "jmag", "mag"), "objID": ("gsc2", "2mass", "objid")}
# the unit a column is taken in when the table does not say (VizieR's ReadMe units)
_ASSUMED = {"RA_error": {"errmaj": "arcsec"}, "DEC_error": {"errmin": "arcsec"}}


def service(name):
    """The VizieR table of catalog ``name`` (``GSC242``, ``2MASS``, case-insensitive), or None."""
    return TABLES.get(str(name).upper())


def _find(table, candidates):
    lower = {c.lower(): c for c in table.colnames}
    return next((lower[c] for c in candidates if c in lower), None)


def _floats(col):
    return np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)


def decimal_years(values):
    """Epochs in decimal years from decimal years, JD (> 2.4e6), MJD (> 1e4) or ISO dates (H6.3)."""
    if len(values) and isinstance(np.asarray(values).flat[0], (str, bytes, np.str_, np.bytes_)):
        return np.asarray(Time([str(v) for v in values], scale="utc").decimalyear, float)
    v = _floats(values)
    out = v.copy()
    jd, mjd = v > 2.4e6, (v > 1e4) & (v <= 2.4e6)
    if jd.any():
        out[jd] = Time(v[jd], format="jd", scale="utc").decimalyear
    if mjd.any():
        out[mjd] = Time(v[mjd], format="mjd", scale="utc").decimalyear
    return out


def _mas(table, name, column):
    unit = getattr(table[column], "unit", None) or _ASSUMED.get(name, {}).get(column.lower(), "mas")
    import astropy.units as u

    return _floats(table[column]) * u.Unit(str(unit)).to(u.mas)


def normalise_vizier(table, catalog_name, default_epoch=2000.0):
    """A VizieR (or STScI service) table of GSC 2.4.2 or 2MASS -> the one form: RA, DEC at
    ``ref_epoch`` (each row's own epoch), pmra, pmdec (0 where the catalog has none), errors in
    mas, mag, objID. Rows without a position are dropped; rows without an epoch get
    ``default_epoch`` (their proper motion, if any, then moves them from that epoch)."""
    from snakedrizzle.errors import InputError

    ra, dec = _find(table, _RA), _find(table, _DEC)
    if ra is None or dec is None:
        raise InputError(f"{catalog_name} table", f"has no RA/Dec columns (columns: {', '.join(table.colnames)})")
    out = Table({"RA": _floats(table[ra]), "DEC": _floats(table[dec])})
    found = {k: _find(table, c) for k, c in _NAMES.items()}
    for name in ("pmra", "pmdec"):
        values = _floats(table[found[name]]) if found[name] else np.zeros(len(out))
        out[name] = np.where(np.isfinite(values), values, 0.0)   # no proper motion: stays put (H6.3)
    epochs = decimal_years(table[found["epoch"]]) if found["epoch"] else np.full(len(out), np.nan)
    out["ref_epoch"] = np.where(np.isfinite(epochs), epochs, default_epoch)
    for name in ("RA_error", "DEC_error"):
        out[name] = _mas(table, name, found[name]) if found[name] else np.ones(len(out))
    out["mag"] = _floats(table[found["mag"]]) if found["mag"] else np.full(len(out), np.nan)
    ids = table[found["objID"]] if found["objID"] else np.arange(len(out))
    out["objID"] = np.asarray([str(i) for i in np.ma.filled(np.ma.asarray(ids).astype(str), "")])
    return out[np.isfinite(out["RA"]) & np.isfinite(out["DEC"])]


def query(catalog_name, cone, timeout):
    """One VizieR cone search of ``catalog_name``'s table, normalised (raises on any failure:
    the caller turns it into the documented empty catalog)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astroquery.vizier import Vizier

    key = str(catalog_name).upper()
    vizier = Vizier(catalog=TABLES[key], columns=QUERY_COLUMNS[key], row_limit=-1, timeout=timeout)
    found = vizier.query_region(SkyCoord(cone[0], cone[1], unit="deg"), radius=cone[2] * u.deg,
                                catalog=TABLES[key])
    if len(found) == 0:   # VizieR answers "nothing" with no table at all
        return normalise_vizier(Table({c: np.zeros(0) for c in QUERY_COLUMNS[key]}), key)
    return normalise_vizier(found[0], key)
