"""Source catalogs per chip with TweakReg's imagefindpars semantics (SPEC §3), found by photutils'
DAOStarFinder: detection at ``threshold`` x sky sigma on the image convolved with a zero-sum
Gaussian of FWHM ``conv_width`` truncated at ``nsigma``; peak/flux/sharpness/roundness limits;
DQ-flagged pixels ignored when ``dqbits`` is set. Positions are 1-based FITS pixels."""
import logging

import numpy as np
from astropy.nddata import bitmask
from astropy.stats import sigma_clipped_stats
from astropy.table import Table
from photutils.detection import DAOStarFinder

from snakedrizzle.io.exposure import read_chip
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.wcs import chip_wcs
from snakedrizzle.align.regions import exclusion_mask
from snakedrizzle.align.tables import column, flux_select, read_table

log = logging.getLogger(__name__)
COLUMNS = ("id", "x", "y", "flux", "peak", "sharpness", "roundness1", "roundness2")


def good_pixels(dq, finite, dqbits):
    """Pixels sources may be found on: finite SCI, and DQ-good for ``dqbits`` when it is set
    (TweakReg's dqbits: the flags to ignore; '' or None = do not use DQ)."""
    if dqbits is None or str(dqbits).strip() == "":
        return finite
    flags = bitmask.interpret_bit_flags(str(dqbits))
    return finite & bitmask.bitfield_to_boolean_mask(dq, ignore_flags=flags, good_mask_value=True)


def histogram_mode(values, centre, std, nclip=3, width=0.01):
    """Mode as imagestats finds it: the peak of a histogram with bins of ``width`` x sigma over
    the clipped range (the mean/median formulas fail on crowded fields)."""
    if not np.isfinite(std) or std <= 0:
        return centre
    lo, hi = centre - nclip * std, centre + nclip * std
    values = values[(values >= lo) & (values <= hi)]
    counts, edges = np.histogram(values, bins=max(1, int(round((hi - lo) / (width * std)))), range=(lo, hi))
    peak = int(np.argmax(counts))
    return float(0.5 * (edges[peak] + edges[peak + 1]))


def sky_sigma(sci, good, computesig=True, skysigma=0.0):
    """TweakReg's noise level: sqrt(2 |mode|) of the clipped image (a Poisson assumption), or
    ``skysigma`` when ``computesig`` is off; the clipped standard deviation when the mode is 0."""
    mean, median, std = sigma_clipped_stats(sci[good], sigma=3.0, maxiters=3)
    if not computesig and skysigma and skysigma > 0:
        return float(skysigma), float(median)
    mode = histogram_mode(sci[good], median, std)
    sigma = float(np.sqrt(2.0 * abs(mode)))
    return (sigma if sigma > 0 else float(std)), float(median)


def _within(values, low, high):
    keep = np.ones(len(values), dtype=bool)
    if low is not None:
        keep &= values >= low
    if high is not None:
        keep &= values <= high
    return keep


def find_sources(sci, good, pars):
    """Table of sources (1-based x, y) in one chip array; ``pars`` are imagefindpars."""
    sigma, background = sky_sigma(sci, good, pars["computesig"], pars["skysigma"])
    limits = {}
    if pars["use_sharp_round"]:
        limits = {"sharpness_range": (pars["sharplo"], pars["sharphi"]),
                  "roundness_range": (pars["roundlo"], pars["roundhi"])}
    else:
        limits = {"sharpness_range": None, "roundness_range": None}
    finder = DAOStarFinder(threshold=pars["threshold"] * sigma, fwhm=pars["conv_width"],
                           ratio=pars["ratio"], theta=pars["theta"], sigma_radius=pars["nsigma"],
                           exclude_border=True, peak_max=pars["peakmax"],
                           min_separation=pars["conv_width"] * pars["nsigma"] / 2.0, **limits)
    found = finder(sci - background, mask=~good)
    table = Table({c: np.zeros(0) for c in COLUMNS})
    if found is not None and len(found):
        keep = _within(np.asarray(found["peak"]), pars["peakmin"], None)
        keep &= _within(np.asarray(found["flux"]), pars["fluxmin"], pars["fluxmax"])
        found = found[keep]
        table = Table({"x": np.asarray(found["x_centroid"]) + 1.0, "y": np.asarray(found["y_centroid"]) + 1.0,
                       "flux": np.asarray(found["flux"]), "peak": np.asarray(found["peak"]),
                       "sharpness": np.asarray(found["sharpness"]),
                       "roundness1": np.asarray(found["roundness1"]),
                       "roundness2": np.asarray(found["roundness2"])})
        table.add_column(np.arange(1, len(table) + 1), name="id", index=0)
    table["id"] = table["id"].astype(int)
    table.meta.update({"sky_sigma": sigma, "background": background, "threshold": pars["threshold"] * sigma})
    return table


