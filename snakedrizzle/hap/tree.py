"""The SVM product tree of a visit (SPEC-HAP H3.3): which products exist, with which exposures.

Per instrument/detector a :class:`TotalProduct` (the detection image of all filters), per
filter a :class:`FilterProduct`, per exposure an :class:`ExposureProduct`. HAP's order decides
names: exposures sorted by EXPTIME (ascending), ties by PHOTFLAM (descending), ties left in
poller order; detectors and filters in the order of their first exposure; a filter or total
product is named after the rootname of its first member.

Per filter, if any input is an FLC only the FLCs are members (product ``drc``), else the FLTs
(``drz``). Grism/prism exposures join no filter product: they stay with the total of their
detector so that their WCS can follow the direct images (H6.8), but are never drizzled; a
detector with only grism/prism exposures has no products. Ramp/quad filters (``fr…``, ``fq…``)
are aligned with the visit but get no drizzled product (H3.3.7). The total drizzles every
direct exposure except those of single-exposure filters when another filter has more (H3.3,
HAP's guard against cosmic rays of unrejected singles reaching the detection image).

A DAG asks a :class:`Visit`: :meth:`Visit.products` (HAP's build order), :meth:`Visit.product`,
:meth:`Visit.exposures_of` and :meth:`Visit.needs` (product name -> input paths).
"""
import logging
import os
from dataclasses import dataclass, field

from snakedrizzle.errors import InputError
from snakedrizzle.hap import names
from snakedrizzle.hap.exclusions import DIRECT, GRISM, screen_exposures
from snakedrizzle.hap.poller import read_poller

__all__ = ["ExposureProduct", "FilterProduct", "TotalProduct", "Visit", "hap_order",
           "build_visit", "build_visits", "split_by_obset", "visits_of_poller", "RAMP"]

log = logging.getLogger(__name__)

RAMP = "ramp"        # role of a ramp/quad exposure: aligned, not drizzled


@dataclass
class ExposureProduct:
    """One exposure drizzled alone on the visit grid (HAPLEVEL 1); grism and ramp exposures
    carry the same names (for their input copies and trailers) but are not drizzled."""

    name: str                 # hst_<prop>_<vv>_<inst>_<det>_<filter>_<ipppssoo>
    row: object               # its PollerRow
    instrument: str
    detector: str
    filter: str
    suffix: str               # drc | drz
    role: str = DIRECT        # DIRECT, GRISM or RAMP
    is_singleton: bool = False    # the only member of its filter
    crclean: bool = False         # single-image CR flagging wanted (CCD singletons)
    level: int = 1
    kind: str = "exposure"

    @property
    def path(self):
        return self.row.path

    @property
    def exposures(self):
        return [self.row.path]

    @property
    def drizzled(self):
        return self.role == DIRECT

    @property
    def filename(self):
        return f"{self.name}_{self.suffix}.fits"

    @property
    def input_copy_filename(self):
        return names.input_copy_filename(self.name, self.row.filetype)

    @property
    def headerlet_filename(self):
        return names.headerlet_filename(self.name)


class _CatalogedProduct:
    """What filter and total products share: a drizzle file and two catalogs named after them."""

    @property
    def filename(self):
        return f"{self.name}_{self.suffix}.fits"

    @property
    def catalog_filenames(self):
        return names.catalog_filenames(self.name)


@dataclass
class FilterProduct(_CatalogedProduct):
    """All exposures of one filter of a detector, with CR rejection (HAPLEVEL 2)."""

    name: str                 # hst_<prop>_<vv>_<inst>_<det>_<filter>_<ipppss>
    instrument: str
    detector: str
    filter: str
    suffix: str
    members: list = field(default_factory=list)   # ExposureProducts
    level: int = 2
    kind: str = "filter"

    @property
    def exposures(self):
        return [m.path for m in self.members]

    @property
    def n_for_parameters(self):
        """The exposure count HAP selects the filter's parameter set by (n1, n2-5, ...)."""
        return len(self.members)


