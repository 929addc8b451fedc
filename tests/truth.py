"""Measurements of a drizzled product against the truth of a simulated dataset."""
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry
from photutils.centroids import centroid_2dg, centroid_sources


def isolated_bright_stars(truth, x, y, shape, min_flux, isolation=10.0, edge=15):
    """Indices of stars brighter than min_flux, with no other star (of any flux) within
    ``isolation`` pixels, and far enough from the edges."""
    keep = []
    for i in np.flatnonzero(truth["flux"] >= min_flux):
        if not (edge < x[i] < shape[1] - edge and edge < y[i] < shape[0] - edge):
            continue
        d = np.hypot(x - x[i], y - y[i])
        d[i] = np.inf
        if d.min() > isolation:
            keep.append(i)
    return np.array(keep, dtype=int)


def star_measurements(product, truth_file, min_flux=300.0, radius=6.0):
    """(dx, dy, flux ratio) of isolated bright stars in the product (0-based pixels)."""
    truth = Table.read(truth_file)
    with fits.open(product) as hdul:
        sci = hdul["SCI"].data.astype(float)
        wht = hdul["WHT"].data
        w = WCS(hdul["SCI"].header)
    x, y = w.all_world2pix(truth["ra"], truth["dec"], 0)
    idx = isolated_bright_stars(truth, x, y, sci.shape, min_flux)
    sel = idx[[np.all(wht[int(round(y[i])) - 8:int(round(y[i])) + 9, int(round(x[i])) - 8:int(round(x[i])) + 9] > 0)
               for i in idx]]
    data = np.nan_to_num(sci)
    cx, cy = centroid_sources(data, x[sel], y[sel], box_size=7, centroid_func=centroid_2dg)
    pos = np.column_stack([x[sel], y[sel]])
    phot = aperture_photometry(data, CircularAperture(pos, r=radius))
    ann = CircularAnnulus(pos, r_in=radius + 4, r_out=radius + 9)
    bkg = np.array([np.median(m.multiply(data)[m.data > 0]) for m in ann.to_mask(method="center")])
    flux = np.asarray(phot["aperture_sum"]) - bkg * np.pi * radius ** 2
    return cx - x[sel], cy - y[sel], flux / np.asarray(truth["flux"])[sel]


def write_gaia_like(dataset, path, min_flux, seed=1, pm_sigma=8.0):
    """A Gaia-like catalog (Gaia archive column names, epoch 2016.0) of the dataset's stars
    brighter than ``min_flux`` e-/s, with random proper motions (mas/yr) such that propagating
    them to the observation brings each star to its true position."""
    import numpy as np
    from astropy.io import fits
    from astropy.table import Table

    from snakedrizzle.hap.align import refcat as R

    stars = Table.read(dataset.truth_stars)
    bright = stars[stars["flux"] > min_flux]
    rng = np.random.default_rng(seed)
    pmra, pmdec = rng.normal(0, pm_sigma, len(bright)), rng.normal(0, pm_sigma, len(bright))
    dt = R.decimal_year(fits.getval(dataset.paths[0], "EXPSTART", 0)) - 2016.0
    gaia = Table({"source_id": np.arange(len(bright)),
                  "ra": bright["ra"] - pmra * dt / (3.6e6 * np.cos(np.deg2rad(bright["dec"]))),
                  "dec": bright["dec"] - pmdec * dt / 3.6e6, "pmra": pmra, "pmdec": pmdec,
                  "ref_epoch": np.full(len(bright), 2016.0),
                  "phot_g_mean_mag": 25 - 2.5 * np.log10(bright["flux"])})
    gaia.write(path, overwrite=True)
    return path
