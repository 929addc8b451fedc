"""The SVM products of a run as AstroDrizzle products (DESIGN "Layers above AstroDrizzle").

A HAP level is not a second pipeline: every exposure, filter and total product of the visit tree
(:mod:`snakedrizzle.hap.tree`) becomes one AstroDrizzle product that the existing stage rules
build under ``results/<name>/``, where ``<name>`` is the product's HAP basename (unique within a
run: it carries proposal, obset, instrument, detector, filter and rootname). Its parameters are
HAP's set for its level, detector and exposure count (:mod:`snakedrizzle.hap.parsets`, with the
user's ``svm_pars`` overrides), put on the visit's meta-WCS of its detector: ``final_wcs=True``,
``final_refimage=results/svm/<ipppss>/<inst>_<det>_metawcs.fits`` and every other ``final_*``
frame value cleared, so all products of a detector share exactly that grid.

HAP's own additions are rules of their own (``rules/hap.smk``): the meta-WCS file, the HAP
product (the AstroDrizzle product with the H8 keywords) in ``results/svm/<ipppss>/`` and the
manifest. CR masks: a total product has no CR step; its final drizzle reads the CR masks of the
filter products it contains (HAP: the filter step's DQ 4096 flags, which the total's final_bits
exclude). Exposure products use none: HAP's ``final_bits`` of 65535 keeps flagged CR pixels.

``poller='demo'`` is the synthetic demo's exposures (``results/demo/inputs``, made by the demo
checkpoint) as a visit; its products are known once the checkpoint has run.
"""
import glob
import logging
import os
from dataclasses import dataclass

from snakedrizzle.errors import InputError
from snakedrizzle.hap import names, parsets
from snakedrizzle.hap.align.refcat import catalog_list
from snakedrizzle.hap.tree import visits_of_poller
from snakedrizzle.hap.catalogs.plan import SvmCatalogs

__all__ = ["SvmPlan", "SvmProduct", "svm_products", "DEMO_POLLER", "FRAME_KEYS"]

log = logging.getLogger("snakedrizzle")

DEMO_POLLER = "demo"
DEMO_EXPOSURES = os.path.join("results", "demo", "inputs")
# The final_* values that would move a product off the meta-WCS it gets as final_refimage.
FRAME_KEYS = ("final_rot", "final_scale", "final_outnx", "final_outny", "final_ra", "final_dec",
              "final_crpix1", "final_crpix2")


@dataclass
class SvmProduct:
    """One HAP product and the AstroDrizzle product that makes its pixels."""

    name: str            # HAP basename = AstroDrizzle product name
    level: str           # exposure, filter, total
    suffix: str          # drc | drz
    ipppss: str          # its visit
    detector_key: str    # <inst>_<det>
    exposures: list      # absolute paths it drizzles
    crmasks_from: tuple = ()  # AstroDrizzle products whose CR masks its final drizzle reads

    @property
    def drizzle_file(self):
        """The AstroDrizzle product (stage rules)."""
        return os.path.join("results", self.name, f"{self.name}_{self.suffix}.fits")

    @property
    def file(self):
        """The HAP product: ``results/svm/<ipppss>/<name>_<suffix>.fits``."""
        return os.path.join(names.visit_folder(self.ipppss), f"{self.name}_{self.suffix}.fits")

    @property
    def trailer(self):
        """Its processing log beside it, ``<name>_trl.txt`` (its DRIZPARS; hap/trailer.py)."""
        return os.path.join(names.visit_folder(self.ipppss), names.trailer_filename(self.name))

    @property
    def product_log(self):
        """The log of its svm_product job (rules/hap.smk), which its trailer ends with."""
        return os.path.join("logs", self.ipppss.lower(), "svm_product", f"{self.name}_{self.suffix}.log")


def metawcs_file(ipppss, detector_key):
    return os.path.join(names.visit_folder(ipppss), f"{detector_key}_metawcs.fits")


def _absolute(path):
    return os.path.abspath(os.path.expanduser(path))


