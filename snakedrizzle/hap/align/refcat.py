"""The visit's reference catalog (SPEC-HAP H6.3, H11): a local table in the Gaia archive's column
names, or the Gaia archive through astroquery; either way written once as a file target, in one
form: RA, DEC (deg, at the catalog epoch), pmra (mas/yr, already times cos Dec), pmdec (mas/yr),
ref_epoch (decimal year), RA_error, DEC_error (mas), mag, objID, cut to the visit's cone.

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

log = logging.getLogger("snakedrizzle")

GAIA_TABLE = "gaiadr3.gaia_source"     # eDR3 astrometry = DR3's
GAIA_EPOCH = 2016.0
QUERY_TIMEOUT = 30.0                    # seconds for the archive to answer
OFFLINE_ENV = "SNAKEDRIZZLE_OFFLINE"    # set: never touch the network (tests, clusters)
COLUMNS = ("RA", "DEC", "pmra", "pmdec", "ref_epoch", "RA_error", "DEC_error", "mag", "objID")
_OPTIONAL = {"pmra": ("pmra",), "pmdec": ("pmdec",), "ref_epoch": ("ref_epoch", "epoch"),
             "RA_error": ("ra_error",), "DEC_error": ("dec_error",),
             "mag": ("phot_g_mean_mag", "mag", "gmag"), "objID": ("source_id", "objid")}


def empty(reason, **meta):
    table = Table({c: np.zeros(0) for c in COLUMNS})
    table.meta.update(meta, reason=reason)
    return table


def normalise(table, path, catalog_epoch=GAIA_EPOCH):
    """A table in Gaia's column names -> the one form (missing optional columns filled: no
    proper motion, the catalog epoch, unit errors, no magnitude)."""
    ra = column(table, None, ("ra", "ra_icrs", "raj2000"), path, "RA")
    dec = column(table, None, ("dec", "de", "dec_icrs", "dej2000"), path, "Dec")
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
    out["ref_epoch"] = np.where(np.isfinite(out["ref_epoch"]), out["ref_epoch"], catalog_epoch)
    return out[np.isfinite(out["RA"]) & np.isfinite(out["DEC"])]


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
    table = normalise(read_table(path, "reference catalog"), path)
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
    meta = {"catalog": catalog_name, "source": f"astroquery.gaia {GAIA_TABLE}", "cone": list(cone)}
    if os.environ.get(OFFLINE_ENV):
        reason = f"Gaia archive not asked: {OFFLINE_ENV} is set"
    else:
        try:
            table = _query(cone, timeout)
            table.meta.update(meta, reason="")
            return table
        except Exception as exc:  # any network or service failure is the documented fallback
            reason = f"Gaia archive query failed ({type(exc).__name__}: {str(exc)[:200]})"
    log.warning("%s; no alignment to a catalog: the visit keeps its a priori position", reason)
    return empty(reason, **meta)


def _query(cone, timeout):
    """One cone search; the socket timeout bounds a dead network (astroquery has none of its own
    for TAP jobs)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astroquery.gaia import Gaia

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        Gaia.MAIN_GAIA_TABLE = GAIA_TABLE
        Gaia.ROW_LIMIT = -1
        job = Gaia.cone_search_async(SkyCoord(cone[0], cone[1], unit="deg"), radius=cone[2] * u.deg,
                                     columns=["source_id", "ra", "dec", "ra_error", "dec_error", "pmra",
                                              "pmdec", "ref_epoch", "phot_g_mean_mag"])
        return normalise(job.get_results(), "Gaia archive answer")
    finally:
        socket.setdefaulttimeout(previous)
