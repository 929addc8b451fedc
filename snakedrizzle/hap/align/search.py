"""H6.6's search loops over reference catalogs and fit methods (one try = :func:`fit.try_method`).

SVM (:func:`svm_search`): catalogs outer, methods inner; the first fit with every exposure at
quality 1-4 wins. HAP downgrades the fit geometry while the catalog is smaller than the
geometry's minimum, but rscale (12 sources) is the first of its list, so a catalog with fewer
than 12 sources is skipped outright: here the same, a catalog with fewer than
max(min_catalog, minobj) sources is not fitted (minobj, 12, is also tweakwcs's minimum of
matches for the fit). No catalog fitted at all: with ``relative_fallback`` the exposures are
aligned to each other (fit.relative_only), else the a priori WCS is kept.

Pipeline (:func:`pipeline_search`): methods outer, catalogs inner; a catalog with fewer than
min_catalog (3) sources is skipped; the best quality is kept (ties: more matches and a lower
RMS); stop at quality 1, or after the relative method when the best is 2-4. Unlike DrizzlePac,
an empty *last* catalog does not throw away an earlier good fit (H6.6's quirk).

Both return a :class:`Search` whose ``tried`` lists every catalog (and, for the pipeline, every
method) tried, with why it was not used; the fit table keeps it.
"""
import logging
from dataclasses import dataclass, field

import numpy as np

from snakedrizzle.hap.align.fit import (RELATIVE_ONLY, catalog_problem, methods_for, not_aligned, relative_only,
                                        try_method)

log = logging.getLogger("snakedrizzle")
__all__ = ["Search", "svm_search", "pipeline_search"]


@dataclass
class Search:
    method: str = ""           # the winning method, RELATIVE_ONLY, or '' (nothing applied)
    catalog: str = ""          # the winning catalog's name, or ''
    fits: list = field(default_factory=list)   # [fit.ExposureFit]
    total: float = np.nan      # mas
    reason: str = ""           # why nothing was applied
    tried: list = field(default_factory=list)  # [{catalog, nref, method, quality, nmatch, rms_mas, used, reason}]


def _attempt(name, refcat, method="", fits=(), total=np.nan, reason=""):
    quality = 5 if reason or not fits else max(f.quality for f in fits)
    return {"catalog": name, "nref": len(refcat), "method": method, "quality": int(quality),
            "nmatch": int(sum(f.nmatch for f in fits)), "rms_mas": float(total), "used": False, "reason": reason}


def _summary(tried):
    """One line: each catalog and why it was not used."""
    parts = {}
    for t in tried:
        if not t["used"]:
            parts.setdefault(t["catalog"], []).append(f"{t['method']}: {t['reason']}" if t["method"] else t["reason"])
    return " | ".join(f"{name}: {'; '.join(why)}" for name, why in parts.items())


def _failed(exposures, epochs, fits, tried, catalogs):
    """Nothing applied: a single catalog keeps today's reasons (the exposure's own, else the
    catalog's); with several, every row names each catalog and why it was not used."""
    reason = _summary(tried) if len(catalogs) > 1 else next((t["reason"] for t in reversed(tried)), "")
    single = len(catalogs) == 1
    if single and tried and tried[-1]["method"]:
        reason = " | ".join(f"{t['method']}: {t['reason']}" for t in tried)
    log.warning("no good visit fit (%s); a priori WCS kept", reason)
    return Search("", "", not_aligned(exposures, epochs, fits, reason, keep_own_reason=single), np.nan,
                  reason, tried)


def svm_search(exposures, sources, epochs, catalogs, pars, relative_fallback=False):
    """``catalogs``: [(name, table in refcat's one form)], in the order to try."""
    minimum = max(int(pars["min_catalog"]), int(pars["minobj"]))
    tried, fits, fitted = [], [], False
    for name, refcat in catalogs:
        problem = catalog_problem(refcat, minimum)
        if problem:
            tried.append(_attempt(name, refcat, reason=problem))
            continue
        fitted = True
        for method in methods_for(len(exposures)):
            attempt_fits, total, why = try_method(method, exposures, sources, epochs, refcat, pars)
            tried.append(_attempt(name, refcat, method, attempt_fits, total, why))
            if not why:
                tried[-1]["used"] = True
                log.info("visit fit to %s by %s: RMS %.2f mas, qualities %s", name, method, total,
                         [f.quality for f in attempt_fits])
                return Search(method, name, attempt_fits, total, "", tried)
            fits = attempt_fits or fits
    if fitted or not exposures:
        return _failed(exposures, epochs, fits, tried, catalogs)
    why = _summary(tried) if len(catalogs) > 1 else tried[0]["reason"] if tried else "no reference catalog"
    if relative_fallback and len(exposures) > 1:
        return Search(RELATIVE_ONLY, "", relative_only(exposures, sources, epochs, pars, why), np.nan, why, tried)
    return _failed(exposures, epochs, [], tried, catalogs)


def _better(attempt, best):
    """H6.6: a lower quality wins; at the same quality, more matches with a lower RMS."""
    if attempt["quality"] >= 5:
        return False
    if best is None or attempt["quality"] < best["quality"]:
        return True
    return (attempt["quality"] == best["quality"] and attempt["nmatch"] > best["nmatch"]
            and attempt["rms_mas"] < best["rms_mas"])


def pipeline_search(exposures, sources, epochs, catalogs, pars):
    """runastrodriz's a posteriori search (``catalogs`` as for :func:`svm_search`)."""
    tried, usable = [], []
    for name, refcat in catalogs:
        problem = catalog_problem(refcat, int(pars["min_catalog"]))
        if problem:
            tried.append(_attempt(name, refcat, reason=problem))
        else:
            usable.append((name, refcat))
    best, best_fits, last_fits = None, [], []
    for method in methods_for(len(exposures)):
        for name, refcat in usable:
            attempt_fits, total, why = try_method(method, exposures, sources, epochs, refcat, pars)
            attempt = _attempt(name, refcat, method, attempt_fits, total, why)
            tried.append(attempt)
            last_fits = attempt_fits or last_fits
            if _better(attempt, best):
                best, best_fits = attempt, attempt_fits
            if best is not None and best["quality"] == 1:
                break
        if best is not None and (best["quality"] == 1 or (method == "relative" and best["quality"] < 5)):
            break
    if best is None:
        return _failed(exposures, epochs, last_fits, tried, catalogs)
    best["used"] = True
    for t in tried:
        if not t["used"] and t["method"] and not t["reason"]:
            t["reason"] = (f"quality {t['quality']}, {t['nmatch']} matches, RMS {t['rms_mas']:.2f} mas: "
                           f"not better than {best['catalog']} by {best['method']}")
    log.info("a posteriori fit to %s by %s: quality %d, RMS %.2f mas", best["catalog"], best["method"],
             best["quality"], best["rms_mas"])
    return Search(best["method"], best["catalog"], best_fits, best["rms_mas"], "", tried)