class SvmPlan:
    """The SVM side of a run's plan. ``products`` ({name: {"input": ..., **parameters}}) is the
    dict the AstroDrizzle plan builds from; for the demo poller it is filled once the demo's
    exposures exist (``ensure``)."""

    def __init__(self, config, demo_inputs=None):
        self.poller = str(config["poller"]).strip()
        self.by_obset = bool(config.get("svm_by_obset", False))
        self.overrides = parsets.parse_overrides(config["svm_pars"]) if config.get("svm_pars") else {}
        self._demo_inputs = demo_inputs
        self.products = {}
        self.svm = {}          # name -> SvmProduct
        self.visits = []
        self.metawcs = {}      # metawcs file -> (exposures, {final_rot, final_scale})
        self.exposure_names = {}  # exposure path -> its exposure product's name (HDRTAB HAPEXPNAME)
        self.parset_names = {}    # product name -> the HAP parameter set it was given
        # SVM alignment (snakedrizzle.hap.align): one fit per visit and detector, to the first
        # catalog of the list that gives a good one ([(name, file or '' for its service)])
        self.refcats = catalog_list(config.get("refcat"), config.get("refcat_name"))
        self.refcat_name = self.refcats[0][0]
        self.align_pars = config.get("align_pars") or ""  # the user's alignment overrides
        if self.align_pars:
            from snakedrizzle.hap.align.overrides import alignment_overrides

            alignment_overrides(self.align_pars, "acs_wfc")  # every entry is checked before any job
        self.align_groups = {}    # (ipppss, detector key) -> direct exposures fitted together
        self.exposure_group = {}  # exposure path -> (ipppss, detector key)
        self.grism_group = {}     # grism/prism exposure path -> (ipppss, detector key): WCS only
        self.align = SvmAlignment(self)
        self.catalogs = SvmCatalogs(self, config)  # point and segment catalogs (SPEC-HAP H7)
        if not self.is_demo or glob.glob(os.path.join(DEMO_EXPOSURES, "*_fl[tc].fits")):
            self._build()

    @property
    def is_demo(self):
        return self.poller.lower() == DEMO_POLLER

    def ensure(self):
        """Build the products if not yet done; for the demo, first ask for its checkpoint (which
        raises Snakemake's "not yet" until the exposures exist)."""
        if self.is_demo and self._demo_inputs is not None:
            self._demo_inputs(DEMO_POLLER)
        if not self.svm:
            self._build()

    def _spec(self):
        if self.is_demo:
            return os.path.join(DEMO_EXPOSURES, "*_fl[tc].fits")
        return self.poller

    def _build(self):
        self.visits = visits_of_poller(self._spec(), by_obset=self.by_obset)
        for visit in self.visits:
            for verdict in visit.verdicts:
                if verdict.reason:
                    log.info("%s not used: %s", verdict.row.path, verdict.reason)
            for total in visit.totals:
                self._add_detector(visit, total)

    def _add_detector(self, visit, total):
        key = f"{total.instrument}_{total.detector}"
        frame_file = metawcs_file(visit.ipppss, key)
        total_pars = self._pars(total, "total", total.n_for_parameters)
        self.metawcs[frame_file] = ([_absolute(m.path) for m in total.members],
                                    {"rot": total_pars["final_rot"], "scale": total_pars["final_scale"]})
        self.align_groups[(visit.ipppss, key)] = self.metawcs[frame_file][0]
        for path in self.metawcs[frame_file][0]:
            self.exposure_group[path] = (visit.ipppss, key)
        for exposure in total.grism:  # they take the visit fit of the direct exposures (H6.8)
            self.grism_group[_absolute(exposure.path)] = (visit.ipppss, key)
        cr_filters = []
        for filt in total.filters:
            pars = self._pars(filt, "filter", len(filt.members))
            self._add(visit, filt, "filter", pars, frame_file)
            if pars["driz_cr"] and len(filt.members) >= 2:
                cr_filters.append(filt)
            for exposure in filt.members:
                self._add(visit, exposure, "exposure", self._pars(exposure, "exposure", len(filt.members)),
                          frame_file)
        used = {m.filter for m in total.drizzle_members}
        for name in total.left_out_filters:
            log.info("%s: filter %s has one exposure and is left out of the total product (HAP)",
                     total.name, name)
        crmasks_from = tuple(f.name for f in cr_filters if f.filter in used)
        self._add(visit, total, "total", total_pars, frame_file, crmasks_from)

    def _pars(self, product, level, n):
        first = product.row if level == "exposure" else product.members[0].row
        self.parset_names[product.name] = parsets.select_set(
            product.instrument, product.detector, level, n, "svm", filter_name=product.filter,
            expstart=first.expstart)
        return parsets.astrodrizzle_pars(product.instrument, product.detector, level, n, "svm",
                                         self.overrides or None, filter_name=product.filter,
                                         expstart=first.expstart)

    def _add(self, visit, product, level, pars, frame_file, crmasks_from=()):
        exposures = [_absolute(p) for p in product.exposures]
        if level == "exposure":
            self.exposure_names[exposures[0]] = product.name
        pars = dict(pars, final_wcs=True, final_refimage=frame_file, **dict.fromkeys(FRAME_KEYS))
        if crmasks_from:
            # its CR masks come from the filter products; its own driz_cr stays off (HAP)
            pars["driz_cr"] = False
        self.products[product.name] = {"input": ",".join(exposures), **pars}
        self.svm[product.name] = SvmProduct(product.name, level, product.suffix, visit.ipppss,
                                            f"{product.instrument}_{product.detector}", exposures,
                                            crmasks_from)

    # ---- what the HAP rules ask ------------------------------------------------------------------

    def product(self, name):
        self.ensure()
        if name not in self.svm:
            raise InputError(name, "is not an SVM product of the poller "
                             f"{self.poller} (known: {', '.join(self.svm)})")
        return self.svm[name]

    def _metawcs(self, wc):  # wc.name: the visit (ipppss)
        self.ensure()
        key = metawcs_file(wc.name, wc.detkey)
        if key not in self.metawcs:
            raise InputError(key, f"no detector {wc.detkey} in visit {wc.name} of the poller {self.poller}")
        return self.metawcs[key]

    def metawcs_inputs(self, wc):
        """Every direct exposure of the detector in the visit (all filters: SPEC-HAP H4)."""
        return self._metawcs(wc)[0]

    def metawcs_pars(self, wc):
        """The total product's final_rot and final_scale, which HAP builds the grid with."""
        return dict(self._metawcs(wc)[1])

    def visit(self, ipppss):
        self.ensure()
        for visit in self.visits:
            if visit.ipppss == ipppss:
                return visit
        raise InputError(ipppss, f"is not a visit of the poller {self.poller}")

    def visit_products(self, ipppss):
        """The HAP products of a visit in HAP's manifest order."""
        return [self.svm[p.name] for p in self.visit(ipppss).products()]

    def hapexpnames(self, name):
        """{ipppssoo: exposure product name} of the product's exposures (HAP's HAPEXPNAME)."""
        return {self.exposure_names[p].rsplit("_", 1)[1]: self.exposure_names[p]
                for p in self.product(name).exposures}

    def manifest_products(self, ipppss):
        """The visit's drizzled products, each followed by its trailer, in HAP's manifest order.
        HAP also lists each exposure's renamed input copy after its product; inputs are never
        copied here, so there are none to list."""
        return [f for p in self.visit_products(ipppss) for f in (p.file, p.trailer)]

    def trailer_summary(self, name, pars):
        """What the product's trailer opens with (hap/trailer.py): level, HAP parameter set, sky
        method, the exposures with their exposure products' names."""
        product = self.product(name)
        # the set's name only (svm_pars overrides of other levels must not rerun this trailer)
        return {"HAP level": product.level,
                "parameter set": f"{product.detector_key} svm {product.level} "
                                 f"{self.parset_names.get(name, '?')!r}",
                "sky": self.sky_method(pars), "AstroDrizzle product": product.drizzle_file,
                "exposures": [f"{p} ({self.exposure_names.get(p, 'no exposure product')})"
                              for p in product.exposures]}

    def manifest_file(self, visit):
        return os.path.join(visit.folder, visit.manifest)

    def targets(self):
        """Every HAP product and each visit's manifest (the visit fits are made on the way: every
        product reads their headerlets)."""
        self.ensure()
        found = [p.file for p in self.svm.values()]
        grism = [self.align.headerlet_file(p) for p in self.grism_group]
        return found + grism + self.catalogs.targets() + [self.manifest_file(v) for v in self.visits]

    def finished(self):
        return [os.path.abspath(p) for p in self.targets() if os.path.exists(p)]

    @staticmethod
    def sky_method(pars):
        """Which sky method made a product, for its log (HAP's SVM sets ask for 'match')."""
        if not pars["skysub"]:
            return "none (skysub off in this HAP set)"
        return f"skymethod={pars['skymethod']} (the sky stages' logs say what each exposure got)"

    def aligned_wcs(self, name, roots):
        """Every SVM product is drizzled on its visit fit's headerlets."""
        return self.align.aligned_wcs(name, roots)

    def crmask_products(self, name):
        """AstroDrizzle products whose CR masks ``name``'s final drizzle reads (total products)."""
        product = self.svm.get(name)
        return product.crmasks_from if product else ()


