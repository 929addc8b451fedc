"""Grism/prism exposures of an SVM visit take the visit fit of its direct exposures (SPEC-HAP H6.8).

A grism image has no stars to fit, but it shares the guide stars and therefore the pointing error
of the direct images taken beside it. HAP reconciles the two sets by making an a priori WCS that
both carry primary again, which throws the visit's FIT_SVM solution away for the direct images too
(drizzlepac #1030). Here the direct images keep their fit, and each grism exposure gets the
correction the fit made to the direct exposure nearest to it in time (same orbit, same guide
stars): the sky transform prior -> aligned of that exposure, measured on its chips as an affine map
of the tangent plane, applied to the grism exposure's own WCS (its distortion kept). The grism
headerlet is named like the direct ones (``<prior>-FIT_SVM_<catalog>``), so the two sets agree.
"""
import logging

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from snakedrizzle.align.headerlet import build_headerlet, sci_extvers
from snakedrizzle.hap.align.stages import exposure_epoch, fit_record, fitted_wcsname, solution_wcs
from snakedrizzle.io.exposure import rootname_of
from snakedrizzle.io.fitsio import write_hdulist
from snakedrizzle.wcs import chip_wcs

__all__ = ["SkyCorrection", "sky_correction", "corrected_wcs", "nearest_exposure", "prior_chips", "grism_headerlet_stage"]

log = logging.getLogger("snakedrizzle")

_GRID = 9            # points per chip side where the direct exposure's correction is measured
_STEP_DEG = 1e-4     # finite step (deg) for the correction's Jacobian at a grism chip's CRVAL


class SkyCorrection:
    """An affine map of the tangent plane at ``centre`` (RA, Dec deg): xi' = A xi + b."""

    def __init__(self, centre, matrix, offset):
        self.plane = _tangent_plane(centre)
        self.matrix = np.asarray(matrix, float)
        self.offset = np.asarray(offset, float)

    def __call__(self, ra, dec):
        xi = np.column_stack(self.plane.wcs_world2pix(np.atleast_1d(ra), np.atleast_1d(dec), 0))
        moved = xi @ self.matrix.T + self.offset
        return self.plane.wcs_pix2world(moved[:, 0], moved[:, 1], 0)


def _tangent_plane(centre, step_deg=1.0 / 3600):
    """A TAN projection at ``centre`` with 1 arcsec 'pixels' (well-conditioned numbers)."""
    plane = WCS(naxis=2)
    plane.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    plane.wcs.crval = list(centre)
    plane.wcs.crpix = [1.0, 1.0]  # 0-based pixel (0, 0) is the centre
    plane.wcs.cdelt = [-step_deg, step_deg]
    return plane


def _chip_grid(w):
    nx, ny = w.pixel_shape
    x, y = np.meshgrid(np.linspace(0, nx - 1, _GRID), np.linspace(0, ny - 1, _GRID))
    return x.ravel(), y.ravel()


def sky_correction(prior_chips, aligned_chips):
    """The correction a fit made to one exposure: ``prior_chips`` and ``aligned_chips`` are
    {extver: full chip WCS} before and after; the least-squares affine map of the tangent plane
    at the first chip's CRVAL that takes the prior sky positions of a grid over every chip to
    the aligned ones."""
    centre = prior_chips[min(prior_chips)].wcs.crval
    plane = _tangent_plane(centre)
    before, after = [], []
    for v, prior in prior_chips.items():
        x, y = _chip_grid(prior)
        before.append(np.column_stack(plane.wcs_world2pix(*prior.all_pix2world(x, y, 0), 0)))
        after.append(np.column_stack(plane.wcs_world2pix(*aligned_chips[v].all_pix2world(x, y, 0), 0)))
    before, after = np.vstack(before), np.vstack(after)
    design = np.column_stack([before, np.ones(len(before))])
    solution, *_ = np.linalg.lstsq(design, after, rcond=None)
    return SkyCorrection(centre, solution[:2].T, solution[2])


