"""A multi-filter HST visit with truth: one scene (the same stars and galaxies, one truth table)
seen through several filters, with the rootnames, proposal and header keywords of ONE visit, so
that the HAP poller reads it as a visit (snakedrizzle.hap) and the SVM products can be measured
against the truth.

Colours. Each source has a colour ``m_blue - m_red`` (magnitudes between the bluest and the
reddest filter of the visit, by PHOTPLAM); its magnitude is linear in ln(PHOTPLAM) between them.
Fluxes stay in e-/s as in make_dataset: ``flux`` is the flux in the first filter listed (drawn
from the flux range), ``flux_<filter>`` (lower case) the flux in each filter.
"""
from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np

from snakedrizzle.errors import InputError
from snakedrizzle.simulate.dataset import (Dataset, RandomStreams, build_scene, dither_offsets,
                                           new_plan, write_exposure, write_truth)
from snakedrizzle.simulate.headers import rootnames
from snakedrizzle.simulate.instruments import lookup_instrument, with_filter

DEFAULT_FILTERS = {"ACS/WFC": {"F606W": 2, "F814W": 2}, "ACS/HRC": {"F555W": 2, "F814W": 2},
                   "WFC3/IR": {"F125W": 2, "F160W": 2}}
STAR_COLOURS = (0.6, 0.5)      # mean, sigma of m_blue - m_red for stars (mag)
GALAXY_COLOURS = (1.0, 0.3)
COLOUR_LIMITS = (-0.5, 2.5)


def make_visit(outdir, instrument="ACS/WFC", filters=None, *, visit=None, proposid=12345, seed=1,
               suffix="flt", chip_shape=None, exptime=400.0, sky=None, n_stars=300,
               n_galaxies=30, star_flux_range=(2e2, 2e4), galaxy_flux_range=(1e2, 5e3),
               star_colours=STAR_COLOURS, psf_sigma=1.0, cr_fraction=None, readnoise=None,
               gain=1.0, dithers=None, pointing_errors=None, distortion=True, flat_fielded=True,
               ra=6.0220, dec=-72.0814, orientat=20.0) -> Dataset:
    """Write one visit of several filters and its truth into `outdir`; returns a Dataset whose
    meta also holds ``visit``, ``proposid``, ``filters`` ({filter: {n_exposures, photflam,
    photplam, paths}}) and ``exposure_filters``.

    filters: {filter: number of exposures}, in observing order (default per detector:
    DEFAULT_FILTERS). visit: the 6-character ``ipppss`` of every rootname (default
    '<letter>sim01'); rootnames are ``<ipppss><letter><digit>q``. Each filter gets the box
    dither of make_dataset unless `dithers` (arcsec, one per exposure in order) is given.
    star_colours: (mean, sigma) of the stars' m_blue - m_red. flat_fielded: sources' counts
    divided by their pixel's sky area (in IDCSCALE pixels) as in real flat-fielded FLTs, so that
    drizzled products give back the true fluxes (make_dataset does not do this: there a source
    always gives flux * EXPTIME counts, and drizzled fluxes scatter by the pixel-area variation
    of the distortion, ~1% at the default 4 px). The other options are make_dataset's and apply
    to every exposure.
    """
    key, inst = lookup_instrument(instrument)
    per_filter = _filter_counts(filters if filters is not None else DEFAULT_FILTERS[key])
    visit = _visit_name(visit, inst)
    seen = {name: with_filter(key, inst, name) for name in per_filter}
    order = [name for name, n in per_filter.items() for _ in range(n)]
    n_total = len(order)
    streams = RandomStreams(seed, n_total)
    if dithers is None:
        dithers = [d for n in per_filter.values() for d in dither_offsets(None, n, inst.scale)]
    plan = new_plan(key, seen[order[0]], streams, roots=rootnames(visit, n_total),
                    dithers=dither_offsets(dithers, n_total, inst.scale), seed=seed, suffix=suffix,
                    chip_shape=chip_shape, exptime=exptime, sky=sky, readnoise=readnoise,
                    cr_fraction=cr_fraction, gain=gain, psf_sigma=psf_sigma,
                    pointing_errors=pointing_errors, distortion=distortion, ra=ra, dec=dec,
                    orientat=orientat)
    plan = replace(plan, flat_fielded=bool(flat_fielded))
    scene = build_scene(plan, streams, n_stars, n_galaxies, star_flux_range, galaxy_flux_range)
    # A child the dataset streams never use, so colours leave every other draw untouched.
    colour_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3 + n_total + 1)[-1])
    add_colours(scene.stars, seen, colour_rng, star_colours)
    add_colours(scene.gals, seen, colour_rng, GALAXY_COLOURS)
    os.makedirs(outdir, exist_ok=True)
    exposures = []
    for i, name in enumerate(order):
        asn = list(per_filter).index(name) + 1
        filter_plan = replace(plan, inst=seen[name],
                              primary_extra=_visit_cards(visit, proposid, asn, i, seen[name]))
        filter_scene = replace(scene, stars=_through(scene.stars, name),
                               gals=_through(scene.gals, name))
        exposures.append(write_exposure(outdir, filter_plan, filter_scene, i,
                                        *streams.exposures[i]))
    extra = _visit_meta(visit, proposid, per_filter, seen, order, [e[0] for e in exposures])
    extra["flat_fielded"] = bool(flat_fielded)
    return write_truth(outdir, plan, scene, exposures, extra_meta=extra)