@dataclass
class TotalProduct(_CatalogedProduct):
    """All filters of one instrument/detector: the detection image (HAPLEVEL 2, no CR step)."""

    name: str                 # hst_<prop>_<vv>_<inst>_<det>_total_<ipppss>
    instrument: str
    detector: str
    suffix: str
    filters: list = field(default_factory=list)   # FilterProducts, HAP order
    grism: list = field(default_factory=list)     # ExposureProducts kept for the WCS only
    ramp: list = field(default_factory=list)      # ExposureProducts aligned, not drizzled
    level: int = 2
    kind: str = "total"
    filter: str = "total"

    @property
    def members(self):
        """Every direct exposure of the detector (what HAP counts for its parameter set)."""
        return [m for f in self.filters for m in f.members]

    @property
    def n_for_parameters(self):
        """The exposure count HAP selects the total's parameter set by: every direct and ramp
        exposure of the detector, single-exposure filters included (SPEC-HAP H13)."""
        return len(self.members) + len(self.ramp)

    @property
    def drizzle_members(self):
        """The exposures the total drizzles: single-exposure filters are left out when some
        filter of the detector has more than one exposure; if none has, all are used."""
        multi = [m for f in self.filters if len(f.members) > 1 for m in f.members]
        return multi or self.members

    @property
    def left_out_filters(self):
        """Filters whose single exposure the total does not drizzle."""
        used = {m.filter for m in self.drizzle_members}
        return [f.filter for f in self.filters if f.filter not in used]

    @property
    def exposures(self):
        return [m.path for m in self.drizzle_members]

    @property
    def alignment_exposures(self):
        """Exposures aligned together as one visit fit (direct and ramp, in HAP order)."""
        return sorted(self.members + self.ramp, key=lambda e: _order_key(e.row))


@dataclass
class Visit:
    """One SVM run: its totals (one per instrument/detector) and every decision on its inputs."""

    ipppss: str               # of the first exposure in HAP order; names the folder
    manifest: str             # <inst>_<ppp>_<vv>_manifest.txt
    totals: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)   # exclusions.Verdict of every poller row
    dropped: list = field(default_factory=list)    # (PollerRow, reason) dropped by the tree

    @property
    def folder(self):
        """Where the visit's products go: ``results/svm/<ipppss>``."""
        return names.visit_folder(self.ipppss)

    def products(self):
        """Every drizzled product in HAP's build order: per detector each filter product then
        its exposure products, then the total."""
        found = []
        for total in self.totals:
            for filt in total.filters:
                found.append(filt)
                found.extend(filt.members)
            found.append(total)
        return found

    def product_names(self):
        return [p.name for p in self.products()]

    def product(self, name):
        """The product of a basename or file name (``…_drc.fits`` accepted)."""
        for p in self.products():
            if name in (p.name, p.filename):
                return p
        raise KeyError(f"no product {name!r} in visit {self.ipppss}")

    def exposures_of(self, name):
        """Input paths a product drizzles."""
        return list(self.product(name).exposures)

    def needs(self):
        """``{product name: [input paths]}`` of every drizzled product."""
        return {p.name: list(p.exposures) for p in self.products()}

    def products_of_exposure(self, path):
        """Names of the products that drizzle the exposure at `path`."""
        return [p.name for p in self.products() if path in p.exposures]

    def exposure_products(self):
        return [p for p in self.products() if p.kind == "exposure"]

    def filter_products(self):
        return [p for p in self.products() if p.kind == "filter"]


def hap_order(rows):
    """Rows sorted as HAP sorts a poller: EXPTIME up, then PHOTFLAM down, else poller order."""
    return sorted(rows, key=_order_key)


def _order_key(row):
    return (row.exptime, -row.photflam)


def visits_of_poller(spec, base=".", by_obset=False, verify_guiding=False, check_data=True):
    """Read a poller (file, glob or list) and build its visit tree(s).

    HAP treats one poller as one visit whatever obset ids its rows carry; ``by_obset=True``
    makes one visit per (proposal, obset) instead."""
    rows = read_poller(spec, base)
    where = "poller list" if isinstance(spec, (list, tuple)) else os.fspath(spec)
    return build_visits(rows, by_obset, where, verify_guiding=verify_guiding,
                        check_data=check_data)


def build_visits(rows, by_obset=False, source="poller", **screening):
    """Visit trees of poller rows: one (HAP) or one per (proposal, obset) with ``by_obset``."""
    groups = split_by_obset(rows) if by_obset else [list(rows)]
    return [build_visit(group, source, **screening) for group in groups]


def split_by_obset(rows):
    """Rows grouped by (proposal id, obset id), groups in order of their first row."""
    groups = {}
    for row in rows:
        groups.setdefault((row.proposal_id, row.obset_id), []).append(row)
    return list(groups.values())


