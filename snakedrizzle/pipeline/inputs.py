"""What ``runastrodriz`` drizzles: an association or one exposure, its FLT and FLC files, and
which exposures the pipeline leaves out (SPEC-HAP H9 steps 1, 2 and 4).

- The product root is the input's name up to ``_asn``/``_raw`` or its last ``_``, lower case
  (``j8bt06040_asn.fits`` -> ``j8bt06040``, ``j8bt06nyq_flt.fits`` -> ``j8bt06nyq``).
- Each member has an FLT and/or an FLC beside the association (or beside the exposure given);
  the pipeline makes a ``_drz`` product from the FLTs and a ``_drc`` product from the FLCs, and
  aligns the FLCs when every member has one (else the FLTs).
- ``DRIZCORR`` (the RAW file's when it is there, else the FLT/FLC primary header's) must be
  PERFORM unless ``force``: otherwise drizzling is skipped, as the pipeline does.
- An exposure with EXPTIME <= 0 or no good pixel (NGOODPIX of SCI,1 = 0) is left out with a
  reason for the trailer. When none is left, DrizzlePac crashes (drizzlepac#1665) or drizzles
  them all anyway; here it is one InputError naming every exposure and why.
"""
import os
from dataclasses import dataclass, field

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.inputs import association_members

__all__ = ["Member", "PipelineInput", "product_root", "read_input"]

KINDS = ("flt", "flc")
SUFFIX_OF_KIND = {"flt": "drz", "flc": "drc"}


@dataclass
class Member:
    root: str
    files: dict           # kind ('flt'/'flc') -> absolute path


@dataclass
class PipelineInput:
    source: str           # the association or exposure given (absolute)
    root: str             # product root, lower case
    members: list         # usable Members, in association order
    skipped: list = field(default_factory=list)   # (rootname, reason)
    drizcorr: str = "PERFORM"
    drizzle: bool = True  # False: DRIZCORR says not to drizzle and force is off
    drizcorr_file: str = ""   # where DRIZCORR was read

    @property
    def kinds(self):
        """The product kinds every usable member has a file for ('flt', 'flc')."""
        return [k for k in KINDS if self.members and all(k in m.files for m in self.members)]

    @property
    def align_kind(self):
        """FLC when every member has one (H9: the CTE-corrected files are aligned), else FLT."""
        return "flc" if "flc" in self.kinds else "flt"

    def files(self, kind):
        return [m.files[kind] for m in self.members]


def product_root(path):
    """H9: the input's name up to ``_asn``, ``_raw`` or its last ``_``, lower case."""
    base = os.path.basename(os.fspath(path))
    stem = base[:-5] if base.lower().endswith(".fits") else base
    low = stem.lower()
    for tail in ("_asn", "_raw"):
        if tail in low:
            return low[:low.index(tail)]
    return low.rsplit("_", 1)[0] if "_" in low else low


def _member_names(path):
    """Rootnames of an association's EXP members, or the one exposure's rootname."""
    if not os.path.isfile(path):
        raise InputError(path, "runastrodriz input not found")
    if not path.lower().endswith("_asn.fits"):
        return [product_root(path)]
    return association_members(path)


def _member(folder, name, source):
    files = {k: os.path.join(folder, f"{name}_{k}.fits") for k in KINDS}
    files = {k: p for k, p in files.items() if os.path.isfile(p)}
    if not files:
        raise InputError(source, f"member {name} has no {name}_flt.fits or {name}_flc.fits in {folder}")
    return Member(name, files)


def _unusable(member):
    """Why the pipeline leaves the exposure out, or ''."""
    path = next(iter(member.files.values()))
    try:
        with fits.open(path) as hdul:
            exptime = float(hdul[0].header.get("EXPTIME", 0.0))
            ngood = hdul[1].header.get("NGOODPIX", hdul[1].header.get("GPIXELS"))
    except Exception as exc:
        raise InputError(path, f"cannot read the exposure's headers ({exc})") from None
    if not exptime > 0:
        return f"EXPTIME = {exptime:g}"
    if ngood is not None and int(ngood) <= 0:
        return "no good pixel (NGOODPIX = 0)"
    return ""


def _drizcorr(folder, member):
    raw = os.path.join(folder, f"{member.root}_raw.fits")
    path = raw if os.path.isfile(raw) else next(iter(member.files.values()))
    return str(fits.getval(path, "DRIZCORR", 0, default="PERFORM")).strip().upper(), path


def read_input(path, force=False):
    """The :class:`PipelineInput` of an association or a single exposure."""
    source = os.path.abspath(os.path.expanduser(os.fspath(path)))
    folder = os.path.dirname(source)
    names = _member_names(source)
    if not names:
        raise InputError(source, "the association lists no exposure (MEMTYPE EXP-*)")
    members = [_member(folder, n, source) for n in names]
    drizcorr, where = _drizcorr(folder, members[0])
    usable, skipped = [], []
    for m in members:
        reason = _unusable(m)
        (skipped.append((m.root, reason)) if reason else usable.append(m))
    if not usable:
        raise InputError(source, "no usable exposure: " + "; ".join(f"{r}: {why}" for r, why in skipped))
    return PipelineInput(source, product_root(source), usable, skipped, drizcorr,
                         drizzle=drizcorr == "PERFORM" or bool(force), drizcorr_file=where)
