"""The WCS solutions an exposure carries, the one each runastrodriz stage uses, and the stage
headerlets that hand it to the drizzle (SPEC.md §5.1, SPEC-HAP.md H9 steps 3 and 6,
``update_wcs_in_list``).

DrizzlePac rewrites the FLT/FLC headers at every stage (updatewcs, restore_from_headerlet); here
exposures are only read: a stage's WCS is a :class:`Solution` read from the exposure (its primary
WCS, an alternate key, an embedded HDRLET) and goes to the drizzle as a headerlet file, applied
by :func:`snakedrizzle.align.headerlet.aligned_chip_wcs`. Nothing is recomputed from reference
files (no IDCTAB/CRDS here): the distortion-only default must be among the carried WCSs.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from astropy.io import fits
from astropy.wcs import WCS
from stwcs.wcsutil import HSTWCS, altwcs, headerlet  # headerlet: registers the HDRLET HDU type

from snakedrizzle.align.headerlet import sci_extvers, set_primary_wcs, wcs_history, working_copy
from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import write_hdulist
from snakedrizzle.pipeline import wcsnames
from snakedrizzle.pipeline.wcsnames import (DEFAULT_RANK, default_wcsname, idctab_root,
                                            is_aposteriori, preference_rank, wcsname_idc_root)

STAGES = ("default", "apriori", "aposteriori")
_LINEAR = ("WCSAXES", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2", "CUNIT1",
           "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")
_REQUIRED = ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2", "CD1_1", "CD1_2",
             "CD2_1", "CD2_2")
_SIP = re.compile(r"^(A|B|AP|BP)_(\d+_\d+|ORDER|DMAX)$")
_STATS = ("RMS_RA", "RMS_DEC", "NMATCH", "CATALOG", "FITMETH", "FIT_RMS")
# SCI keywords describing the exposure's primary WCS fit; stwcs copies some into any headerlet
# made from that header (CRDER -> RMS_RA), so they go when another solution is installed.
_PRIMARY_FIT_KEYS = ("CRDER1", "CRDER2", "RMS_RA", "RMS_DEC", "NMATCH", "NMATCHES", "CATALOG",
                     "FITGEOM", "FITMETH", "FIT_RMS", "HDRNAME")


@dataclass
class Solution:
    """One WCS of an exposure: per SCI extver, the cards of a primary WCS (CRVAL, CRPIX, CD,
    CTYPE, CUNIT and SIP when CTYPE says -SIP) that astropy's WCS or stwcs's HSTWCS read as
    they are. ``own_sip``: the SIP came with the solution (primary, headerlet) rather than
    being the exposure's, which alternate keys share (FITS SIP keywords have no alternates)."""
    wcsname: str
    origin: str                       # 'primary', 'alternate A', 'headerlet <HDRNAME>'
    chips: dict = field(default_factory=dict, repr=False)   # {extver: fits.Header}
    own_sip: bool = True
    note: str = ""
    # Fit statistics the exposure records for this WCS, as headerlet PRIMARY cards (RMS_RA,
    # RMS_DEC in mas, NMATCH, CATALOG, FITMETH, FIT_RMS); empty for alternates, which have none.
    meta: dict = field(default_factory=dict)

    @property
    def wcstype(self):
        return wcsnames.wcstype(self.wcsname)

    @property
    def has_sip(self):
        return all("-SIP" in str(h.get("CTYPE1", "")) and "A_ORDER" in h for h in self.chips.values())

    def chip_wcs(self, extver):
        """astropy WCS of chip ``extver`` (linear + SIP; the lookup tables are the exposure's,
        see solution_chip_wcs)."""
        return WCS(self.chips[extver])


def _open(path):
    try:
        return fits.open(path, mode="readonly", memmap=True)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the exposure ({exc})") from None


def _sci_headers(hdul, path):
    headers = {h.ver: h.header for h in hdul if h.name.upper() == "SCI"}
    if not headers:
        raise InputError(path, "no SCI extension")
    return headers


