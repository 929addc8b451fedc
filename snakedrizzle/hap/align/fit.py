"""One fit of all exposures of a detector of a visit to one reference catalog (SPEC-HAP H6.4,
H6.5), with tweakwcs; :mod:`snakedrizzle.hap.align.search` runs H6.6's loops over catalogs and
methods.

Methods: ``relative`` (more than one
exposure): every exposure fitted to the first (XYXYMatch with the relative search radius), then
all put in one group and the group fitted to the reference catalog, so the visit moves as one;
``2dhist``: each exposure fitted to the reference catalog on its own; ``default``: the same
without the 2-D histogram, with a 10-pixel tolerance (H6.4's match_default_fit). Fit geometry ``rscale``
(shift, rotation, one scale), one 3-sigma clipping pass (H6.4).

The reference positions are propagated to the visit's mean epoch for the fit (exposures of a
visit lie within hours: a 100 mas/yr star moves < 0.03 mas in a day) and to each exposure's own
epoch when that exposure's matches and RMS are measured.

Quality (H6.5), per exposure from its own matches against the reference catalog after the fit:
too few matches (< min_fit_matches), RMS > max_fit_limit, the radial-offset test
((n+2)*0.36 > 0.8 + (offset"/10)^8) or fewer than 12 matches at an RMS <= 0.5 mas make it
invalid (5); a failed magnitude correlation (|r| <= 0.5 when the matches are few) marks it
compromised. Otherwise 1 (not compromised, visit RMS < max_fit_rms), 2 (compromised, < max_fit_rms),
3 (not compromised, <= 1000 mas), 4. Any exposure at 5 makes the method fail. Without a usable
reference catalog the SVM still aligns the exposures to each other (``relative_only``).
"""
import logging
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table
from scipy.spatial import cKDTree
from tweakwcs import align_wcs
from tweakwcs.correctors import FITSWCSCorrector
from tweakwcs.matchutils import XYXYMatch

from snakedrizzle.hap.align.refcat import propagate

log = logging.getLogger("snakedrizzle")
MAS = 3.6e6   # mas per degree


@dataclass
class ExposureFit:
    root: str
    epoch: float
    nmatch: int = 0
    fit_rms: float = np.nan      # mas: RMS of the 2-D separations to the reference
    rms_ra: float = np.nan       # mas
    rms_dec: float = np.nan      # mas
    offset: float = 0.0          # arcsec: size of the fitted shift
    quality: int = 5
    compromised: bool = False
    reason: str = ""
    wcs: dict = field(default_factory=dict)   # extver -> aligned WCS (empty: a priori kept)


def _correctors(exposures, sources):
    out = []
    for i, (root, wcss) in enumerate(exposures):
        for v, w in wcss.items():
            sel = sources[i][np.asarray(sources[i]["extver"]) == v]
            cat = Table({"x": np.asarray(sel["x"], float) - 1.0, "y": np.asarray(sel["y"], float) - 1.0})
            out.append(FITSWCSCorrector(w.deepcopy(), meta={"catalog": cat, "group_id": i, "name": f"{root}[SCI,{v}]",
                                                          "root": root, "extver": v}))
    return [c for c in out if len(c.meta["catalog"])]


# After the relative step a group's merged catalog holds every star once per exposure, a few
# hundredths of a pixel apart. With H6.4's separation (4 px) tweakwcs's handling of those close
# pairs biased the group's fit: 8 mas in Dec on a synthetic WFC3/IR association whose image-by-
# image fits were within 0.5 mas of truth; a separation below the duplicates' spread removes it
# (measured: 1 mas). The per-image steps keep H6.4's value.
GROUP_SEPARATION = 0.01


def _match(pars, searchrad, separation=None, tolerance=None, use2dhist=True):
    return XYXYMatch(searchrad=float(searchrad), separation=float(separation or pars["separation"]),
                     tolerance=float(tolerance or pars["tolerance"]), use2dhist=use2dhist)


def _align(correctors, refcat, pars, searchrad, **match):
    align_wcs(correctors, refcat=refcat, match=_match(pars, searchrad, **match), fitgeom=pars["fitgeom"],
              minobj=int(pars["minobj"]), nclip=int(pars["nclip"]), sigma=(float(pars["sigma"]), "rmse"))


def run_method(method, exposures, sources, ref, pars):
    """The correctors of every chip after ``method`` (tweakwcs updates them in place)."""
    correctors = _correctors(exposures, sources)
    if method == "default":   # H6.4 match_default_fit: no 2-D histogram, wide tolerance
        _align(correctors, ref, pars, pars["default_searchrad"], separation=pars["default_separation"],
               tolerance=pars["default_tolerance"], use2dhist=False)
        return correctors
    if method != "relative":
        _align(correctors, ref, pars, pars["searchrad"])
        return correctors
    _align(correctors, None, pars, pars["relative_searchrad"])
    for c in correctors:
        c.meta["group_id"] = 0
        c.meta.pop("fit_info", None)
    _align(correctors, ref, pars, pars["searchrad"], separation=GROUP_SEPARATION)
    return correctors


