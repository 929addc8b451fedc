"""Reading a HAP poller (SPEC-HAP H3.1): which exposures make a visit, and their facts.

Accepted forms of the ``poller`` the user names:

- a headerless CSV of 8 columns: ``filename, proposal_id, program_id, obset_id, exptime,
  filters, detector, path`` (``ib4606c5q_flc.fits,11665,B46,06,1.0,F555W,UVIS,/path/...``);
- a CSV of one column (file names; everything else read from the headers), or two columns
  (file name, WFPC2 aperture without blanks);
- a glob (``DIR/*_flc.fits``), one FITS file, or a list of paths: rows built from the headers.

Names in a poller file are relative to the poller's folder. ``path`` (8 columns) may name the
file or its folder; it is used when the file is not beside the poller. Blank lines and lines
starting with ``#`` are skipped. PHOTFLAM and EXPSTART are always read from the headers: HAP
orders the exposures by them (H3.3). Every problem is one InputError naming the poller line
or the file.
"""
import glob
import os
from dataclasses import dataclass

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.hap import names

__all__ = ["PollerRow", "read_poller", "row_from_header", "EMPTY_APERTURE"]

EMPTY_APERTURE = "empty_aperture"   # HAP's value when the poller gives no aperture
_FULL_COLUMNS = ("filename", "proposal_id", "program_id", "obset_id", "exptime", "filters",
                 "detector", "path")


@dataclass(frozen=True)
class PollerRow:
    """One exposure of a poller: the 8 poller fields, the aperture and the sort keys."""

    filename: str          # as listed: <rootname>_fl[ct].fits
    path: str              # where the file was found
    proposal_id: str       # integer string, not zero-padded
    program_id: str        # 3 characters, upper case (rootname characters 2-4)
    obset_id: str          # 2 characters, leading zero kept
    exptime: float
    filters: str           # raw filter string, ';' between filter wheels
    detector: str          # as in the header/poller (upper case)
    aperture: str = EMPTY_APERTURE
    photflam: float = 0.0  # sort key (WFC3/IR: primary header, else (SCI,1))
    expstart: float = 0.0  # MJD
    source: str = ""       # where the row came from, for messages ("poller.csv line 3")

    @property
    def rootname(self):
        return self.filename.split("_")[0].lower()

    @property
    def filetype(self):
        """``flc`` or ``flt`` (the file name's suffix)."""
        return self.filename.lower().rsplit(".fits", 1)[0].rsplit("_", 1)[-1]

    @property
    def instrument(self):
        return names.instrument_of(self.rootname, self.source)

    @property
    def detector_name(self):
        return names.detector_name(self.instrument, self.detector)

    @property
    def filter(self):
        """Normalised (HAP) filter name."""
        return names.filter_name(self.filters)


def read_poller(spec, base="."):
    """The rows of a poller file, glob, FITS file or list of paths, in the order given.

    No exposure is excluded here (see :mod:`snakedrizzle.hap.exclusions`); the same file listed
    twice, an empty poller, a missing file, an unknown instrument or a malformed line is an
    InputError."""
    if isinstance(spec, (list, tuple)):
        rows = [row_from_header(_at(base, p)) for p in spec]
        where = "poller list"
    else:
        spec = os.fspath(spec)
        path = _at(base, spec)
        if glob.has_magic(spec):
            matches = sorted(glob.glob(path))
            if not matches:
                raise InputError(spec, "the poller pattern matches no file")
            rows = [row_from_header(p) for p in matches]
        elif path.lower().endswith((".fits", ".fits.gz")):
            rows = [row_from_header(path)]
        else:
            rows = _read_poller_file(path)
        where = spec
    if not rows:
        raise InputError(where, "the poller is empty: it lists no exposure")
    _check_unique(rows)
    return rows


def _read_poller_file(path):
    if not os.path.isfile(path):
        raise InputError(path, "poller file not found")
    folder = os.path.dirname(path)
    lines = _data_lines(path)
    if not lines:
        raise InputError(path, "the poller is empty: it lists no exposure")
    width = len(lines[0][1])
    if width not in (1, 2, len(_FULL_COLUMNS)):
        raise InputError(f"{path} line {lines[0][0]}",
                         f"a poller line has 1, 2 or 8 comma-separated columns, not {width}")
    rows = []
    for number, cells in lines:
        where = f"{path} line {number}"
        if len(cells) != width:
            raise InputError(where, f"{len(cells)} columns where the poller's first line has "
                                    f"{width}")
        if width == len(_FULL_COLUMNS):
            rows.append(_row_from_columns(cells, folder, where))
        else:
            aperture = cells[1].replace(" ", "") if width == 2 else EMPTY_APERTURE
            rows.append(row_from_header(_find_file(cells[0], folder, None, where), aperture,
                                        where))
    return rows


