"""The visit's reference catalogs (SPEC-HAP H6.3, H6.6, H11): each a local table in the Gaia
archive's column names, or asked of its service through astroquery (Gaia: the Gaia archive;
GSC242, 2MASS: VizieR, :mod:`snakedrizzle.hap.align.vizier`); either way written once as a file
target ``<visit>_<NAME>_ref_cat.ecsv``, in one form: RA, DEC (deg, at ref_epoch), pmra (mas/yr,
already times cos Dec), pmdec (mas/yr), ref_epoch (decimal year, per row), RA_error, DEC_error
(mas), mag, objID, cut to the visit's cone.

Which catalogs (:func:`catalog_list`, from the config's ``refcat`` and ``refcat_name``): without
``refcat``, H6.1's list GAIAeDR3, GSC242, 2MASS (or the names given), each from its service; one
``refcat`` file: that file, named ``refcat_name`` (default GAIAeDR3), as before; a list of files:
one name per file (an empty entry: that name's service).

A reference catalog that cannot be had (no network, a service error) or that has no source in
the footprint is an *empty* table whose ``meta['reason']`` says why: the fit then keeps the a
priori WCS and the fit table repeats the reason. A local file without RA/Dec columns, or one
that does not read, is an InputError naming the file: that is the user's mistake, not a
fallback.
"""
import logging
import os
import socket

import numpy as np
from astropy.table import Table
from astropy.time import Time

from snakedrizzle.align.tables import column, read_table
from snakedrizzle.errors import InputError
from snakedrizzle.hap.align.vizier import decimal_years, normalise_vizier

log = logging.getLogger("snakedrizzle")
CATALOG_LIST = ("GAIAeDR3", "GSC242", "2MASS")   # H6.1: catalog_list = mosaic_catalog_list
DEFAULT_REFCAT_NAME = CATALOG_LIST[0]

GAIA_TABLE = "gaiadr3.gaia_source"     # eDR3 astrometry = DR3's
GAIA_EPOCH = 2016.0
QUERY_TIMEOUT = 30.0                    # seconds for the archive to answer
OFFLINE_ENV = "SNAKEDRIZZLE_OFFLINE"    # set: never touch the network (tests, clusters)
COLUMNS = ("RA", "DEC", "pmra", "pmdec", "ref_epoch", "RA_error", "DEC_error", "mag", "objID")
_OPTIONAL = {"pmra": ("pmra", "rapm"), "pmdec": ("pmdec", "decpm"), "ref_epoch": ("ref_epoch", "epoch", "jdate"),
             "RA_error": ("ra_error", "raerr"), "DEC_error": ("dec_error", "decerr"),
             "mag": ("phot_g_mean_mag", "mag", "gmag"), "objID": ("source_id", "objid")}


def empty(reason, **meta):
    table = Table({c: np.zeros(0) for c in COLUMNS})
    table.meta.update(meta, reason=reason)
    return table


def normalise(table, path, catalog_epoch=GAIA_EPOCH):
    """A table in Gaia's column names -> the one form (missing optional columns filled: no
    proper motion, the catalog epoch, unit errors, no magnitude)."""
    ra = column(table, None, ("ra", "ra_icrs", "raj2000"), path, "RA")
    dec = column(table, None, ("dec", "de", "dec_icrs", "de_icrs", "dej2000"), path, "Dec")
    out = Table({"RA": np.asarray(table[ra], float), "DEC": np.asarray(table[dec], float)})
    lower = {c.lower(): c for c in table.colnames}
    defaults = {"pmra": 0.0, "pmdec": 0.0, "ref_epoch": catalog_epoch, "RA_error": 1.0, "DEC_error": 1.0,
                "mag": np.nan, "objID": -1}
    for name, candidates in _OPTIONAL.items():
        found = next((lower[c] for c in candidates if c in lower), None)
        values = np.ma.filled(np.ma.asarray(table[found], float), np.nan) if found else None
        out[name] = values if values is not None else np.full(len(out), defaults[name], float)
    # sources without a proper motion keep their position (they must not be dropped: H6.3)
    for name in ("pmra", "pmdec"):
        out[name] = np.where(np.isfinite(out[name]), out[name], 0.0)
    epochs = decimal_years(out["ref_epoch"])   # an epoch column may hold JD or MJD (H6.3)
    out["ref_epoch"] = np.where(np.isfinite(epochs), epochs, catalog_epoch)
    return out[np.isfinite(out["RA"]) & np.isfinite(out["DEC"])]


