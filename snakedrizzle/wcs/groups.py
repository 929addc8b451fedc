"""Which exposures of a product overlap on the sky.

A file of another target caught by a glob makes the combined output frame span both targets:
tens of thousands of pixels on a side, all empty, and a median that eats the machine. So before
any drizzling the exposures are grouped by overlap, and more than one group is an error that
names the exposures outside the main group and how far away they are.

Each exposure is reduced to a spherical cap (the centre of its chips' corners and the largest
distance from it to a corner): two exposures whose caps intersect count as overlapping. That is
conservative (caps are a little larger than footprints), which is what a guard against runaway
frames needs: it never splits exposures that truly overlap.
"""
from dataclasses import dataclass

import numpy as np
from astropy import wcs as pywcs
from astropy.io import fits

from snakedrizzle.errors import InputError


@dataclass(frozen=True)
class Cap:
    name: str
    centre: np.ndarray   # unit vector
    radius: float        # radians


def _unit_vectors(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _angle(u, v):
    return float(np.arctan2(np.linalg.norm(np.cross(u, v)), np.dot(u, v)))


def exposure_cap(path, chips):
    """The cap around the corners of an exposure's chips (linear WCS of the headers)."""
    corners = []
    with fits.open(path, memmap=True) as hdul:
        for ver in chips:
            hdr = hdul["SCI", ver].header
            ny, nx = hdr["NAXIS2"], hdr["NAXIS1"]
            w = pywcs.WCS(hdr, hdul, relax=True).celestial
            w.sip = None
            xy = np.array([[0, 0], [nx - 1, 0], [nx - 1, ny - 1], [0, ny - 1]], float)
            corners.append(w.wcs_pix2world(xy, 0))
    vectors = _unit_vectors(*np.concatenate(corners).T)
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre)
    return Cap(path, centre, max(_angle(centre, v) for v in vectors))


def overlap_groups(caps):
    """Lists of caps whose members are connected by overlaps, largest group first (ties: the
    group of the earliest exposure), members in input order."""
    parent = list(range(len(caps)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(caps)):
        for j in range(i + 1, len(caps)):
            if _angle(caps[i].centre, caps[j].centre) <= caps[i].radius + caps[j].radius:
                parent[root(j)] = root(i)
    groups = {}
    for i in range(len(caps)):
        groups.setdefault(root(i), []).append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    return [[caps[i] for i in g] for g in ordered]


def check_overlapping(caps):
    """InputError naming every exposure that overlaps none of the main group, with its
    distance from that group's nearest exposure."""
    groups = overlap_groups(caps)
    if len(groups) <= 1:
        return
    main = groups[0]
    lines = []
    for group in groups[1:]:
        for cap in group:
            gap = min(_angle(cap.centre, m.centre) for m in main)
            lines.append(f"{cap.name} ({np.degrees(gap) * 60:.1f} arcmin from the nearest of the others)")
    raise InputError(
        "inputs", f"{len(lines)} of {len(caps)} exposures overlap none of the other {len(main)}: "
        + "; ".join(lines) + ". Drizzle each field separately (a glob may have caught another target).")