def _data_lines(path):
    """``[(line number, [cells])]`` of the non-blank, non-comment lines."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the poller ({exc})") from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            found.append((number, [cell.strip() for cell in line.split(",")]))
    return found


def _row_from_columns(cells, folder, where):
    """A row of the 8-column form; PHOTFLAM and EXPSTART still come from the header."""
    fields = dict(zip(_FULL_COLUMNS, cells))
    empty = [name for name, value in fields.items() if not value]
    if empty:
        raise InputError(where, f"empty column(s): {', '.join(empty)}")
    try:
        proposal_id = str(int(fields["proposal_id"]))
        exptime = float(fields["exptime"])
    except ValueError:
        raise InputError(where, f"proposal_id must be an integer and exptime a number, not "
                                f"{fields['proposal_id']!r} and {fields['exptime']!r}") from None
    obset = fields["obset_id"]
    if len(obset) != 2 or not obset.isalnum():
        raise InputError(where, f"obset_id must be 2 characters (leading zero kept), not {obset!r}")
    path = _find_file(fields["filename"], folder, fields["path"], where)
    header = _primary_header(path, where)
    _check_name(fields["filename"], header, path, where)
    return PollerRow(
        filename=os.path.basename(fields["filename"]), path=path, proposal_id=proposal_id,
        program_id=fields["program_id"].upper(), obset_id=obset.lower(), exptime=exptime,
        filters=fields["filters"], detector=fields["detector"].upper(),
        photflam=_photflam(path, header), expstart=float(header.get("EXPSTART", 0.0)),
        source=where)


def row_from_header(path, aperture=EMPTY_APERTURE, source=None):
    """A poller row of one FLT/FLC file, every field from its primary header (as HAP derives
    them: program and obset ids from the file name, PROPOSID, EXPTIME, DETECTOR, filters)."""
    where = source or path
    if not os.path.isfile(path):
        raise InputError(where, f"exposure {path} not found")
    header = _primary_header(path, where)
    filename = os.path.basename(path)
    instrument = _check_name(filename, header, path, where)
    needed = {"acs": ("FILTER1", "FILTER2"), "wfpc2": ("FILTNAM1",)}.get(instrument, ("FILTER",))
    needed += ("PROPOSID", "EXPTIME") + (("DETECTOR",) if instrument != "wfpc2" else ())
    missing = [key for key in needed if key not in header]
    if missing:
        raise InputError(path, f"keyword(s) {', '.join(missing)} missing from the primary header")
    try:
        return PollerRow(
            filename=filename, path=path, proposal_id=str(int(header["PROPOSID"])),
            program_id=filename[1:4].upper(), obset_id=filename[4:6].lower(),
            exptime=float(header["EXPTIME"]), filters=_raw_filters(instrument, header),
            detector=str(header["DETECTOR"]).strip().upper() if instrument != "wfpc2" else "PC",
            aperture=aperture, photflam=_photflam(path, header),
            expstart=float(header.get("EXPSTART", 0.0)), source=where)
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"unusable PROPOSID or EXPTIME in the primary header "
                               f"({exc})") from None


def _raw_filters(instrument, header):
    """Filter string as HAP builds it from a header: ACS ``FILTER1;FILTER2``, WFC3 ``FILTER``,
    WFPC2 ``FILTNAM1;FILTNAM2`` (an empty second wheel dropped)."""
    if instrument == "acs":
        return f"{header['FILTER1']};{header['FILTER2']}"
    if instrument == "wfpc2":
        return f"{header['FILTNAM1']};{header.get('FILTNAM2', '')}".strip().rstrip(";")
    return str(header["FILTER"])


def _photflam(path, header):
    """HAP's PHOTFLAM for ordering: the primary header for WFC3/IR, (SCI,1) otherwise; a missing
    value sorts as 0 (it only orders exposures of equal EXPTIME)."""
    instrument = str(header.get("INSTRUME", "")).upper()
    detector = str(header.get("DETECTOR", "")).upper()
    if instrument == "WFC3" and detector == "IR":
        value = header.get("PHOTFLAM", 0.0)
    else:
        try:
            value = fits.getheader(path, ("SCI", 1)).get("PHOTFLAM", 0.0)
        except (KeyError, OSError):
            value = header.get("PHOTFLAM", 0.0)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _primary_header(path, where):
    try:
        return fits.getheader(path, 0)
    except (OSError, ValueError) as exc:
        raise InputError(where, f"cannot read the FITS header of {path} ({exc})") from None


def _check_name(filename, header, path, where):
    """The file name must be ``<rootname>_fl[ct].fits`` and its first letter must agree with
    INSTRUME (HAP takes the instrument from the name). Returns the instrument."""
    base = os.path.basename(filename).lower()
    if not (base.endswith(("_flt.fits", "_flc.fits"))):
        raise InputError(where, f"{filename!r}: HAP inputs are calibrated '<rootname>_flt.fits' "
                                "or '_flc.fits' files")
    instrument = names.instrument_of(base.split("_")[0], where)
    stated = str(header.get("INSTRUME", "")).strip().lower()
    if stated and stated != instrument:
        raise InputError(where, f"{path}: the name says {instrument.upper()} but INSTRUME is "
                                f"{stated.upper()}")
    return instrument


def _find_file(name, folder, listed_path, where):
    """The file a poller line means: beside the poller, else the ``path`` column (the file
    itself or its folder)."""
    candidates = [name if os.path.isabs(name) else os.path.join(folder, name)]
    if listed_path:
        candidates += [listed_path, os.path.join(listed_path, os.path.basename(name))]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    raise InputError(where, f"exposure {name} not found (looked for {', '.join(candidates)})")


def _check_unique(rows):
    seen = {}
    for row in rows:
        if row.rootname in seen:
            raise InputError(row.source, f"exposure {row.rootname} is listed twice (also at "
                                         f"{seen[row.rootname]})")
        seen[row.rootname] = row.source


def _at(base, name):
    name = os.fspath(name)
    return name if base in (".", "") or os.path.isabs(name) else os.path.join(base, name)