def normalise_any(table, path, catalog_name):
    """The one form from the Gaia archive's (or STScI's) column names (a ``dec`` column), else
    from CDS VizieR's (``DE_ICRS``, ``DEJ2000``: :func:`vizier.normalise_vizier`)."""
    if "dec" in {c.lower() for c in table.colnames}:
        return normalise(table, path)
    try:
        return normalise_vizier(table, catalog_name)
    except InputError:
        return normalise(table, path)   # its error names the file and the missing columns


def in_cone(table, ra, dec, radius):
    """Rows within ``radius`` degrees of (ra, dec)."""
    if len(table) == 0:
        return table
    r0, d0 = np.deg2rad(ra), np.deg2rad(dec)
    r, d = np.deg2rad(np.asarray(table["RA"], float)), np.deg2rad(np.asarray(table["DEC"], float))
    cos_sep = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
    return table[np.rad2deg(np.arccos(np.clip(cos_sep, -1, 1))) <= radius]


def footprint_cone(chip_wcss):
    """Centre and radius (deg) of the cone that holds every chip's corners (H6.3's field)."""
    corners = []
    for w in chip_wcss:
        nx, ny = w.pixel_shape
        x = np.array([0.5, nx + 0.5, nx + 0.5, 0.5])
        y = np.array([0.5, 0.5, ny + 0.5, ny + 0.5])
        corners.append(np.column_stack(w.all_pix2world(x, y, 1)))
    corners = np.vstack(corners)
    xyz = _unit(corners[:, 0], corners[:, 1])
    centre = xyz.mean(axis=0)
    centre /= np.linalg.norm(centre)
    ra = float(np.rad2deg(np.arctan2(centre[1], centre[0])) % 360.0)
    dec = float(np.rad2deg(np.arcsin(centre[2])))
    radius = float(np.rad2deg(np.max(np.arccos(np.clip(xyz @ centre, -1, 1)))))
    return ra, dec, radius


def _unit(ra, dec):
    r, d = np.deg2rad(ra), np.deg2rad(dec)
    return np.column_stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)])


def propagate(table, epoch):
    """Positions at decimal year ``epoch`` (linear proper motion, parallax ignored: H6.3)."""
    dt = epoch - np.asarray(table["ref_epoch"], float)
    dec = np.asarray(table["DEC"], float) + np.asarray(table["pmdec"], float) * dt / 3.6e6
    cosd = np.cos(np.deg2rad(np.asarray(table["DEC"], float)))
    ra = np.asarray(table["RA"], float) + np.asarray(table["pmra"], float) * dt / (3.6e6 * cosd)
    return ra, dec


def decimal_year(mjd):
    return float(Time(mjd, format="mjd", scale="utc").decimalyear)


def from_file(path, cone, catalog_name):
    """The user's catalog cut to the visit's cone; an empty table (with the reason) when none of
    its sources is in the footprint."""
    table = normalise_any(read_table(path, "reference catalog"), path, catalog_name)
    total = len(table)
    table = in_cone(table, *cone)
    meta = {"catalog": catalog_name, "source": os.path.abspath(path), "cone": list(cone)}
    if len(table) == 0:
        return empty(f"no source of {path} ({total} rows) in the visit footprint "
                     f"(cone RA {cone[0]:.5f} Dec {cone[1]:.5f} radius {cone[2] * 3600:.1f} arcsec)", **meta)
    table.meta.update(meta, reason="")
    return table