def _cards(header, key=""):
    """Primary-form cards of the WCS with key ``key`` (''=primary), or None when incomplete.
    SIP keywords have no alternate forms: an alternate with a -SIP CTYPE uses the header's."""
    if any(f"{k}{key}" not in header for k in _REQUIRED):
        return None
    out = fits.Header()
    for k in _LINEAR:
        if f"{k}{key}" in header:
            out[k] = header[f"{k}{key}"]
    if "-SIP" in str(out["CTYPE1"]):
        for card in header.cards:
            if _SIP.match(card.keyword):
                out[card.keyword] = card.value
    return out


def _primary(sci):
    chips = {v: _cards(h) for v, h in sci.items()}
    first = sci[min(sci)]
    name = str(first.get("WCSNAME", "")).strip()
    meta = {k: first[k] for k in ("RMS_RA", "RMS_DEC") if k in first}
    if "NMATCHES" in first:
        meta["NMATCH"] = first["NMATCHES"]
    return Solution(name or wcsnames.MISSING_WCSNAME, "primary", chips, own_sip=True,
                    note="" if name else "primary WCS has no WCSNAME: read as OPUS", meta=meta)


def _alternates(sci):
    first = sci[min(sci)]
    out = []
    for key in sorted(k for k in altwcs.wcskeys(first) if k.strip()):
        chips = {v: _cards(h, key) if f"WCSNAME{key}" in h else None for v, h in sci.items()}
        out.append(Solution(str(first[f"WCSNAME{key}"]).strip(), f"alternate {key}", chips, own_sip=False))
    return out


def _headerlets(hdul, sci):
    out = []
    for hdu in hdul:
        if hdu.name.upper() != "HDRLET":
            continue
        hdrname = str(hdu.header.get("HDRNAME", f"HDRLET,{hdu.ver}")).strip()
        try:
            hlet = hdu.headerlet
        except Exception as exc:    # a damaged embedded file is reported, not fatal
            out.append(Solution(str(hdu.header.get("WCSNAME", "")).strip(), f"headerlet {hdrname}",
                                {}, note=f"unreadable headerlet ({exc})"))
            continue
        sipwcs = {int(e.header.get("TG_EVER", e.ver)): e.header for e in hlet if e.name.upper() == "SIPWCS"}
        chips = {v: _cards(sipwcs[v]) if v in sipwcs else None for v in sci}
        name = str(hlet[0].header.get("WCSNAME", hdu.header.get("WCSNAME", ""))).strip()
        meta = {k: hlet[0].header[k] for k in _STATS      # undefined cards (no value) left out
                if isinstance(hlet[0].header.get(k), (str, int, float))}
        out.append(Solution(name, f"headerlet {hdrname}", chips, own_sip=True, meta=meta))
    return out


def _problem(solution, extvers):
    """Why a carried WCS cannot be used (None when it can). The SIP rule spares the primary:
    it is the WCS the file has (a drizzled product's FIT WCS rightly has no SIP)."""
    if solution.note.startswith("unreadable"):
        return solution.note
    missing = [v for v in extvers if solution.chips.get(v) is None]
    if missing:
        return f"no complete WCS for SCI,{','.join(map(str, missing))}"
    if solution.origin != "primary" and is_aposteriori(solution.wcsname) and not solution.has_sip:
        # runastrodriz confirm_aposteriori_hdrlets drops these: a fit without the distortion
        # polynomial cannot be the fit it claims to be.
        return "a posteriori solution without SIP (-SIP CTYPE and A_ORDER)"
    return None


def inventory(path):
    """(usable, dropped) WCS solutions of an exposure. ``usable`` is in lookup order (primary,
    headerlets, alternates: a name carried several times resolves as DrizzlePac's
    update_active_wcs does, headerlet before alternate); ``dropped`` holds (solution, why)."""
    with _open(path) as hdul:
        sci = _sci_headers(hdul, path)
        carried = [_primary(sci)] + _headerlets(hdul, sci) + _alternates(sci)
    problems = [_problem(s, list(sci)) for s in carried]
    if problems[0]:
        raise InputError(path, f"the primary WCS is unusable: {problems[0]}")
    usable = [s for s, why in zip(carried, problems) if not why]
    return usable, [(s, why) for s, why in zip(carried, problems) if why]


def solutions(path) -> list[Solution]:
    """Every usable WCS the exposure carries (see inventory)."""
    return inventory(path)[0]


