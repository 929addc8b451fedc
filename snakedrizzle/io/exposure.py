"""One HST exposure as the pipeline sees it: validated metadata plus lazy access to chip arrays.

Everything instrument-specific that AstroDrizzle needs (gain, read noise, units, CTE direction)
is decided here, once, from the headers (SPEC §1.1, §2). Inputs are opened read-only.
"""
import os
import re
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from snakedrizzle.errors import InputError

# INSTRUME -> DETECTOR values this release drizzles.
KNOWN_DETECTORS = {"ACS": {"WFC", "HRC", "SBC"}, "WFC3": {"UVIS", "IR"}}
# Nominal pixel scales (arcsec) of the detectors: a chip WCS whose scale is far from its
# detector's is a broken header (a CD matrix of zeros, degrees written as arcsec, ...), and
# drizzling it would make an absurd output frame instead of an error.
NOMINAL_PSCALE = {("ACS", "WFC"): 0.05, ("ACS", "HRC"): 0.025, ("ACS", "SBC"): 0.032,
                  ("WFC3", "UVIS"): 0.04, ("WFC3", "IR"): 0.13}
PSCALE_TOLERANCE = 3.0  # accepted factor either way (binned or resampled data stay inside)
SUFFIX_RE = re.compile(r"^(?P<root>.+?)_(?P<suffix>[a-z0-9]+)\.fits(\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Exposure:
    path: str
    rootname: str
    suffix: str          # 'flt', 'flc', ...
    instrument: str
    detector: str
    exptime: float
    chips: tuple         # EXTVERs of the SCI extensions, in file order
    shapes: tuple        # (ny, nx) per chip
    bunit: str
    gain: float
    rdnoise: float
    ccdamp: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def in_units(self):
        """'cps' for count-rate data (BUNIT with '/S', or ergs), else 'counts' (SPEC §1.1)."""
        unit = self.bunit.lower()
        return "cps" if ("/s" in unit or "erg" in unit) else "counts"

    @property
    def conversion_factor(self):
        """Factor from data units to electrons (DrizzlePac's _conversionFactor)."""
        return self.exptime if self.in_units == "cps" else 1.0

    def cte_direction(self, extver):
        """Readout (CTE tail) direction of a chip, as DrizzlePac assigns it (SPEC §1.10)."""
        if (self.instrument, self.detector) in {("ACS", "WFC"), ("WFC3", "UVIS")}:
            return -1 if extver == 1 else 1
        if (self.instrument, self.detector) == ("ACS", "HRC"):
            return 1 if self.ccdamp in ("A", "B") else -1
        return 0


def select_group(path, hdul, group):
    """The EXTVERs of the SCI extensions AstroDrizzle's ``group`` names, as DrizzlePac reads it:
    a comma list of extension *numbers* (HDU indices: '1,4' is SCI,1 and SCI,2 of an ACS/WFC
    file), or one 'sci,<extver>' pair; an integer is one extension number. InputError naming
    the file when an extension is missing or is not a SCI extension."""
    items = [t.strip() for t in str(group).split(",") if t.strip()]
    if len(items) == 2 and items[0].isalpha():
        pairs = [(items[0].upper(), items[1])]
    else:
        pairs = []
        for item in items:
            if not item.isdigit():
                raise InputError(path, f"group={group!r}: expected extension numbers such as '1,4' "
                                 "or one 'sci,<extver>'")
            index = int(item)
            if not 0 <= index < len(hdul):
                raise InputError(path, f"group={group!r}: extension {index} does not exist "
                                 f"(the file has {len(hdul)} HDUs)")
            pairs.append((hdul[index].name.upper(), str(hdul[index].ver)))
    for name, ver in pairs:
        if name != "SCI" or not ver.isdigit():
            raise InputError(path, f"group={group!r}: selects {name},{ver}, not a SCI extension")
        if ("SCI", int(ver)) not in hdul:
            raise InputError(path, f"group={group!r}: there is no extension SCI,{ver}")
    return {int(ver) for _, ver in pairs}


def rootname_of(path):
    match = SUFFIX_RE.match(os.path.basename(path))
    if not match:
        raise InputError(path, "file name must look like <rootname>_<suffix>.fits (e.g. j8bt06nyq_flt.fits)")
    return match["root"], match["suffix"].lower()


def _average_nonzero(header, keywords):
    values = [float(header[k]) for k in keywords if k in header and float(header[k]) != 0.0]
    return sum(values) / len(values) if values else 0.0


def _check_complete(path, hdul):
    """A truncated file still parses its headers; compare the data it promises with its size."""
    size = os.path.getsize(path)
    for hdu in hdul:
        info = hdu.fileinfo()
        if info and info["datLoc"] + info["datSpan"] > size:
            raise InputError(path, f"file is truncated: extension {hdu.name},{hdu.ver} "
                             f"needs {info['datLoc'] + info['datSpan']} bytes, file has {size}")


def read_exposure(path, exptime=None, gain=None, rdnoise=None, group=None):
    """Validate ``path`` and return its :class:`Exposure`. Any problem is one InputError.

    ``exptime``/``gain``/``rdnoise`` are AstroDrizzle's instrument overrides (None = header).
    ``group``: AstroDrizzle's ``group`` (:func:`select_group`); the exposure then has only
    those chips, and every stage sees only them.
    """
    path = os.fspath(path)
    rootname, suffix = rootname_of(path)
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    try:
        with fits.open(path, memmap=True, lazy_load_hdus=False) as hdul:
            _check_complete(path, hdul)
            return _exposure_from_hdul(path, rootname, suffix, hdul, exptime, gain, rdnoise, group)
    except InputError:
        raise
    except Exception as exc:  # astropy raises many types for corrupt files
        raise InputError(path, f"not a readable FITS file ({exc})") from None


def _exposure_from_hdul(path, rootname, suffix, hdul, exptime, gain, rdnoise, group=None):
    phdr = hdul[0].header
    instrument = str(phdr.get("INSTRUME", "")).strip().upper()
    detector = str(phdr.get("DETECTOR", "")).strip().upper()
    if detector not in KNOWN_DETECTORS.get(instrument, ()):
        raise InputError(path, f"unknown instrument/detector INSTRUME={instrument!r} DETECTOR={detector!r}; "
                         f"supported: {', '.join(f'{i}/{d}' for i, ds in KNOWN_DETECTORS.items() for d in sorted(ds))}")
    if exptime is None:
        if "EXPTIME" not in phdr:
            raise InputError(path, "no EXPTIME keyword in the primary header")
        exptime = float(phdr["EXPTIME"])
    if not np.isfinite(exptime) or exptime <= 0:
        raise InputError(path, f"EXPTIME={exptime} is not positive: an exposure without exposure time cannot be drizzled")

    names = {(h.name.upper(), h.ver) for h in hdul}
    chips = tuple(h.ver for h in hdul if h.name.upper() == "SCI")
    if not chips:
        raise InputError(path, "no SCI extension")
    if group not in (None, ""):
        chosen = select_group(path, hdul, group)
        chips = tuple(v for v in chips if v in chosen)
    for ver in chips:
        for ext in ("ERR", "DQ"):
            if (ext, ver) not in names:
                raise InputError(path, f"missing extension {ext},{ver} (SCI,{ver} is present)")
    shapes = []
    for ver in chips:
        shape = hdul["SCI", ver].shape
        if len(shape) != 2:
            raise InputError(path, f"SCI,{ver} is not a 2-D image (shape {shape})")
        shapes.append(tuple(shape))
    for ver in chips:
        _check_chip_wcs(path, ver, hdul["SCI", ver].header, NOMINAL_PSCALE[instrument, detector])
    sci1 = hdul["SCI", chips[0]].header
    bunit = str(sci1.get("BUNIT", phdr.get("BUNIT", "ELECTRONS")))

    if instrument == "ACS" and detector == "SBC":
        gain_v, rn_v = 1.0, 0.0
    else:
        gain_v = _average_nonzero(phdr, [f"ATODGN{a}" for a in "ABCD"])
        rn_v = _average_nonzero(phdr, [f"READNSE{a}" for a in "ABCD"])
    return Exposure(
        path=path, rootname=rootname, suffix=suffix, instrument=instrument, detector=detector,
        exptime=float(exptime), chips=chips, shapes=tuple(shapes), bunit=bunit,
        gain=float(gain if gain is not None else gain_v),
        rdnoise=float(rdnoise if rdnoise is not None else rn_v),
        ccdamp=str(phdr.get("CCDAMP", "")).strip().upper(),
    )


def _linear_matrix(header):
    """The chip's 2x2 linear WCS matrix in degrees/pixel (CD, else PC x CDELT), as written."""
    if any(f"CD{i}_{j}" in header for i in (1, 2) for j in (1, 2)):
        return np.array([[float(header.get(f"CD{i}_{j}", 0.0)) for j in (1, 2)] for i in (1, 2)])
    pc = np.array([[float(header.get(f"PC{i}_{j}", float(i == j))) for j in (1, 2)] for i in (1, 2)])
    return pc * np.array([float(header.get("CDELT1", 1.0)), float(header.get("CDELT2", 1.0))])[:, None]


def _check_chip_wcs(path, ver, header, nominal_pscale):
    """Reject WCSs that would make a meaningless frame: missing, non-finite or singular linear
    part, or a pixel scale far from the detector's (astropy would silently turn a zero CD
    matrix into a unit matrix of 1 degree pixels)."""
    where = f"SCI,{ver}"
    missing = [k for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2") if k not in header]
    if missing:
        raise InputError(path, f"{where}: WCS keyword(s) {', '.join(missing)} missing")
    try:
        matrix = _linear_matrix(header)
        reference = [float(header[k]) for k in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2")]
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"{where}: unreadable WCS keyword ({exc})") from None
    if not (np.isfinite(matrix).all() and np.isfinite(reference).all()):
        raise InputError(path, f"{where}: WCS has non-finite values (CD/CRVAL/CRPIX)")
    det = abs(np.linalg.det(matrix))
    if det <= 1e-9 * np.prod(np.linalg.norm(matrix, axis=0)):  # zero or rank 1 up to rounding
        raise InputError(path, f"{where}: WCS CD matrix is singular ({matrix.ravel().tolist()})")
    pscale = 3600.0 * np.sqrt(det)
    if not nominal_pscale / PSCALE_TOLERANCE <= pscale <= nominal_pscale * PSCALE_TOLERANCE:
        raise InputError(path, f"{where}: WCS pixel scale {pscale:.4g} arcsec is implausible for this "
                         f"detector (nominal {nominal_pscale} arcsec)")


class ChipData:
    """The arrays of one chip: SCI as float32 with non-finite values zeroed, DQ, optional ERR,
    and ``finite`` (False where SCI was NaN/inf: such pixels are always treated as bad)."""

    def __init__(self, sci, dq, err, finite):
        self.sci, self.dq, self.err, self.finite = sci, dq, err, finite


def read_chip(path, extver, with_err=False, rows=None):
    """One chip's arrays (only rows ``rows=(r0, r1)`` if given), copied out of a read-only memory
    map (the input is never touched)."""
    cut = slice(*rows) if rows else slice(None)
    with fits.open(path, memmap=True) as hdul:
        sci = np.array(hdul["SCI", extver].data[cut], dtype=np.float32)
        dq = np.asarray(hdul["DQ", extver].data)
        err = np.array(hdul["ERR", extver].data[cut], dtype=np.float32) if with_err else None
        full_shape = hdul["SCI", extver].shape
        if dq.shape != full_shape:  # some files store a constant DQ as a tiny stub
            dq = np.zeros(sci.shape, dtype=np.int16)
        else:
            dq = np.array(dq[cut])
    if err is not None and err.shape != sci.shape:
        err = None
    finite = np.isfinite(sci)
    if not finite.all():
        sci[~finite] = 0.0
    return ChipData(sci, dq, err, finite)