def chip_catalog(path, extver, pars, usercat=None, region=None):
    """Sources of chip SCI,``extver`` of an exposure, with their RA/Dec (full distortion): those
    of the user catalog ``usercat`` (catfile) or found on the chip; ``region`` (exclusions: DS9
    regions or a FITS mask) limits where sources may be."""
    w = chip_wcs(path, extver)
    if usercat:
        table = user_chip_catalog(usercat, w, pars)
        if region:
            table = table[_on_allowed(table, exclusion_mask(region, (w.pixel_shape[1], w.pixel_shape[0]), w))]
    else:
        chip = read_chip(path, extver)
        good = good_pixels(chip.dq, chip.finite, pars["dqbits"])
        if region:
            good &= exclusion_mask(region, chip.sci.shape, w)
        table = find_sources(chip.sci, good, pars)
        if pars.get("nbright"):
            table = flux_select(table, nbright=pars["nbright"])
    ra, dec = w.all_pix2world(np.asarray(table["x"], float), np.asarray(table["y"], float), 1)
    table["ra"], table["dec"] = ra, dec
    table["ra"].unit = table["dec"].unit = "deg"
    table.meta.update({"image": str(path), "extver": int(extver), "usercat": usercat or "",
                       "region": region or ""})
    log.info("%s[SCI,%d]: %d sources %s", path, extver, len(table),
             f"from {usercat}" if usercat else
             f"above {table.meta['threshold']:.4g} (sky sigma {table.meta['sky_sigma']:.4g})")
    return table


def user_chip_catalog(path, w, pars):
    """A catfile catalog of one chip: x/y (1-based pixels) or RA/Dec (``xyunits='degrees'``) in
    columns ``xcol``/``ycol``, optional ``fluxcol`` with minflux/maxflux/fluxunits/nbright."""
    table = read_table(path, "source catalog")
    a = np.asarray(table[column(table, pars["xcol"], (), path, "xcol")], float)
    b = np.asarray(table[column(table, pars["ycol"], (), path, "ycol")], float)
    if pars["xyunits"] == "degrees":
        a, b = w.all_world2pix(a, b, 1)
    n = len(table)
    out = Table({"id": np.arange(1, n + 1), "x": a, "y": b, "flux": np.full(n, np.nan)})
    for name in COLUMNS[4:]:
        out[name] = np.full(n, np.nan)
    if pars.get("fluxcol") not in (None, ""):
        out["flux"] = np.asarray(table[column(table, pars["fluxcol"], (), path, "fluxcol")], float)
        out = flux_select(out, pars.get("minflux"), pars.get("maxflux"), pars.get("fluxunits"), pars.get("nbright"))
    elif pars.get("nbright") or pars.get("minflux") is not None or pars.get("maxflux") is not None:
        log.warning("%s: flux limits / nbright need fluxcol; all %d sources kept", path, n)
    return out[np.isfinite(out["x"]) & np.isfinite(out["y"])]


def _on_allowed(table, allowed):
    """Sources whose pixel is allowed (inside the chip and not excluded)."""
    col = np.round(np.asarray(table["x"], float)).astype(int) - 1
    row = np.round(np.asarray(table["y"], float)).astype(int) - 1
    inside = (col >= 0) & (row >= 0) & (col < allowed.shape[1]) & (row < allowed.shape[0])
    keep = np.zeros(len(table), bool)
    keep[inside] = allowed[row[inside], col[inside]]
    return keep


def write_ecsv(table, path):
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return path


def write_coo(table, path, image):
    """TweakReg's ``_xy_catalog.coo``: X Y Flux ID, 1-based pixels."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(f"# Source catalog derived for {image}\n# Columns: \n#    X      Y         Flux       ID\n"
                "#   (pixels)   (pixels)\n")
        for row in table:
            f.write(f"{row['x']:.6f}  {row['y']:.6f}  {row['flux']:.6g}  {int(row['id'])}\n")
    return path


def write_regions(table, path, radius=3.0):
    """A DS9 region file of the sources (image coordinates), to check the catalog by eye."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("# Region file format: DS9\nglobal color=green\nimage\n")
        for row in table:
            f.write(f"circle({row['x']:.3f},{row['y']:.3f},{radius}) # text={{{int(row['id'])}}}\n")
    return path


def read_catalog(path):
    return Table.read(path, format="ascii.ecsv")
