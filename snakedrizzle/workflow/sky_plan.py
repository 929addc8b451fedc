"""What the sky rules read (part of :class:`snakedrizzle.workflow.dag.Plan`): which file holds an
exposure's MDRIZSKY values, and, for sky matching, the pairs of exposures that get a ``sky_pair``
job and the solve every ``sky`` job reads."""
import functools
import os

import numpy as np

from snakedrizzle.drizzle import skymask
from snakedrizzle.drizzle.sky import MATCH_METHODS, local_sky
from snakedrizzle.wcs.groups import exposure_cap


def results(name, filename):
    """A product's working file: ``results/<name>/<filename>``."""
    return os.path.join("results", name, filename)


@functools.lru_cache(maxsize=None)
def _cap(path, chips, mtime):
    return exposure_cap(path, chips)


# Caps are drawn around the linear WCS's chip corners; this margin covers what distortion and an
# alignment can move a footprint beyond them, so no overlapping pair is left without a job.
CAP_MARGIN = 1.05


def caps_may_overlap(a, b):
    """Cheap test of whether two exposures' footprints can overlap (their caps, a little enlarged)."""
    angle = np.arctan2(np.linalg.norm(np.cross(a.centre, b.centre)), np.dot(a.centre, b.centre))
    return bool(angle <= CAP_MARGIN * (a.radius + b.radius))


class SkyPlan:
    """Sky methods of the plan; they use the plan's ``params``, ``roots``, ``exposures``,
    ``exposure`` and ``aligned_wcs``."""

    def skyfile(self, wc):
        """The skyfile parameter's file (its contents matter too), when one is given."""
        return self.params(wc.name)["skyfile"] or []

    def skymask_files(self, wc):
        """The ``skymask_cat`` catalog and the mask files it names for the job's exposures (its
        ``root``, and ``other`` for a pair): editing any of them reruns the job and what follows.
        A catalog naming a missing file stops the DAG with an InputError naming the catalog."""
        catalog = self.params(wc.name).get("skymask_cat")
        if not catalog or str(catalog).strip().lower() in ("none", "indef"):
            return []
        catalog = os.path.abspath(str(catalog).strip())
        roots = [wc.root] + ([wc.other] if hasattr(wc, "other") else [])
        paths = [self.exposure(wc.name, r).path for r in roots]
        return [catalog] + skymask.mask_files(catalog, paths)

    def sky_values(self, name, root):
        """The file with an exposure's MDRIZSKY values: its own statistics file when its sky
        depends on it alone (localmin, skyfile, skyuser, skysub=false), else the gathered one."""
        if local_sky(self.params(name)):
            return results(name, f"{root}_skystats.json")
        return results(name, f"{root}_sky.json")

    def sky_of(self, wc):
        return self.sky_values(wc.name, wc.root)

    def sky_of_all(self, wc):
        return [self.sky_values(wc.name, r) for r in self.roots(wc.name)]

    def stats_for_sky(self, wc):
        """Every exposure's statistics, the exposure's own first (globalmin compares them); with
        sky matching only its own (the solve has compared the exposures)."""
        others = [] if self.sky_matching(wc.name) else [r for r in self.roots(wc.name) if r != wc.root]
        return [results(wc.name, f"{r}_skystats.json") for r in [wc.root] + others]

    # ---- sky matching (match, globalmin+match) -------------------------------------------------

    def sky_matching(self, name):
        p = self.params(name)
        return p["skymethod"] in MATCH_METHODS and not local_sky(p)

    def sky_pairs(self, name):
        """(root, other) of every pair of exposures whose footprints can overlap, each pair's
        rootnames sorted so a pair keeps its job (and file) whatever the input order."""
        exps = self.exposures(name)
        caps = [_cap(e.path, e.chips, os.path.getmtime(e.path)) for e in exps]
        pairs = [tuple(sorted((exps[i].rootname, exps[j].rootname)))
                 for i in range(len(exps)) for j in range(i + 1, len(exps)) if caps_may_overlap(caps[i], caps[j])]
        return sorted(pairs)

    def sky_pair_files(self, wc):
        """The solve's pair files (none without sky matching)."""
        if not self.sky_matching(wc.name):
            return []
        return [results(wc.name, f"skypair/{a}/{b}_skypair.json") for a, b in self.sky_pairs(wc.name)]

    def sky_pair_exposures(self, wc):
        return [self.exposure(wc.name, r).path for r in (wc.root, wc.other)]

    def sky_pair_static(self, wc):
        return [results(wc.name, f"{r}_static.fits") for r in (wc.root, wc.other)]

    def sky_pair_headerlets(self, wc):
        return self.aligned_wcs(wc.name, [wc.root, wc.other])

    def sky_solve(self, wc):
        """The sky-matching solution the sky stage reads, when the method matches skies."""
        return [results(wc.name, f"{wc.name}_skymatch.json")] if self.sky_matching(wc.name) else []