def _fit_status(correctors, root):
    infos = [c.meta.get("fit_info", {}) for c in correctors if c.meta["root"] == root]
    if not infos:
        return None, "no sources on any chip"
    info = infos[0]
    if info.get("status") != "SUCCESS":
        return None, f"tweakwcs fit {info.get('status', 'not done')}"
    return info, ""


def measure(fit, wcss, sources, refcat, pars):
    """Matches and RMS of one exposure against the reference at its own epoch."""
    ra_ref, dec_ref = propagate(refcat, fit.epoch)
    dra, ddec, mags = [], [], []
    for v, w in wcss.items():
        sel = sources[np.asarray(sources["extver"]) == v]
        if not len(sel):
            continue
        x, y = np.asarray(sel["x"], float), np.asarray(sel["y"], float)
        rx, ry = w.all_world2pix(ra_ref, dec_ref, 1)
        tree = cKDTree(np.column_stack([rx, ry]))
        dist, idx = tree.query(np.column_stack([x, y]))
        ok = dist <= float(pars["tolerance"])
        sra, sdec = w.all_pix2world(x[ok], y[ok], 1)
        dra.append((sra - ra_ref[idx[ok]]) * np.cos(np.deg2rad(dec_ref[idx[ok]])) * MAS)
        ddec.append((sdec - dec_ref[idx[ok]]) * MAS)
        mags.append(np.column_stack([np.asarray(sel["mag"], float)[ok], np.asarray(refcat["mag"], float)[idx[ok]]]))
    dra, ddec = (np.concatenate(a) if a else np.zeros(0) for a in (dra, ddec))
    fit.nmatch = int(len(dra))
    if fit.nmatch:
        fit.fit_rms = float(np.sqrt(np.mean(dra ** 2 + ddec ** 2)))
        fit.rms_ra, fit.rms_dec = float(np.std(dra)), float(np.std(ddec))
    return np.vstack(mags) if mags else np.zeros((0, 2))


def _magnitudes_agree(mags, n_ref):
    """H6.5's cross-match check, done only when the matches are few."""
    n = len(mags)
    if n >= max(0.1 * min(1000, n_ref), 10) or n <= 1:
        return True
    good = np.all(np.isfinite(mags), axis=1)
    if good.sum() < 3:
        return True   # no reference magnitudes: nothing to check against
    r = np.corrcoef(mags[good, 0], mags[good, 1])[0, 1]
    return bool(np.isfinite(r) and abs(r) > 0.5)


def judge(fit, mags, n_ref, pars):
    """Validity and compromise of one exposure (H6.5); quality is set once the visit RMS is known."""
    n, rms = fit.nmatch, fit.fit_rms
    if n < int(pars["min_fit_matches"]):
        return f"{n} matches (< {pars['min_fit_matches']})"
    if rms > float(pars["max_fit_limit"]):
        return f"RMS {rms:.1f} mas > {pars['max_fit_limit']} mas"
    if not (n + 2) * 0.36 > 0.8 + (fit.offset / 10.0) ** 8:
        return f"radial offset {fit.offset:.2f} arcsec too large for {n} matches"
    if not (n >= 12 or (n >= 2 and rms > 0.5)):
        fit.compromised = True
        return f"{n} matches at RMS {rms:.2f} mas"
    fit.compromised = not _magnitudes_agree(mags, n_ref)
    return ""


def quality_code(compromised, total_rms, max_fit_rms):
    if total_rms < max_fit_rms:
        return 2 if compromised else 1
    return 4 if compromised or total_rms > 1000.0 else 3


def evaluate(method, correctors, exposures, sources, epochs, refcat, pars):
    """Per-exposure fits of one method's result (quality 5 when invalid, with the reason)."""
    fits = []
    for i, (root, wcss) in enumerate(exposures):
        fit = ExposureFit(root, epochs[i])
        info, fit.reason = _fit_status(correctors, root)
        if info is not None:
            aligned = {c.meta["extver"]: c.wcs for c in correctors if c.meta["root"] == root}
            fit.wcs = {v: aligned.get(v, w) for v, w in wcss.items()}
            pscale = float(next(iter(wcss.values())).pscale)
            fit.offset = float(np.hypot(*np.asarray(info["shift"], float))) * pscale
            mags = measure(fit, fit.wcs, sources[i], refcat, pars)
            fit.reason = judge(fit, mags, len(refcat), pars)
        fit.quality = 5 if fit.reason else 0
        fits.append(fit)
    good = [f for f in fits if f.quality != 5]
    total = float(np.mean([f.fit_rms for f in good])) if good else np.nan
    for f in good:
        f.quality = quality_code(f.compromised, total, float(pars["max_fit_rms"]))
    return fits, total