def build_visit(rows, source="poller", verify_guiding=False, check_data=True):
    """The product tree of one visit's poller rows (exclusions applied and logged).

    No usable direct exposure at all is an InputError naming `source` with every reason."""
    verdicts = screen_exposures(rows, "svm", verify_guiding, check_data)
    kept = hap_order([v.row for v in verdicts if v.use in (DIRECT, GRISM)])
    roles = {v.row.rootname: v.use for v in verdicts}
    members, dropped = _common_filetype_members(kept)
    totals = []
    for (instrument, detector), det_rows in _group(members, lambda r: (r.instrument,
                                                                        r.detector_name)):
        total = _build_total(instrument, detector, det_rows, roles)
        if total.filters:
            totals.append(total)
            continue
        reason = (f"no direct exposure of {instrument.upper()}/{detector.upper()} in the "
                  "visit to reconcile its WCS with")
        for e in total.grism + total.ramp:
            log.warning("%s not processed: %s", e.path, reason)
            dropped.append((e.row, reason))
    if not totals:
        why = "; ".join(f"{v.row.rootname}: {v.reason}" for v in verdicts if v.reason)
        why += "".join(f"; {row.rootname}: {reason}" for row, reason in dropped)
        raise InputError(source, f"no usable direct exposure in the visit ({why or 'none listed'})")
    first = members[0]
    return Visit(ipppss=first.rootname[:6],
                 manifest=names.manifest_filename(first.instrument, first.rootname,
                                                  first.obset_id),
                 totals=totals, verdicts=verdicts, dropped=dropped)


def _common_filetype_members(rows):
    """HAP's choice per detector and filter: the FLCs if there are any, else the FLTs. Returns
    (member rows in order, [(dropped row, reason)]) and logs each dropped row."""
    flc_groups = {key for key, group in _group(rows, _filter_key)
                  if any(r.filetype == "flc" for r in group)}
    members, dropped = [], []
    for row in rows:
        if _filter_key(row) in flc_groups and row.filetype != "flc":
            reason = (f"filter {row.filter} of {row.detector_name} has FLC inputs; "
                      "an FLT joins no product")
            log.warning("%s not used: %s", row.path, reason)
            dropped.append((row, reason))
        else:
            members.append(row)
    return members, dropped


def _filter_key(row):
    return row.instrument, row.detector_name, row.filter


def _build_total(instrument, detector, rows, roles):
    """The TotalProduct of one detector's member rows (in HAP order)."""
    first = rows[0]
    suffix_of = {f: names.drizzle_suffix(group[0].filetype)
                 for f, group in _group(rows, lambda r: r.filter)}
    total = TotalProduct(
        name=names.hap_basename(first.proposal_id, first.obset_id, instrument, detector,
                                "total", first.rootname[:6]),
        instrument=instrument, detector=detector, suffix=suffix_of[first.filter])
    is_ccd = (instrument, detector) != ("wfc3", "ir")
    for filter_, group in _group(rows, lambda r: r.filter):
        exposures = [_exposure(r, suffix_of[filter_], roles) for r in group]
        if exposures[0].role == GRISM:
            total.grism.extend(exposures)
        elif exposures[0].role == RAMP:
            total.ramp.extend(exposures)
        else:
            for e in exposures:
                e.is_singleton = len(exposures) == 1
                e.crclean = e.is_singleton and is_ccd
            total.filters.append(FilterProduct(
                name=names.hap_basename(group[0].proposal_id, group[0].obset_id, instrument,
                                        detector, filter_, group[0].rootname[:6]),
                instrument=instrument, detector=detector, filter=filter_,
                suffix=suffix_of[filter_], members=exposures))
    return total


def _exposure(row, suffix, roles):
    filter_ = row.filter
    if roles[row.rootname] == GRISM or names.is_grism_or_prism(filter_):
        role = GRISM
    elif names.is_ramp_or_quad(filter_):
        role = RAMP
    else:
        role = DIRECT
    return ExposureProduct(
        name=names.hap_basename(row.proposal_id, row.obset_id, row.instrument,
                                row.detector_name, filter_, row.rootname[:8]),
        row=row, instrument=row.instrument, detector=row.detector_name, filter=filter_,
        suffix=suffix, role=role)


def _group(items, key):
    """``[(key, [items])]`` in order of each key's first item."""
    groups = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.items())