def _visit_meta(visit, proposid, per_filter, seen, order, paths):
    """What make_visit adds to the truth JSON: the visit, its filters and their exposures."""
    return {"visit": visit, "proposid": int(proposid), "exposure_filters": order,
            "reference_filter": order[0],
            "filters": {name: {"n_exposures": n, "photflam": seen[name].phot["PHOTFLAM"],
                               "photplam": seen[name].phot["PHOTPLAM"],
                               "paths": [p for p, f in zip(paths, order) if f == name]}
                        for name, n in per_filter.items()}}


def _filter_counts(filters):
    """{FILTER: n} in the given order; each n >= 1, at least one filter."""
    if not filters:
        raise InputError("filters", "a visit needs at least one filter")
    counts = {}
    for name, n in dict(filters).items():
        if int(n) < 1:
            raise InputError("filters", f"filter {name} needs >= 1 exposure, got {n}")
        counts[name.upper()] = int(n)
    return counts


def _visit_name(visit, inst):
    """The visit's ``ipppss``: 6 lower-case letters/digits starting with the instrument's letter."""
    visit = (visit or inst.prefix + "sim01").lower()
    if len(visit) != 6 or not visit.isalnum() or visit[0] != inst.prefix:
        raise InputError("visit", f"{visit!r} is not an ipppss of {inst.instrume} (6 letters or "
                                  f"digits starting with {inst.prefix!r}, e.g. "
                                  f"'{inst.prefix}8xy01')")
    return visit


def add_colours(table, seen, rng, colours):
    """Add ``colour`` (m_blue - m_red) and ``flux_<filter>`` columns; ``flux`` is the first
    filter's flux."""
    (mean, sigma), names = colours, list(seen)
    colour = np.clip(rng.normal(mean, sigma, len(table)), *COLOUR_LIMITS)
    lnpivot = {name: math.log(seen[name].phot["PHOTPLAM"]) for name in names}
    span = max(lnpivot.values()) - min(lnpivot.values())
    table["colour"] = colour
    table["colour"].unit = "mag"
    for name in names:
        # m(filter) - m(first) = -colour * (ln pivot - ln pivot_first) / span: redder -> brighter
        slope = (lnpivot[name] - lnpivot[names[0]]) / span if span > 0 else 0.0
        column = f"flux_{name.lower()}"
        table[column] = table["flux"] * 10.0 ** (0.4 * colour * slope)
        table[column].unit = table["flux"].unit


def _through(table, name):
    """A copy of a truth table whose ``flux`` is the flux in filter `name` (what is rendered)."""
    seen = table.copy()
    seen["flux"] = table[f"flux_{name.lower()}"]
    return seen


def _visit_cards(visit, proposid, asn, i, inst):
    """Primary cards that make the exposures one HST visit: proposal, association per filter,
    fine guiding, no moving target; WFC3/IR also carries PHOT* in the primary (as calwf3 does)."""
    cards = [("PROPOSID", int(proposid), "PEP proposal identifier"),
             ("LINENUM", f"{visit[4:6]}.{i + 1:03d}", "proposal logsheet line number"),
             ("ASN_ID", f"{visit.upper()}{asn:02d}0", "unique identifier assigned to association"),
             ("ASN_TAB", f"{visit}{asn:02d}0_asn.fits", "name of the association table"),
             ("FGSLOCK", "FINE", "commanded FGS lock (FINE,COARSE,GYROS,UNKNOWN)"),
             ("MTFLAG", "", "moving target flag; T if it is a moving target"),
             ("QUALITY", "", "data quality description")]
    if not inst.counts:
        cards += [(k, v, "") for k, v in inst.phot.items()]
    return tuple(cards)
