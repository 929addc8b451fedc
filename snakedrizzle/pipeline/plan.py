"""runastrodriz's cascade as DAG targets (``--config runastrodriz=INPUT``; SPEC-HAP H9).

Every drizzle of the cascade is an AstroDrizzle product that the stage rules of
``rules/astrodrizzle.smk`` build; what is the pipeline's own lives under
``results/pipeline/<root>/`` (``rules/pipeline.smk``):

    <stage>/<exp>_hlet.fits      the WCS each stage drizzles with (stage: default, apriori,
                                 aposteriori; the last from the fit)
    align/…                      per-exposure sources and the reference catalog of the fit
    aposteriori/<root>_fit.ecsv  the a posteriori fit (per exposure: method, matches, RMS, quality)
    <stage>/<root>_verify.json   the stage's verification
    <root>_cascade.json          which stage won and why; final/<exp>_hlet.fits its WCSs
    <root>_drz.fits, _drc.fits   the products (FLT, FLC inputs), <root>.tra the trailer,
    <exp>_flt_hlet.fits          one headerlet per exposure with the chosen WCS

AstroDrizzle products: ``<root>_default``, ``<root>_apriori``, ``<root>_aposteriori`` (the
verification drizzles of the align files: FLC when every member has one, else FLT) and
``<root>_flt``/``<root>_flc`` (the final drizzles). The later stages are drizzled on the default
product's grid, so their checks compare pixels with pixels, and reuse its CR masks.
A stage that is switched off (``-g``, ASTROMETRY_* switches) or has nothing to try (no a priori
solution that every exposure carries) is not in the DAG; the trailer says why.
"""
import functools
import logging
import os

from snakedrizzle.errors import InputError
from snakedrizzle.pipeline import pars as P
from snakedrizzle.pipeline.inputs import SUFFIX_OF_KIND, read_input

__all__ = ["PipelinePlan", "pipeline_file", "STAGES"]

log = logging.getLogger("snakedrizzle")
STAGES = ("default", "apriori", "aposteriori")


def pipeline_file(root, *parts):
    return os.path.join("results", "pipeline", root, *parts)


def _exposure_info(path):
    from astropy.io import fits

    with fits.open(path) as hdul:
        h = hdul[0].header
        return {"instrument": str(h.get("INSTRUME", "")).strip(), "detector": str(h.get("DETECTOR", "")).strip(),
                "exptime": float(h.get("EXPTIME", 0.0)), "expstart": h.get("EXPSTART")}