def svm_products(config, demo_inputs=None):
    """{AstroDrizzle name: {"input": comma list of exposure paths, **parameters}} of the SVM
    products of ``config["poller"]``."""
    plan = SvmPlan(config, demo_inputs)
    plan.ensure()
    return plan.products


# ---- SVM alignment (snakedrizzle.hap.align; rules/hap.smk) ------------------------------------------

def align_file(ipppss, filename):
    """A file of the visit's alignment: ``results/svm/<ipppss>/align/<filename>``."""
    return os.path.join(names.visit_folder(ipppss), "align", filename)


class _Detkey:
    def __init__(self, detkey):
        self.detkey = detkey


def _root(path):
    from snakedrizzle.io.exposure import rootname_of

    return rootname_of(path)[0]


class SvmAlignment:
    """What the alignment rules ask of an :class:`SvmPlan` (wildcards: ``name`` = the visit's
    ipppss, ``detkey``, ``root``)."""

    def __init__(self, svm):
        self.svm = svm

    def headerlet_file(self, path):
        ipppss, _ = self.svm.exposure_group.get(path) or self.svm.grism_group[path]
        return align_file(ipppss, f"{_root(path)}_hlet.fits")

    def aligned_wcs(self, name, roots):
        """The visit fit's headerlet of each of the product's exposures (every SVM product is
        drizzled on the aligned WCS)."""
        product = self.svm.svm.get(name)
        if product is None:
            return []
        by_root = {_root(p): p for p in product.exposures if p in self.svm.exposure_group}
        return [self.headerlet_file(by_root[r]) for r in roots if r in by_root]

    def metawcs_headerlets(self, wc):
        return [self.headerlet_file(p) for p in self.svm.metawcs_inputs(wc)]

    def group(self, wc):
        self.svm.ensure()
        key = (wc.name, wc.detkey)
        if key not in self.svm.align_groups:
            raise InputError(wc.detkey, f"no detector {wc.detkey} in visit {wc.name} of the poller {self.svm.poller}")
        return self.svm.align_groups[key]

    def exposure(self, wc):
        """The exposure ``wc.root`` of visit ``wc.name``."""
        self.svm.ensure()
        for path, (ipppss, _) in [*self.svm.exposure_group.items(), *self.svm.grism_group.items()]:
            if ipppss == wc.name and _root(path) == wc.root:
                return path
        raise InputError(wc.root, f"is not an exposure of visit {wc.name}")

    def sources(self, wc):
        return [align_file(wc.name, f"{_root(p)}_sources.ecsv") for p in self.group(wc)]

    def refcat_file(self, ipppss, name):
        return align_file(ipppss, f"{ipppss}_{name}_ref_cat.ecsv")

    def refcat_of(self, wc):
        """Every catalog of the list (cheap cached files: the DAG stays static)."""
        return [self.refcat_file(wc.name, name) for name, _ in self.svm.refcats]

    def catalog_names(self):  # one name: a plain string, as before lists existed (no rerun)
        names = [name for name, _ in self.svm.refcats]
        return names[0] if len(names) == 1 else names

    def visit_exposures(self, wc):
        self.svm.ensure()
        return [p for p, (v, _) in self.svm.exposure_group.items() if v == wc.name]

    def user_refcat(self, wc):  # catalog wc.refname's local file; [] when asked of its service
        files = dict(self.svm.refcats)
        return [files[wc.refname]] if files.get(wc.refname) else []

    def detector_of(self, wc):
        path = self.exposure(wc)
        return (self.svm.exposure_group.get(path) or self.svm.grism_group[path])[1]

    def fit_files(self, wc):
        """What an exposure's headerlet reads: the detector's fit; a grism exposure also the
        direct exposures, whose fit it takes."""
        key = self.detector_of(wc)
        files = {"exposure": self.exposure(wc), "table": align_file(wc.name, f"{key}_fit.ecsv"),
                 "wcs": align_file(wc.name, f"{key}_fit_wcs.ecsv")}
        if files["exposure"] in self.svm.grism_group:
            files["direct"] = self.svm.align_groups[(wc.name, key)]
        return files

    def pars(self, wc):
        """The detector's alignment parameters with the user's align_pars overrides."""
        from snakedrizzle.hap.align.overrides import alignment_overrides
        from snakedrizzle.hap.align.pars import alignment_pars

        return alignment_pars(wc.detkey, alignment_overrides(self.svm.align_pars, wc.detkey))

    def source_pars(self, wc):
        from snakedrizzle.hap.align.pars import source_pars

        return source_pars(self.pars(_Detkey(self.detector_of(wc))))
