"""A whole simulated data set: the exposures of a dithered visit written to a folder with their
truth (star and galaxy tables, cosmic-ray images, a JSON of everything chosen), and the way back
from that JSON to true pixel positions."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.simulate.detector import Defects, detector_defects, expose_chip, sky_levels
from snakedrizzle.simulate.geometry import (DEFAULT_DISTORTION_PIX, chip_offsets, chip_sips,
                                            chip_wcs, frame_wcs, pixel_positions)
from snakedrizzle.simulate.headers import chip_headers, cr_truth_headers, primary_header, rootnames
from snakedrizzle.simulate.instruments import Instrument, lookup_instrument
from snakedrizzle.simulate.scene import draw_sources, render_sources, source_bounds

# Default dither in pixels: a ~5-pixel box whose four points sample the four half-pixel phases.
BOX_DITHER_PIX = [(0.0, 0.0), (5.5, 0.5), (5.0, 5.5), (-0.5, 5.0)]


@dataclass
class Dataset:
    paths: list[str]          # exposure files, in order
    truth_stars: str          # ECSV: ra, dec (deg), flux (e-/s), x, y (true, 1-based, exposure 1 SCI,1)
    truth_cr: list[str]       # per exposure: FITS with 'CR' (uint8) and 'CRE' (float32 e-) per chip
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    """Every choice make_dataset made from its arguments before the first pixel is drawn."""
    key: str                  # 'ACS/WFC', ...
    inst: Instrument
    shape: tuple              # (ny, nx) per chip
    roots: list
    exptime: float
    gain: float
    readnoise: float
    cr_fraction: float
    psf_sigma: float
    distortion: float         # SIP amplitude at the worst corner, pixels (0: pure TAN)
    dithers: list             # (dx, dy) arcsec per exposure
    pointing_errors: list     # (dx, dy, rot, scale) or None per exposure
    sky: list                 # per exposure, data units
    suffix: str
    seed: object
    ra: float
    dec: float
    orientat: float
    # (keyword, value, comment) set on the primary header after the standard cards (make_visit:
    # PROPOSID, ASN_ID, guiding, ...); replacing a card keeps its place, so () changes nothing.
    primary_extra: tuple = ()
    flat_fielded: bool = False    # source counts / pixel area, as in real FLTs (scene.render_sources)

    @property
    def nchips(self):
        return len(self.inst.ccdchip)

    @property
    def dark_e(self):
        return self.inst.dark_rate * self.exptime


class RandomStreams:
    """Independent generators, so that e.g. switching cosmic rays off leaves the noise untouched.
    The order of the spawns is part of what a seed means: keep it."""

    def __init__(self, seed, n_exposures):
        seeds = np.random.SeedSequence(seed)
        self.sources, self.detector, self.sky = [np.random.default_rng(s) for s in seeds.spawn(3)]
        # per exposure: (pixel noise, cosmic rays)
        self.exposures = [[np.random.default_rng(s) for s in e.spawn(2)] for e in seeds.spawn(n_exposures)]


@dataclass
class _Scene:
    """What stays the same in every exposure: the sky, the chip layout and the detector."""
    frame: WCS                # aperture frame of the undithered pointing
    offsets: list             # chip centres in the aperture frame
    sips: list                # SIP coefficients per chip (or None)
    stars: Table
    gals: Table
    defects: list[Defects]    # per chip


def make_dataset(outdir, instrument="ACS/WFC", n_exposures=4, *, seed=1, suffix="flt",
                 chip_shape=None, exptime=400.0, sky=None, n_stars=300, n_galaxies=30,
                 star_flux_range=(2e2, 2e4), galaxy_flux_range=(1e2, 5e3), psf_sigma=1.0,
                 cr_fraction=None, readnoise=None, gain=1.0, dithers=None, pointing_errors=None,
                 distortion=True, ra=6.0220, dec=-72.0814, orientat=20.0,
                 rootname_prefix=None) -> Dataset:
    """Write `n_exposures` synthetic FLT/FLC-like files and their truth into `outdir`.

    instrument: 'ACS/WFC' (2 chips), 'ACS/HRC' or 'WFC3/IR'. chip_shape (ny, nx) overrides the
    real detector size. sky: e-/pixel per exposure for ACS, e-/s for WFC3/IR; a scalar or one value
    per exposure (default: the instrument's typical sky, varied by up to +-10% between exposures).
    cr_fraction: fraction of pixels hit per 400 s (default 0.01 for ACS, 0 for WFC3/IR).
    readnoise (e-) defaults to the detector's; gain only goes into ATODGN*/CCDGAIN, as FLT data
    are already in electrons.
    dithers: (dx, dy) POSTARG-like arcsec per exposure, in detector axes: the target moves by
    (dx, dy)/IDCSCALE pixels. pointing_errors: (dx_pix, dy_pix, rot_deg, scale) per exposure that
    move the sources but not the header (see geometry.pixel_positions). distortion: True (4 px at
    the worst corner), False (pure TAN) or the amplitude in pixels. rootname_prefix defaults to
    'jsim' for ACS and 'isim' for WFC3.
    """
    key, inst = lookup_instrument(instrument)
    if n_exposures < 1:
        raise InputError("n_exposures", f"must be >= 1, got {n_exposures}")
    streams = RandomStreams(seed, n_exposures)
    roots = rootnames(rootname_prefix or (inst.prefix + "sim"), n_exposures)
    plan = new_plan(key, inst, streams, roots=roots,
                    dithers=dither_offsets(dithers, n_exposures, inst.scale), seed=seed, suffix=suffix,
                    chip_shape=chip_shape, exptime=exptime, sky=sky, readnoise=readnoise,
                    cr_fraction=cr_fraction, gain=gain, psf_sigma=psf_sigma,
                    pointing_errors=pointing_errors, distortion=distortion, ra=ra, dec=dec,
                    orientat=orientat)
    scene = build_scene(plan, streams, n_stars, n_galaxies, star_flux_range, galaxy_flux_range)
    os.makedirs(outdir, exist_ok=True)
    exposures = [write_exposure(outdir, plan, scene, i, *streams.exposures[i])
                 for i in range(n_exposures)]
    return write_truth(outdir, plan, scene, exposures)


def new_plan(key, inst, streams, *, roots, dithers, seed, suffix, chip_shape, exptime, sky,
             readnoise, cr_fraction, gain, psf_sigma, pointing_errors, distortion, ra, dec,
             orientat, primary_extra=()):
    """The _Plan of len(roots) exposures from the user's options (defaults filled in)."""
    n_exposures = len(roots)
    return _Plan(
        key=key, inst=inst, shape=tuple(int(s) for s in (chip_shape or inst.shape)), roots=roots,
        exptime=exptime, gain=gain, psf_sigma=psf_sigma, suffix=suffix, seed=seed,
        readnoise=inst.readnoise if readnoise is None else float(readnoise),
        cr_fraction=inst.cr_fraction if cr_fraction is None else float(cr_fraction),
        distortion=DEFAULT_DISTORTION_PIX if distortion is True else float(distortion or 0.0),
        dithers=dithers, pointing_errors=_pointing_errors(pointing_errors, n_exposures),
        sky=sky_levels(sky, n_exposures, inst, exptime, streams.sky),
        ra=ra, dec=dec, orientat=orientat, primary_extra=tuple(primary_extra))


def dither_offsets(dithers, n_exposures, scale):
    """(dx, dy) arcsec per exposure; by default the box, repeated with a (10.25, 10.25)-pixel
    step for more than 4 exposures."""
    if dithers is None:
        dithers = [((BOX_DITHER_PIX[i % 4][0] + 10.25 * (i // 4)) * scale,
                    (BOX_DITHER_PIX[i % 4][1] + 10.25 * (i // 4)) * scale) for i in range(n_exposures)]
    dithers = [tuple(map(float, d)) for d in dithers]
    if len(dithers) < n_exposures:
        raise InputError("dithers", f"need {n_exposures} dithers, got {len(dithers)}")
    return dithers


def _pointing_errors(pointing_errors, n_exposures):
    if pointing_errors is None:
        return [None] * n_exposures
    pointing_errors = [None if p is None else tuple(map(float, p)) for p in pointing_errors]
    if len(pointing_errors) < n_exposures:
        raise InputError("pointing_errors", f"need {n_exposures} pointing_errors, got {len(pointing_errors)}")
    return pointing_errors


def build_scene(plan, streams, n_stars, n_galaxies, star_flux_range, galaxy_flux_range):
    """Sources uniform over everything any exposure can see, the chip layout and the defects."""
    scale = plan.inst.scale
    offsets = chip_offsets(plan.inst, plan.shape)
    frame = frame_wcs([plan.ra, plan.dec], scale, plan.orientat)
    bounds = source_bounds(plan.shape, offsets, plan.dithers, plan.pointing_errors, scale)
    stars, gals = draw_sources(streams.sources, frame, bounds, scale, n_stars, n_galaxies,
                               star_flux_range, galaxy_flux_range)
    defects = [detector_defects(streams.detector, plan.shape) for _ in range(plan.nchips)]
    return _Scene(frame, offsets, chip_sips(plan.inst, plan.shape, plan.distortion), stars, gals,
                  defects)


def write_exposure(outdir, plan, scene, i, rng_noise, rng_cr):
    """Write exposure `i` and its cosmic-ray truth. Returns (its path, the truth's path, its
    aperture frame for the meta, the fraction of pixels CRs hit, its stars' true x, y on SCI,1)."""
    inst, scale, root = plan.inst, plan.inst.scale, plan.roots[i]
    dx, dy = plan.dithers[i]
    # POSTARG moves the target by +d on the detector, i.e. the pointing by -d.
    ref = scene.frame.wcs_pix2world([[-dx / scale, -dy / scale]], 1)[0]
    frame = frame_wcs(ref, scale, plan.orientat)
    prim = primary_header(inst, root, plan.suffix, i, plan.exptime, plan.orientat, plan.dithers[i],
                          plan.ra, plan.dec, plan.gain, plan.readnoise, plan.nchips,
                          plan.shape != inst.shape)
    for key, value, comment in plan.primary_extra:
        prim[key] = (value, comment)
    hdus, cr_hdus, star_xy, hit = [fits.PrimaryHDU(header=prim)], [fits.PrimaryHDU()], [], 0
    for c in range(plan.nchips):
        chip_hdus, cre, xy = _expose_chip(plan, scene, i, c, frame, ref, rng_noise, rng_cr)
        mask_hdr, electrons_hdr = cr_truth_headers(c + 1)
        hdus += chip_hdus
        cr_hdus += [fits.ImageHDU((cre > 0).astype(np.uint8), mask_hdr),
                    fits.ImageHDU(cre, electrons_hdr)]
        star_xy.append(xy)
        hit += int(np.count_nonzero(cre))
    path = os.path.join(outdir, f"{root}_{plan.suffix}.fits")
    crpath = os.path.join(outdir, f"{root}_truth_cr.fits")
    _write_fits(path, hdus)
    _write_fits(crpath, cr_hdus)
    ny, nx = plan.shape
    frame_meta = {"crval": [float(v) for v in ref], "orientat": plan.orientat, "scale": scale}
    return path, crpath, frame_meta, hit / (plan.nchips * nx * ny), star_xy[0]


def _expose_chip(plan, scene, i, c, frame, ref, rng_noise, rng_cr):
    """SCI/ERR/DQ HDUs of chip `c` of exposure `i`, its cosmic-ray electrons and its stars'
    true (x, y)."""
    inst, exptime, defects = plan.inst, plan.exptime, scene.defects[c]
    wcs_hdr, wcs = chip_wcs(frame, scene.offsets[c], plan.shape, scene.sips[c])
    sky_e = plan.sky[i] * (1.0 if inst.counts else exptime)
    model = np.full(plan.shape, sky_e + plan.dark_e)
    star_xy = render_sources(model, wcs, frame, plan.pointing_errors[i], scene.stars, scene.gals,
                             exptime, plan.psf_sigma,
                             flat_scale=inst.scale if plan.flat_fielded else None)
    elec, var, cre = expose_chip(model, defects, exptime=exptime, sky_e=sky_e, dark_e=plan.dark_e,
                                 readnoise=plan.readnoise, cr_fraction=plan.cr_fraction,
                                 rng_noise=rng_noise, rng_cr=rng_cr)
    to_units = 1.0 if inst.counts else 1.0 / exptime      # electrons -> data units
    sci_hdr, err_hdr, dq_hdr = chip_headers(inst, c + 1, plan.roots[i], wcs_hdr, aperture_ref=ref,
                                            orientat=plan.orientat, dq=defects.dq, dark_e=plan.dark_e)
    hdus = [fits.ImageHDU((elec * to_units).astype(np.float32), sci_hdr),
            fits.ImageHDU((np.sqrt(var) * to_units).astype(np.float32), err_hdr),
            fits.ImageHDU(defects.dq, dq_hdr)]
    return hdus, cre, star_xy


def write_truth(outdir, plan, scene, exposures, extra_meta=None):
    """Write the star and galaxy tables and the meta JSON (plus `extra_meta`); return the
    Dataset."""
    paths, cr_paths, frames, cr_fractions, star_xys = (list(column) for column in zip(*exposures))
    stars, gals = scene.stars, scene.gals
    stars["x"], stars["y"] = star_xys[0]
    stars.meta["comment"] = ["x, y: true 1-based position in exposure 1, SCI,1 (may be off-chip)"]
    base = os.path.join(outdir, plan.roots[0][:6])
    stars_path, gals_path, meta_path = (base + "_truth_stars.ecsv", base + "_truth_galaxies.ecsv",
                                        base + "_truth_meta.json")
    with atomic_path(stars_path) as tmp:
        stars.write(tmp, format="ascii.ecsv", overwrite=True)
    with atomic_path(gals_path) as tmp:
        gals.write(tmp, format="ascii.ecsv", overwrite=True)
    meta = _meta(plan, scene, frames, cr_fractions)
    meta.update({"truth_galaxies": gals_path, "truth_meta": meta_path, "paths": paths,
                 "truth_stars": stars_path, "truth_cr": cr_paths,
                 "bad_columns": [[d.bad_column + 1, d.bad_row0 + 1] for d in scene.defects]})
    meta.update(extra_meta or {})
    with atomic_path(meta_path) as tmp, open(tmp, "w") as f:
        json.dump(meta, f, indent=1)
    return Dataset(paths=paths, truth_stars=stars_path, truth_cr=cr_paths, meta=meta)


def _meta(plan, scene, frames, cr_fractions):
    """Everything chosen, in JSON types, for load_dataset, true_pixels and the tests."""
    inst = plan.inst
    bunit = "ELECTRONS" if inst.counts else "ELECTRONS/S"
    return {
        "instrument": plan.key, "instrume": inst.instrume, "detector": inst.detector,
        "nchips": plan.nchips, "chip_shape": list(plan.shape), "exptime": float(plan.exptime),
        "bunit": bunit, "sky": plan.sky, "sky_units": bunit,
        "readnoise": plan.readnoise, "gain": float(plan.gain), "dark_electrons": plan.dark_e,
        "psf_sigma": float(plan.psf_sigma), "cr_fraction": plan.cr_fraction,
        "cr_fraction_actual": cr_fractions,
        "dithers": [list(d) for d in plan.dithers],
        "pointing_errors": [list(p) if p else None for p in plan.pointing_errors],
        "frames": frames, "chip_offsets": [list(o) for o in scene.offsets],
        "distortion_pix": plan.distortion, "idcscale": inst.scale, "seed": plan.seed,
        "rootnames": plan.roots, "ra": float(plan.ra), "dec": float(plan.dec),
        "orientat": float(plan.orientat),
    }


def _write_fits(path, hdus):
    with atomic_path(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)


def make_demo(outdir) -> Dataset:
    """Small ACS/WFC-like dataset for the workflow demo: 4 dithered exposures of 2 chips of
    512 x 1024 (ny, nx: the real 1:2 chip aspect), stars, galaxies, cosmic rays and SIP."""
    return make_dataset(outdir, "ACS/WFC", 4, seed=2024, chip_shape=(512, 1024),
                        n_stars=250, n_galaxies=25)


def load_dataset(meta_path) -> Dataset:
    """Rebuild a Dataset from the `*_truth_meta.json` written beside the exposures."""
    with open(meta_path) as f:
        meta = json.load(f)
    return Dataset(paths=meta["paths"], truth_stars=meta["truth_stars"],
                   truth_cr=meta["truth_cr"], meta=meta)


def true_pixels(dataset, exposure, extver, ra, dec):
    """True 1-based (x, y) of sky positions in exposure `exposure` (0-based index), chip `extver`:
    the header WCS, plus that exposure's pointing error if one was simulated."""
    meta = dataset.meta
    fr = meta["frames"][exposure]
    frame = frame_wcs(fr["crval"], fr["scale"], fr["orientat"])
    with fits.open(dataset.paths[exposure]) as hdul:
        wcs = WCS(hdul["SCI", extver].header, hdul)
    perr = meta["pointing_errors"][exposure]
    return pixel_positions(wcs, frame, tuple(perr) if perr else None, ra, dec)