class PipelinePlan:
    """The pipeline side of a run's plan (``config['runastrodriz']`` names the input)."""

    def __init__(self, config, param_names=(), defaults=None):
        self.config = config
        self.input = read_input(config["runastrodriz"], force=config.get("pipeline_force", False))
        self.root = self.input.root
        from snakedrizzle.hap.align.refcat import catalog_list

        # the a posteriori fit's catalogs, [(name, local file or '' for its service)] (H6.6)
        self.refcats = catalog_list(config.get("refcat"), config.get("refcat_name"))
        self.refcat_name = self.refcats[0][0]
        self.notes = [f"{r}: left out ({why})" for r, why in self.input.skipped]
        for note in self.notes:   # the user must see it, not only the trailer
            log.warning("runastrodriz: %s", note)
        self.stages = self._stages()
        self.products = self._products(param_names, defaults or {})
        if self.stages and config.get("align_pars"):
            self.align_pars()  # the overrides are checked before any job
        if not self.input.drizzle:
            log.warning("runastrodriz: %s: DRIZCORR=%s: drizzling skipped (force=true, -f, drizzles anyway)",
                        self.input.drizcorr_file, self.input.drizcorr)

    # ---- the cascade -----------------------------------------------------------------------

    def _stages(self):
        stages = ["default"]
        if not self.input.drizzle:
            return []
        if P.switch("ASTROMETRY_APPLY_APRIORI", bool(self.config.get("pipeline_apriori", True))):
            choice, why = self.apriori_solutions()
            if choice:
                stages.append("apriori")
            else:
                self.notes.append(f"a priori: not tried ({why})")
        else:
            self.notes.append("a priori: switched off (ASTROMETRY_APPLY_APRIORI)")
        if P.switch("ASTROMETRY_COMPUTE_APOSTERIORI", bool(self.config.get("pipeline_aposteriori", True))):
            stages.append("aposteriori")
        else:
            self.notes.append("a posteriori: switched off (-g or ASTROMETRY_COMPUTE_APOSTERIORI)")
        return stages

    def apriori_solutions(self):
        """({exposure path: Solution}, why none) of the a priori stage (pipeline.solutions)."""
        from snakedrizzle.pipeline.solutions import apriori_choice

        if not hasattr(self, "_apriori"):
            self._apriori = apriori_choice(self.align_files)
        return self._apriori

    @functools.cached_property
    def first_exposure_info(self):
        """Instrument, detector, EXPTIME, EXPSTART of the first aligned exposure (read once:
        every job's params ask for the detector)."""
        return _exposure_info(self.align_files[0])

    @property
    def align_files(self):
        return self.input.files(self.input.align_kind)

    @property
    def n_exposures(self):
        return len(self.input.members)

    # ---- AstroDrizzle products -------------------------------------------------------------

    def stage_name(self, stage):
        return f"{self.root}_{stage}"

    def final_name(self, kind):
        return f"{self.root}_{kind}"

    def _user_settings(self, param_names, defaults):
        """Top-level parameters the user changed: they win over the pipeline's set."""
        return {k: self.config[k] for k in param_names
                if k in self.config and k in defaults and self.config[k] != defaults[k] and k != "mdriztab"}

    def _products(self, param_names, defaults):
        if not self.stages:
            return {}
        info = self.first_exposure_info
        final = P.final_pars(info["instrument"], info["detector"], self.n_exposures,
                             mdriztab=self.config.get("mdriztab") or False, expstart=info["expstart"])
        final.update(self._user_settings(param_names, defaults))
        products = {}
        if self.n_exposures > 1:
            verify = P.verification_pars(final, [_exposure_info(p)["exptime"] for p in self.align_files])
            later = dict(P.later_stage_pars(verify), final_wcs=True,
                         final_refimage=self.stage_product("default"))
            for stage in self.stages:
                pars = verify if stage == "default" else later
                products[self.stage_name(stage)] = {"input": ",".join(self.align_files), **pars}
        for kind in self.input.kinds:
            products[self.final_name(kind)] = {"input": ",".join(self.input.files(kind)), **final}
        return products

    def stage_product(self, stage):
        kind = self.input.align_kind
        name = self.stage_name(stage)
        return os.path.join("results", name, f"{name}_{SUFFIX_OF_KIND[kind]}.fits")

    # ---- what the drizzle stages ask (workflow/dag.py) --------------------------------------

    def aligned_wcs(self, name, roots):
        """The headerlet each exposure of AstroDrizzle product ``name`` is drizzled with."""
        stage = next((s for s in self.stages if name == self.stage_name(s)), None)
        if stage is None and name in (self.final_name(k) for k in self.input.kinds):
            stage = "final"
        if stage is None:
            return []
        return [self.headerlet(stage, r) for r in roots]

    def crmask_products(self, name):
        """A priori / a posteriori verification drizzles read the default stage's CR masks."""
        if name in (self.stage_name(s) for s in self.stages[1:]):
            return (self.stage_name("default"),)
        return ()

    # ---- files of the pipeline rules --------------------------------------------------------

    def headerlet(self, stage, root):
        return pipeline_file(self.root, stage, f"{root}_hlet.fits")

    def roots(self):
        return [m.root for m in self.input.members]

    def exposure(self, root):
        for m in self.input.members:
            if m.root == root:
                return m.files[self.input.align_kind]
        raise InputError(root, f"is not an exposure of {self.input.source}")

    def verify_file(self, stage):
        return pipeline_file(self.root, stage, f"{self.root}_verify.json")

    def fit_files(self):
        return {"table": pipeline_file(self.root, "aposteriori", f"{self.root}_fit.ecsv"),
                "wcs": pipeline_file(self.root, "aposteriori", f"{self.root}_fit_wcs.ecsv")}

    def sources_file(self, root):
        return pipeline_file(self.root, "align", f"{root}_sources.ecsv")

    def refcat_files(self):
        """Every catalog of the list: the fit depends on all (cheap cached files)."""
        return [pipeline_file(self.root, "align", f"{self.root}_{n}_ref_cat.ecsv") for n, _ in self.refcats]

    def user_refcat(self, refname):
        """Catalog ``refname``'s local file; [] when it is asked of its service."""
        return [f for n, f in self.refcats if n == refname and f]

    def catalog_names(self):
        """The names in the order tried (one: a plain string, the fit's params as before lists)."""
        names = [n for n, _ in self.refcats]
        return names[0] if len(names) == 1 else names

    def cascade_file(self):
        return pipeline_file(self.root, f"{self.root}_cascade.json")

    def product_file(self, kind):
        return pipeline_file(self.root, f"{self.root}_{SUFFIX_OF_KIND[kind]}.fits")

    def trailer_file(self):
        return pipeline_file(self.root, f"{self.root}.tra")

    def public_headerlet(self, root):
        # H6.7 [quirk] kept: the pipeline names them _flt_hlet for FLC inputs too
        return pipeline_file(self.root, f"{root}_flt_hlet.fits")

    # ---- what the pipeline rules ask (wildcards: name = root, stage, root = exposure) --------

    def stage_wcsname(self, stage, root):
        """The carried WCS the default or a priori stage drizzles exposure ``root`` with."""
        from snakedrizzle.pipeline.solutions import default_solution

        path = self.exposure(root)
        if stage == "apriori":
            return self.apriori_solutions()[0][path].wcsname
        return default_solution(path).wcsname

    def detector(self):
        info = self.first_exposure_info
        return f"{info['instrument']}/{info['detector']}"

    def detector_key(self):
        return self.detector().lower().replace("/", "_")

    def align_pars(self):
        from snakedrizzle.hap.align.overrides import alignment_overrides
        from snakedrizzle.hap.align.pars import alignment_pars

        key = self.detector_key()
        return alignment_pars(key, alignment_overrides(self.config.get("align_pars"), key))

    def source_pars(self):
        from snakedrizzle.hap.align.pars import source_pars

        return source_pars(self.align_pars())

    def checked_stages(self):
        """Stages with a verification drizzle (one exposure: nothing to compare, H9)."""
        return list(self.stages) if self.n_exposures > 1 else []

    def verify_inputs(self, stage, fit_ok=True):
        """What a stage's check reads; a failed a posteriori fit is not drizzled at all (its
        check reads only the fit table and says why the stage failed)."""
        if stage == "aposteriori" and not fit_ok:
            return {"fit": self.fit_files()["table"]}
        name = self.stage_name(stage)
        found = {"product": self.stage_product(stage),
                 "singles": [os.path.join("results", name, f"{r}_single_sci.fits") for r in self.roots()]}
        if stage != "default":
            found["reference"] = self.stage_product("default")
        if stage == "aposteriori":
            found["fit"] = self.fit_files()["table"]
        return found

    def fit_inputs(self):
        start = "apriori" if "apriori" in self.stages else "default"
        found = {"exposures": self.align_files, "sources": [self.sources_file(r) for r in self.roots()],
                 "refcat": self.refcat_files(),
                 "start": [self.headerlet(s, r) for s in dict.fromkeys(("default", start)) for r in self.roots()]}
        if start == "apriori" and "apriori" in self.checked_stages():
            found["apriori_verdict"] = self.verify_file("apriori")
        return found

    def select_inputs(self):
        found = {"verdicts": [self.verify_file(s) for s in self.checked_stages()]}
        if "aposteriori" in self.stages:
            found["fit"] = self.fit_files()["table"]
        return found

    def stage_headerlets(self, root):
        return {s: self.headerlet(s, root) for s in self.stages}

    def final_product_inputs(self, kind):
        name = self.final_name(kind)
        return {"product": os.path.join("results", name, f"{name}_{SUFFIX_OF_KIND[kind]}.fits"),
                "cascade": self.cascade_file(), "headerlets": [self.headerlet("final", r) for r in self.roots()]}

    def kind_of_suffix(self, suffix):
        kinds = [k for k in self.input.kinds if SUFFIX_OF_KIND[k] == suffix]
        if not kinds:
            raise InputError(self.input.source, f"makes no _{suffix} product (inputs: {', '.join(self.input.kinds)})")
        return kinds[0]

    def log_dirs(self):
        return [os.path.join("logs", n) for n in [self.root, *self.products]]

    def targets(self):
        if not self.stages:
            return []
        found = [self.product_file(k) for k in self.input.kinds] + [self.trailer_file()]
        if self.config.get("pipeline_headerlets", True):
            found += [self.public_headerlet(r) for r in self.roots()]
        return found

    def finished(self):
        return [os.path.abspath(p) for p in self.targets() if os.path.exists(p)]
