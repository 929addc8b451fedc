"""HAP names (SPEC-HAP H3.2, H3.4) and the folder layout of SVM results.

Every name is lower case. The parts:

- ``<prop>``: the proposal id as an integer string, not zero-padded (``9019``, ``11359``)
- ``<vv>``: the two-character obset id (``06``)
- ``<inst>``/``<det>``: ``acs``/``hrc``, ``wfc3``/``ir``, ``wfpc2``/``pc`` (WFPC2 is always ``pc``)
- ``<filter>``: the normalised filter (:func:`filter_name`), or ``total`` for a total product
- ``<ipppssoo>``: first 8 characters of an exposure's rootname (exposure products)
- ``<ipppss>``: first 6 characters of the rootname of a product's first member

Layout proposed for the workflow: every product of a visit in ``results/svm/<ipppss>/`` where
``<ipppss>`` is the visit's (its first exposure after HAP's ordering), beside the manifest.
"""
import re

from snakedrizzle.errors import InputError

__all__ = [
    "INSTRUMENT_OF_LETTER", "SUPPORTED_INSTRUMENTS", "instrument_of", "detector_name",
    "filter_name", "is_grism_or_prism", "is_ramp_or_quad", "drizzle_suffix", "hap_basename",
    "drizzle_filename", "input_copy_filename", "headerlet_filename", "trailer_filename",
    "catalog_filenames", "manifest_filename", "visit_folder", "SVM_ROOT",
]

# First letter of an HST rootname -> instrument (HAP maps these; only three are processed).
INSTRUMENT_OF_LETTER = {"i": "wfc3", "j": "acs", "u": "wfpc2", "o": "stis", "x": "foc", "w": "wfpc"}
SUPPORTED_INSTRUMENTS = ("wfc3", "acs", "wfpc2")

# Where the workflow puts SVM products: one folder per visit below this.
SVM_ROOT = "results/svm"

_ROOTNAME_RE = re.compile(r"^[a-z][a-z0-9]{7,8}$")


def instrument_of(rootname, source=None):
    """Lower-case instrument of an HST rootname, from its first letter (``j8bt06nyq`` -> ``acs``).

    An unknown letter or an instrument HAP does not process is an InputError naming `source`
    (the poller line or file) when given, else the rootname."""
    root = rootname.lower()
    where = source or rootname
    if not _ROOTNAME_RE.match(root):
        raise InputError(where, f"{rootname!r} is not an HST rootname (ipppssoot: a letter and "
                                "8 letters or digits)")
    instrument = INSTRUMENT_OF_LETTER.get(root[0])
    if instrument is None:
        raise InputError(where, f"rootname {rootname!r} starts with {root[0]!r}, which names no "
                                "HST instrument (i=WFC3, j=ACS, u=WFPC2)")
    if instrument not in SUPPORTED_INSTRUMENTS:
        raise InputError(where, f"rootname {rootname!r} is {instrument.upper()} data; HAP "
                                "products exist only for WFC3, ACS and WFPC2")
    return instrument


def detector_name(instrument, detector):
    """Lower-case detector as HAP names it; WFPC2 is always ``pc`` whatever the header says."""
    return "pc" if instrument.lower() == "wfpc2" else detector.strip().lower()


def filter_name(raw):
    """HAP's filter name of a raw filter string (``;`` between the wheels).

    Lower case; only the first two wheels count (ACS/SBC headers carry a bogus third); wheels
    holding a clear element or ``n/a`` drop out; nothing left is ``clear``; a polarizer goes
    second; the rest joined with ``-``: ``F606W;POL60V`` -> ``f606w-pol60v``,
    ``CLEAR1L;F814W`` -> ``f814w``, ``F140LP;N/A;F140LP`` -> ``f140lp``."""
    wheels = [w.strip() for w in raw.lower().split(";")[:2]]
    kept = [w for w in wheels if w and "clear" not in w and "n/a" not in w]
    if not kept:
        return "clear"
    if kept[0].startswith("pol"):
        kept.reverse()
    return "-".join(kept).rstrip("-")


def is_grism_or_prism(filter_):
    """HAP's tree test on a normalised filter: a ``g`` or ``pr`` anywhere (G102, G800L, PR200L)."""
    return "g" in filter_ or "pr" in filter_


def is_ramp_or_quad(filter_):
    """Ramp (``fr…``) and quad (``fq…``) filters: aligned with the visit, never drizzled."""
    return filter_.startswith(("fr", "fq"))


def drizzle_suffix(filetype):
    """``drc`` for CTE-corrected FLC inputs, ``drz`` for FLT."""
    kind = filetype.lower()
    if kind not in ("flc", "flt"):
        raise ValueError(f"filetype must be 'flc' or 'flt', not {filetype!r}")
    return "drc" if kind == "flc" else "drz"


def hap_basename(proposal_id, obset_id, instrument, detector, filter_, ident):
    """``hst_<prop>_<vv>_<inst>_<det>_<filter|total>_<ident>``, lower case.

    `ident` is an exposure's ipppssoo (exposure products, input copies, headerlets) or the
    ipppss of a product's first member (filter and total products)."""
    parts = ["hst", str(int(proposal_id)), obset_id, instrument,
             detector_name(instrument, detector), filter_, ident]
    return "_".join(parts).lower()


def drizzle_filename(basename, filetype):
    """The drizzled product of a basename: ``<basename>_drc.fits`` (FLC) or ``_drz.fits``."""
    return f"{basename}_{drizzle_suffix(filetype)}.fits"


def input_copy_filename(basename, filetype):
    """HAP's renamed copy of an input exposure (HAPLEVEL 1): ``<basename>_fl[ct].fits``."""
    return f"{basename}_{filetype.lower()}.fits"


def headerlet_filename(basename):
    """Alignment headerlet of an exposure product."""
    return f"{basename}_hlet.fits"


def trailer_filename(basename):
    """Processing log of a product, as HAP names it."""
    return f"{basename}_trl.txt"


def catalog_filenames(basename):
    """``(point, segment)`` catalog names of a filter or total product."""
    return f"{basename}_point-cat.ecsv", f"{basename}_segment-cat.ecsv"


def manifest_filename(instrument, rootname, obset_id):
    """``<inst>_<ppp>_<vv>_manifest.txt``: ppp is the rootname's program part (characters 2-4)."""
    return f"{instrument}_{rootname[1:4]}_{obset_id}_manifest.txt".lower()


def visit_folder(ipppss, root=SVM_ROOT):
    """Folder of one visit's products: ``results/svm/<ipppss>``."""
    return f"{root}/{ipppss.lower()}"