def exposure_idctab_root(path):
    """IDCTAB root of the exposure; without an IDCTAB (simulated data write 'N/A') the IDC_
    root of its primary WCSNAME, else None."""
    with _open(path) as hdul:
        root = idctab_root(hdul[0].header.get("IDCTAB"))
        if root:
            return root
        sci = _sci_headers(hdul, path)
        return wcsname_idc_root(sci[min(sci)].get("WCSNAME"))


def _named(carried, name):
    return next((s for s in carried if s.wcsname == name), None)


def default_solution(path) -> Solution:
    """The distortion-only pipeline default ``IDC_<idctab root>`` among the carried WCSs; when
    none is, the primary WCS stands in, with a ``note`` saying so (DrizzlePac would recompute
    it from the IDCTAB with updatewcs; there is no reference-file service here)."""
    carried = solutions(path)
    root = exposure_idctab_root(path)
    wanted = default_wcsname(root) if root else None
    found = _named(carried, wanted) if wanted else None
    if found is not None:
        return found
    primary = carried[0]
    alone = "the only WCS carried" if len(carried) == 1 else f"among {[s.wcsname for s in carried]}"
    why = f"no {wanted}" if wanted else "no IDCTAB"
    note = f"{why} {alone}: the primary WCS '{primary.wcsname}' is the default"
    return Solution(primary.wcsname, primary.origin, primary.chips, primary.own_sip,
                    "; ".join(filter(None, [primary.note, note])))


def _ranked(path):
    root = exposure_idctab_root(path)
    ranks = {}
    for s in solutions(path):
        rank = preference_rank(s.wcsname, root)
        if rank is not None:
            ranks.setdefault(s.wcsname, rank)
    return ranks


def _rootname(path):
    with _open(path) as hdul:
        root = str(hdul[0].header.get("ROOTNAME", "")).strip().lower()
    return root or os.path.basename(path).split("_")[0]


def apriori_choice(paths):
    """(choice, why): the best solution by the pipeline preference order that every exposure
    carries (one reference frame per visit, H12.2), as {path: Solution}; choice is None when
    the best common one is the bare distortion-only default or nothing is common. ``why`` is
    the trailer line."""
    paths = list(paths)
    if not paths:
        raise InputError("apriori", "no exposures given")
    ranked = {p: _ranked(p) for p in paths}
    common = set.intersection(*(set(r) for r in ranked.values()))
    best = min(common, key=lambda n: ranked[paths[0]][n], default=None)
    if best is None or ranked[paths[0]][best] == DEFAULT_RANK:
        listing = "; ".join(f"{_rootname(p)}: [{', '.join(sorted(r, key=r.get))}]" for p, r in ranked.items())
        return None, f"no a priori solution common to all exposures: {listing}"
    choice = {p: _named(solutions(p), best) for p in paths}
    runner_up = sorted({n for r in ranked.values() for n in r if r[n] < ranked[paths[0]][best]})
    why = f"{best} common to all {len(paths)} exposures"
    if runner_up:
        why += f" (better ones not common to all: {', '.join(runner_up)})"
    return choice, why


def _install(hdr, cards):
    """Make ``cards`` the primary WCS of a working-copy SCI header: linear terms, and the
    solution's SIP in place of the exposure's (none when its CTYPE has no -SIP)."""
    for key in [k for k in hdr if _SIP.match(k)]:
        del hdr[key]
    for card in cards.cards:
        hdr[card.keyword] = card.value


_FIT_KEYS = (("rms_ra", "RMS_RA", "RMS in RA of the WCS fit (mas)"),
             ("rms_dec", "RMS_DEC", "RMS in Dec of the WCS fit (mas)"),
             ("fit_rms", "FIT_RMS", "RMS of the 2D fit (mas)"),
             ("nmatch", "NMATCH", "number of sources used for the fit"),
             ("catalog", "CATALOG", "astrometric catalog of the fit"),
             ("method", "FITMETH", "fit method (relative, image-by-image)"),
             ("quality", "FIT_QUAL", "fit quality code 1-5 (H6.5)"),
             ("status", "FITSTAT", "fit status"))