def from_gaia(cone, catalog_name, timeout=QUERY_TIMEOUT):
    """The Gaia archive's sources in the cone, through astroquery; on any failure an empty table
    with the reason (and one warning), so the visit keeps its a priori position."""
    return _asked("Gaia archive", f"astroquery.gaia {GAIA_TABLE}", lambda: _query(cone, timeout),
                  cone, catalog_name)


def from_service(cone, catalog_name, timeout=QUERY_TIMEOUT):
    """Catalog ``catalog_name`` from its service: GSC242 and 2MASS from VizieR, any other name
    (GAIAeDR3, GAIADR3, ...) from the Gaia archive; never a network call when OFFLINE_ENV is set."""
    from snakedrizzle.hap.align import vizier

    table_id = vizier.service(catalog_name)
    if table_id is None:
        return from_gaia(cone, catalog_name, timeout)
    return _asked(f"VizieR {table_id}", f"astroquery.vizier {table_id}",
                  lambda: vizier.query(catalog_name, cone, timeout), cone, catalog_name)


def _asked(what, source, ask, cone, catalog_name):
    """``ask()``'s table, or an empty one with the reason (one warning) when offline or failed."""
    meta = {"catalog": catalog_name, "source": source, "cone": list(cone)}
    if os.environ.get(OFFLINE_ENV):
        reason = f"{what} not asked for {catalog_name}: {OFFLINE_ENV} is set"
    else:
        previous = socket.getdefaulttimeout()
        try:
            table = in_cone(ask(), *cone)
            table.meta.update(meta, reason="" if len(table) else f"{what}: no {catalog_name} source in the cone")
            return table
        except Exception as exc:  # any network or service failure is the documented fallback
            reason = f"{what} query for {catalog_name} failed ({type(exc).__name__}: {str(exc)[:200]})"
        finally:
            socket.setdefaulttimeout(previous)
    log.warning("%s; that catalog is not used for alignment", reason)
    return empty(reason, **meta)


def _names(value):
    """A config value as a list of strings: '' / None -> [], 'A,B' or ['A', 'B'] -> ['A', 'B']."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items]


def catalog_list(refcat, refcat_name):
    """[(name, local file or '' for the name's service)] from the config's ``refcat`` (a file, a
    list of files, or empty) and ``refcat_name`` (a name or a list). Raises InputError naming
    the key when the lists do not pair up."""
    files = [] if refcat is None or refcat == "" else ([str(refcat)] if isinstance(refcat, str) else
                                                       [str(f or "").strip() for f in refcat])
    names = _names(refcat_name)
    if not files:
        names = names or list(CATALOG_LIST)
        files = [""] * len(names)
    elif not names and len(files) == 1:
        names = [DEFAULT_REFCAT_NAME]
    elif len(names) != len(files):
        raise InputError("refcat_name", f"{len(names)} name(s) {names} for {len(files)} refcat file(s): "
                         "give one name per refcat file, in the same order")
    bad = [n for n in names if not n.isalnum()]
    if bad:
        raise InputError("refcat_name", f"{bad[0]!r}: a catalog name is letters and digits only")
    if len(set(names)) != len(names):
        raise InputError("refcat_name", f"{names}: each catalog name once (it names the catalog's file)")
    return list(zip(names, files))


def _query(cone, timeout):
    """One cone search; the socket timeout bounds a dead network (astroquery has none of its own
    for TAP jobs)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astroquery.gaia import Gaia

    socket.setdefaulttimeout(timeout)   # restored by _asked
    Gaia.MAIN_GAIA_TABLE = GAIA_TABLE
    Gaia.ROW_LIMIT = -1
    job = Gaia.cone_search_async(SkyCoord(cone[0], cone[1], unit="deg"), radius=cone[2] * u.deg,
                                 columns=["source_id", "ra", "dec", "ra_error", "dec_error", "pmra",
                                          "pmdec", "ref_epoch", "phot_g_mean_mag"])
    return normalise(job.get_results(), "Gaia archive answer")
