"""What the catalog rules of ``rules/hap.smk`` ask of an SVM plan (SPEC-HAP H7).

Every filter product and every total product gets a point and a segment catalog in its visit
folder; detection runs once per total (``<total>_point-sources.ecsv``, ``<total>_segment-map.fits``,
intermediate files), the filter catalogs measure on their own image and the total catalogs join
the filter catalogs. Catalog parameters (H7.1 per detector, with the overrides of
``--config svm_catalog_pars=FILE``) reach only these rules."""
import os

import yaml

from snakedrizzle.errors import InputError
from snakedrizzle.hap import names
from snakedrizzle.hap.catalogs.params import catalog_pars

__all__ = ["SvmCatalogs", "load_catalog_overrides"]

KINDS = ("point", "segment")


def load_catalog_overrides(source):
    """Overrides as ``{None: {...}, "<inst>_<det>": {...}}`` from a YAML file or a mapping:
    top-level parameter values for every detector, or a mapping under a detector key."""
    if not source:
        return {}
    data = source
    if not isinstance(source, dict):
        try:
            with open(source, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(source, f"cannot read the catalog parameters ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(str(source), "catalog parameters must be a mapping of name: value")
    scoped = {None: {}}
    for key, value in data.items():
        if isinstance(value, dict):
            scoped[str(key).lower()] = dict(value)
        else:
            scoped[None][key] = value
    return scoped


class SvmCatalogs:
    """Catalog files and inputs of an SvmPlan's filter and total products."""

    def __init__(self, svm, config):
        self.svm = svm
        self.overrides = load_catalog_overrides(config.get("svm_catalog_pars") or {})

    def _totals(self):
        self.svm.ensure()
        return [(visit, total) for visit in self.svm.visits for total in visit.totals]

    def _total_of(self, name):
        for visit, total in self._totals():
            if name == total.name or name in [f.name for f in total.filters]:
                return visit, total
        raise InputError(name, f"is not a filter or total product of the poller {self.svm.poller}")

    def file(self, name, kind):
        visit, _ = self._total_of(name)
        return os.path.join(names.visit_folder(visit.ipppss), f"{name}_{kind}-cat.ecsv")

    def visit_catalogs(self, ipppss):
        return [self.file(p.name, kind) for visit, total in self._totals() if visit.ipppss == ipppss
                for p in [*total.filters, total] for kind in KINDS]

    def targets(self):
        return [self.file(p.name, kind) for _, total in self._totals()
                for p in [*total.filters, total] for kind in KINDS]

    def detection_file(self, name, kind):
        """``<total>_point-sources.ecsv`` or ``<total>_segment-map.fits`` of the product's total."""
        visit, total = self._total_of(name)
        suffix = "point-sources.ecsv" if kind == "point" else "segment-map.fits"
        return os.path.join(names.visit_folder(visit.ipppss), f"{total.name}_{suffix}")

    def pars(self, name):
        _, total = self._total_of(name)
        key = f"{total.instrument}_{names.detector_name(total.instrument, total.detector)}".lower()
        return catalog_pars(total.instrument, names.detector_name(total.instrument, total.detector),
                            {**self.overrides.get(None, {}), **self.overrides.get(key, {})})

    def level(self, name):
        _, total = self._total_of(name)
        return "total" if name == total.name else "filter"

    def inputs(self, name, kind):
        """Input files of the ``kind`` catalog of product ``name``."""
        _, total = self._total_of(name)
        found = {"detection": self.detection_file(name, kind), "total": self.svm.product(total.name).file}
        if name == total.name:
            found["filters"] = [self.file(f.name, kind) for f in total.filters]
        else:
            # flag 4 reads the DQ of the product's exposures on their aligned WCS: a changed
            # exposure or fit reruns the filter catalogs (the total catalog takes their flags)
            product = self.svm.product(name)
            found["product"] = product.file
            found["exposures"] = list(product.exposures)
            found["headerlets"] = [self.svm.align.headerlet_file(p) for p in product.exposures
                                   if p in self.svm.exposure_group]
        return found