def stage_headerlet(path, solution, stage, fit=None):
    """The stage headerlet as an HDUList (see write_stage_headerlet)."""
    if stage not in STAGES:
        raise InputError("stage", f"must be one of {STAGES}, got {stage!r}")
    fit = dict(fit or {})
    work = working_copy(path)
    missing = [v for v in sci_extvers(work) if v not in solution.chips]
    if missing:
        raise InputError(path, f"solution {solution.wcsname} has no WCS for SCI,{missing}")
    for v in sci_extvers(work):
        hdr = work["SCI", v].header
        if solution.origin != "primary":     # keep the exposure's primary as an alternate
            key = set_primary_wcs(work, v, WCS(solution.chips[v]), solution.wcsname)
            if key:   # H9: WCSTYPE for every WCS written
                hdr[f"WCSTYPE{key}"] = wcsnames.wcstype(hdr.get(f"WCSNAME{key}", ""))
            for key in _PRIMARY_FIT_KEYS:
                hdr.remove(key, ignore_missing=True, remove_all=True)
        _install(hdr, solution.chips[v])
        hdr["WCSNAME"] = solution.wcsname
        hdr["WCSTYPE"] = solution.wcstype
        _drop_long_comments(hdr)
    root = _rootname(path)
    kind = os.path.basename(path).split(".")[0].split("_")[-1]     # flt, flc
    hlet = headerlet.create_headerlet(work, hdrname=f"{root}_{kind}_{solution.wcsname}",
                                      wcsname=solution.wcsname, author="snakedrizzle runastrodriz",
                                      descrip=solution.wcstype, nmatch=int(fit.get("nmatch", 0) or 0),
                                      catalog=str(fit.get("catalog", "")), logging=False)
    hlet[0].header["PIPESTAG"] = (stage, "runastrodriz cascade stage")
    # No comments on these: the texts fill the card (a long value continues on CONTINUE cards).
    hlet[0].header["DESCRIP"] = (solution.wcstype, "")
    hlet[0].header["WCSTYPE"] = solution.wcstype
    hlet[0].header["WCSORIG"] = solution.origin     # where the exposure carries this WCS
    for card, value in solution.meta.items():
        hlet[0].header[card] = value
    for key, card, comment in _FIT_KEYS:
        if fit.get(key) is not None:
            hlet[0].header[card] = (fit[key], comment)
    for ext in hlet:
        if ext.name.upper() == "SIPWCS":
            ext.header["WCSTYPE"] = solution.wcstype
    for ext in hlet:
        _drop_long_comments(ext.header)
    hlet.append(wcs_history(work, {"nmatch": fit.get("nmatch", 0), "rms_ra": fit.get("rms_ra"),
                                   "rms_dec": fit.get("rms_dec"), "fitgeometry": fit.get("method", "")}))
    return hlet


def _drop_long_comments(header):
    """Long names (HDRNAME, WCSNAME of real archive headerlets) leave no room for stwcs's
    comments; dropping them keeps the value whole and astropy quiet."""
    for card in header.cards:
        if isinstance(card.value, str) and card.comment and len(card.value) + len(card.comment) > 62:
            header.comments[card.keyword] = ""


def write_stage_headerlet(path, solution, out, stage, fit=None):
    """Write, atomically, the stwcs headerlet whose primary WCS per chip is ``solution``
    (WCSNAME, WCSTYPE, PRIMARY PIPESTAG=stage); read it back with aligned_chip_wcs. ``fit``
    (a posteriori stage) may hold rms_ra, rms_dec, fit_rms (mas), nmatch, catalog, method,
    quality, status, written as DrizzlePac's headerlet keywords."""
    return write_hdulist(stage_headerlet(path, solution, stage, fit), out)


def solution_chip_wcs(path, solution, extver):
    """HSTWCS of chip SCI,``extver`` with ``solution``'s WCS and the exposure's lookup-table
    distortion (NPOL, D2IM): what a drizzle of that solution uses. The file is only read."""
    with _open(path) as hdul:
        hdr = hdul["SCI", extver].header
        _install(hdr, solution.chips[extver])   # in memory only: the file is read-only
        return HSTWCS(hdul, ext=("SCI", extver))