def corrected_wcs(chip, correction):
    """A WCS with ``chip``'s CRPIX and the corrected CRVAL and CD (what a headerlet replaces):
    CRVAL moved by ``correction``, CD turned and scaled by its Jacobian at CRVAL (measured in
    the chip's own tangent plane, so that the projection's curvature does not enter)."""
    crval = np.asarray(chip.wcs.crval, float)
    local = _tangent_plane(crval)
    probes = local.wcs_pix2world([0.0, _STEP_DEG * 3600, 0.0], [0.0, 0.0, _STEP_DEG * 3600], 0)
    moved_ra, moved_dec = correction(*probes)
    new_crval = (float(moved_ra[0]), float(moved_dec[0]))
    moved_plane = _tangent_plane(new_crval)
    xi = np.column_stack(moved_plane.wcs_world2pix(moved_ra, moved_dec, 0))
    jacobian = np.column_stack([xi[1] - xi[0], xi[2] - xi[0]]) / (_STEP_DEG * 3600)
    # the planes count x towards the west (as pixels do), intermediate coordinates towards the east
    flip = np.diag([-1.0, 1.0])
    out = WCS(naxis=2)
    out.wcs.ctype = list(chip.wcs.ctype)
    out.wcs.crval = list(new_crval)
    out.wcs.cd = flip @ jacobian @ flip @ _cd(chip)
    out.wcs.crpix = list(chip.wcs.crpix)
    return out


def _cd(w):
    return np.asarray(w.wcs.cd if w.wcs.has_cd() else w.pixel_scale_matrix, float)


def nearest_exposure(epoch, candidates):
    """The key of ``candidates`` ({key: epoch}) nearest in time to ``epoch`` (ties: the first)."""
    return min(candidates, key=lambda k: abs(candidates[k] - epoch))


def prior_chips(path, extvers, headerlet=None):
    return {v: chip_wcs(path, v, headerlet=headerlet) for v in extvers}


# ---- the stage ---------------------------------------------------------------------------------

def _aligned_chips(prior, solutions, root):
    """``prior`` chips (full distortion) with the CRVAL and CD the visit fit gave ``root``."""
    out = {}
    for v, fitted in solution_wcs(solutions, root).items():
        w = prior[v].deepcopy()
        w.wcs.crval, w.wcs.cd = fitted.wcs.crval, fitted.wcs.cd
        w.wcs.set()
        out[v] = w
    return out


def grism_headerlet_stage(exposure, direct_exposures, fit_table, wcs_table, out, catalog_name):
    """The headerlet of a grism/prism ``exposure``: the correction the visit fit made to the
    direct exposure nearest in time, applied to its own WCS; its a priori WCS (and the reason)
    when no direct exposure was aligned."""
    root = rootname_of(exposure)[0]
    table = Table.read(fit_table, format="ascii.ecsv")
    aligned = {str(r["rootname"]): r for r in table if r["aligned"]}
    with fits.open(exposure) as hdul:
        extvers = sci_extvers(hdul)
        prior_name = hdul["SCI", extvers[0]].header.get("WCSNAME", "")
    paths = {rootname_of(p)[0]: p for p in direct_exposures}
    if not aligned:
        why = f"no direct exposure of the visit was aligned ({table.meta.get('reason') or 'no good fit'})"
        log.warning("%s keeps its a priori WCS: %s", exposure, why)
        fit, chips, name = {"status": f"FAILED: {why}", "nmatch": 0}, None, prior_name
    else:
        nearest = nearest_exposure(exposure_epoch(exposure),
                                   {r: float(row["epoch"]) for r, row in aligned.items()})
        with fits.open(paths[nearest]) as hdul:
            direct_prior = prior_chips(paths[nearest], sci_extvers(hdul))
        solutions = Table.read(wcs_table, format="ascii.ecsv")
        correction = sky_correction(direct_prior, _aligned_chips(direct_prior, solutions, nearest))
        chips = {v: corrected_wcs(w, correction) for v, w in prior_chips(exposure, extvers).items()}
        row = aligned[nearest]
        catalog_name = str(row["catalog"]) if "catalog" in table.colnames else catalog_name  # the one that won
        # the name the direct exposure got, made from the grism's own prior WCSNAME
        name = fitted_wcsname(row["method"], prior_name, catalog_name, "SVM")
        fit = fit_record(row, "SUCCESS")
        log.info("%s: the visit fit of %s (nearest in time) applied, WCSNAME %s", exposure, nearest, name)
    hlet = build_headerlet(exposure, chips, name, fit, root, catalog=catalog_name,
                           meta={"hdrname": f"{root}_{name}",
                                 "descrip": "SVM: a grism/prism exposure given its visit's direct fit (snakedrizzle)"})
    hlet[0].header["GRISMREF"] = (nearest if aligned else "NONE", "direct exposure whose fit this WCS takes")
    write_hdulist(hlet, out)