RELATIVE_ONLY = "relative-only"


# A relative correction is applied only when some exposure's shift is this many standard errors
# (fit RMS / sqrt(matches)) from zero: exposures whose headers already agree keep them, rather
# than take a correction that is only noise (measured: 0.015 -> 0.021 px RMS on a synthetic
# WFC3/IR visit with right headers).
RELATIVE_SIGNIFICANCE = 3.0


def _significant(info):
    """Whether a relative fit's shift stands out of its noise."""
    n = max(int(info.get("nmatches", 0)), 1)
    shift = float(np.hypot(*np.asarray(info.get("shift", (0.0, 0.0)), float)))
    return shift > RELATIVE_SIGNIFICANCE * float(info.get("rmse", np.inf)) / np.sqrt(n)


def relative_only(exposures, sources, epochs, pars, why):
    """Without a usable reference catalog, the exposures fitted to the first one (its WCS kept):
    the visit stays where its a priori WCS puts it, but its exposures and filters line up. The
    exposures' quality is 3 (aligned, not to a catalog); one that cannot be matched keeps its WCS.
    When no exposure moves significantly (``_significant``) nothing is applied."""
    correctors = _correctors(exposures, sources)
    try:
        _align(correctors, None, pars, pars["relative_searchrad"])
    except Exception as exc:  # tweakwcs raises plain exceptions on degenerate matches
        return [ExposureFit(r, e, reason=f"{why}; relative fit {type(exc).__name__}: {exc}")
                for (r, _), e in zip(exposures, epochs)]
    infos = [_fit_status(correctors, root) for root, _ in exposures]
    if not any(info is not None and _significant(info) for info, _ in infos[1:]):
        agree = f"{why}; the exposures already agree (no relative shift above {RELATIVE_SIGNIFICANCE:g} sigma)"
        return [ExposureFit(r, e, reason=agree) for (r, _), e in zip(exposures, epochs)]
    fits = []
    for i, ((root, wcss), (info, problem)) in enumerate(zip(exposures, infos)):
        fit = ExposureFit(root, epochs[i], reason=why)
        if i == 0 or info is not None:
            aligned = {c.meta["extver"]: c.wcs for c in correctors if c.meta["root"] == root}
            fit.wcs = {v: aligned.get(v, w) for v, w in wcss.items()}
            fit.quality = 3
            fit.nmatch = int(info.get("nmatches", 0)) if info else 0
        else:
            fit.reason = f"{why}; not matched to {exposures[0][0]}: {problem}"
        fits.append(fit)
    log.info("no reference catalog (%s): the %d exposures were aligned to each other only", why, len(fits))
    return fits


def catalog_problem(refcat, minimum):
    """Why a reference catalog is not fitted to ('' when it is): empty (with the reason its
    stage recorded) or fewer than ``minimum`` sources in the footprint."""
    if len(refcat) == 0:
        return refcat.meta.get("reason", "") or "empty reference catalog"
    if len(refcat) < minimum:
        return f"reference catalog has {len(refcat)} sources in the footprint (< {minimum})"
    return ""


def methods_for(n_exposures):
    """H6.6: relative, 2dhist, default; relative only with more than one exposure."""
    return (["relative"] if n_exposures > 1 else []) + ["2dhist", "default"]


def try_method(method, exposures, sources, epochs, refcat, pars):
    """(fits, total RMS, why it failed or '') of one method against one reference catalog: the
    reference propagated to the visit's mean epoch for the fit, each exposure judged at its own."""
    ra, dec = propagate(refcat, float(np.mean(epochs)))
    ref = Table({"RA": ra, "DEC": dec})
    try:
        correctors = run_method(method, exposures, sources, ref, pars)
        fits, total = evaluate(method, correctors, exposures, sources, epochs, refcat, pars)
    except Exception as exc:  # tweakwcs raises plain exceptions on degenerate matches
        return [], np.nan, f"{type(exc).__name__}: {exc}"
    bad = [f for f in fits if f.quality == 5]
    return fits, total, "; ".join(f"{f.root} {f.reason}" for f in bad)


def not_aligned(exposures, epochs, fits, reason, keep_own_reason=True):
    """Every exposure keeps its a priori WCS (quality 5) with the reason."""
    kept = fits or [ExposureFit(r, e) for (r, _), e in zip(exposures, epochs)]
    for f in kept:
        f.wcs, f.quality = {}, 5
        f.reason = (f.reason if keep_own_reason else "") or reason
    return kept
