"""File names with IRAF/DrizzlePac extension notation (``file.fits[sci,1]``), opening the WCS they
name with its full distortion, and the output-staging helpers of the utility tasks (their file
lists are ``snakedrizzle.io.inputs.expand_inputs``).

Everything here turns bad input into one :class:`snakedrizzle.errors.InputError` that names the
file and the problem, because these functions sit directly under the command-line tools.
"""
import contextlib
import gzip
import os
import re
import shutil
import warnings

from astropy.io import fits
from astropy.wcs import FITSFixedWarning

from snakedrizzle.errors import InputError
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.io.inputs import expand_inputs

__all__ = ["parse_extension", "format_extension", "open_wcs",
           "output_path_for", "output_paths_for", "add_output_options", "staged_copy", "set_default_mode",
           "edit_files", "check_output_file", "make_output_folder"]

_EXT_RE = re.compile(r"^(?P<file>.+?)\[(?P<ext>[^\[\]]*)\]$")


def parse_extension(spec):
    """Split ``file.fits[sci,1]`` / ``file.fits[1]`` / ``file.fits[SCI]`` into (file, extension).

    The extension comes back as an HDU number, an ``(EXTNAME, EXTVER)`` tuple with EXTNAME upper
    case (``[SCI]`` means ``('SCI', 1)``, as in DrizzlePac), or None when no brackets are given.
    """
    spec = os.fspath(spec).strip()
    match = _EXT_RE.match(spec)
    if match is None:
        if "[" in spec or "]" in spec:
            raise InputError(spec, "unbalanced [...] in the extension specification")
        return spec, None
    path, text = match.group("file"), match.group("ext").strip().strip("'\"")
    parts = [p.strip().strip("'\"") for p in text.split(",")]
    if len(parts) == 1 and parts[0].lstrip("+").isdigit():
        return path, int(parts[0])
    if len(parts) > 2 or not parts[0] or parts[0][0].isdigit():
        raise InputError(spec, f"cannot read extension '[{text}]'; use [N], [NAME] or [NAME,VER]")
    if len(parts) == 1:
        return path, (parts[0].upper(), 1)
    if not parts[1].lstrip("+").isdigit():
        raise InputError(spec, f"extension version '{parts[1]}' is not a whole number")
    return path, (parts[0].upper(), int(parts[1]))


def format_extension(ext):
    """``('SCI', 1)`` -> ``'SCI,1'``; ``3`` -> ``'3'`` (for messages and output names)."""
    return f"{ext[0]},{ext[1]}" if isinstance(ext, tuple) else str(ext)


def _open_fits(path):
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    try:
        return fits.open(path)
    except Exception as exc:  # astropy raises OSError, TypeError, ... for non-FITS content
        raise InputError(path, f"not a readable FITS file ({exc})") from None


def _extension_list(hdul):
    names = [f"[{i}]" if not h.name or h.name == "PRIMARY" else f"[{h.name},{h.ver}]"
             for i, h in enumerate(hdul) if h.is_image and h.name not in ("D2IMARR", "WCSDVARR")]
    return " ".join(names)


def _has_celestial_header(header):
    ctypes = [str(header.get(f"CTYPE{i}", "")).upper() for i in (1, 2)]
    return ctypes[0][:4] in ("RA--", "GLON", "ELON") and ctypes[1][:4] in ("DEC-", "GLAT", "ELAT")


def _default_extension(path, hdul):
    """No extension given: the primary HDU if it carries a celestial WCS, else the only SCI.

    DrizzlePac silently reads the (empty) primary header of a multi-extension file and prints
    "No valid WCS" with garbage results; we pick the unambiguous choice or stop.
    """
    if _has_celestial_header(hdul[0].header):
        return 0
    sci = [h.ver for h in hdul if h.name == "SCI"]
    if len(sci) == 1:
        return ("SCI", sci[0])
    if sci:
        raise InputError(path, f"has {len(sci)} SCI extensions; name one, e.g. "
                         f"{path}[sci,{sci[0]}]")
    raise InputError(path, "no celestial WCS in the primary header and no SCI extension")


def _check_extension(path, hdul, ext):
    try:
        hdu = hdul[ext]
    except (KeyError, IndexError):
        raise InputError(f"{path}[{format_extension(ext)}]",
                         f"no such extension (its image extensions are {_extension_list(hdul)})") from None
    if not hdu.is_image:
        raise InputError(f"{path}[{format_extension(ext)}]", "is a table, not an image extension")
    return hdu


def open_wcs(spec, ext=None):
    """The stwcs ``HSTWCS`` of ``spec`` with its full distortion (SIP + NPOL + D2IM lookup tables).

    ``spec`` may carry its extension (``file.fits[sci,1]``) or it may be passed as ``ext``.
    Raises :class:`InputError` for a missing file, a missing extension or no celestial WCS.
    """
    from stwcs.wcsutil import HSTWCS

    path, spec_ext = parse_extension(spec)
    ext = spec_ext if ext is None else ext
    with _open_fits(path) as hdul:
        if ext is None:
            ext = _default_extension(path, hdul)
        hdu = _check_extension(path, hdul, ext)
        label = f"{path}[{format_extension(ext)}]"
        if not _has_celestial_header(hdu.header):
            ctypes = ", ".join(repr(hdu.header.get(f"CTYPE{i}", "")) for i in (1, 2))
            raise InputError(label, f"has no celestial WCS (CTYPE1, CTYPE2 = {ctypes})")
        try:
            with warnings.catch_warnings():
                # header 'fixes' (DATE-OBS, RADESYS) are routine for HST files: not news to users
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = HSTWCS(hdul, ext=ext)
        except Exception as exc:
            raise InputError(label, f"cannot build its WCS ({type(exc).__name__}: {exc})") from None
    if not wcs.has_celestial or wcs.wcs.naxis != 2:
        raise InputError(label, "has no two-axis celestial WCS")
    return wcs


# --------------------------------------------------------------------------------------------
# Output staging shared by the tools that DrizzlePac runs in place
# (photeq, pixreplace, updatenpol, resetbits).


def check_output_file(path):
    """A tool's output file must go into a folder that exists: the tools create no folder the
    user did not name (``--output /nonexist/out.txt`` is a typo, not a request for /nonexist)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.normpath(path)) or os.curdir
    if not os.path.isdir(folder):
        raise InputError(path, f"the output folder {os.path.abspath(folder)} does not exist; "
                         "create it first")
    if os.path.isdir(path):
        raise InputError(path, "is a directory; give an output file name")
    return path


def make_output_folder(folder, create=True):
    """The output folder the user named (``outdir``, mapreg's ``outpath``): made if missing,
    but only that folder, never its parents. ``create=False`` only checks that it could be."""
    folder = os.path.normpath(os.fspath(folder))
    if os.path.isdir(folder):
        return folder
    if os.path.exists(folder):
        raise InputError(folder, "exists and is not a folder")
    parent = os.path.dirname(folder) or os.curdir
    if not os.path.isdir(parent):
        raise InputError(folder, f"cannot create the output folder: its parent "
                         f"{os.path.abspath(parent)} does not exist")
    if create:
        os.mkdir(folder)
    return folder


def _stem(path):
    name = os.path.basename(path)
    for suffix in (".fits.gz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return os.path.splitext(name)[0]


def output_path_for(path, task, *, inplace=False, output=None, outdir=None, n_inputs=1,
                    clobber=False):
    """Where a tool's result for ``path`` goes.

    DrizzlePac edits its inputs; we write ``<stem>_<task>.fits`` in the current directory
    (or ``outdir/<same name>``, or ``output`` for a single input) unless ``inplace`` is set.
    """
    if inplace:
        if output or outdir:
            raise InputError(path, "inplace=True cannot be combined with output/outdir")
        if path.lower().endswith(".gz"):
            raise InputError(path, "cannot edit a compressed file in place; write a new file")
        return path
    if output:
        if n_inputs != 1:
            raise InputError(output, f"one output name given for {n_inputs} inputs; use outdir")
        target = check_output_file(output)
    elif outdir:
        make_output_folder(outdir, create=False)  # made once every check has passed
        target = os.path.join(os.fspath(outdir), _stem(path) + ".fits")
    else:
        target = _stem(path) + f"_{task}.fits"
    if target.lower().endswith(".gz"):
        raise InputError(target, "compressed output is not supported; use a .fits name")
    if os.path.exists(target) and os.path.samefile(target, path):
        raise InputError(path, "the output would overwrite the input; use inplace=True for that")
    if os.path.exists(target) and not clobber:
        raise InputError(target, "exists already; use clobber=True to overwrite it")
    return target


def output_paths_for(paths, task, **options):
    """:func:`output_path_for` for every input, all checked before any file is written;
    two inputs may not share one output (same name in different folders with ``outdir``)."""
    targets = {p: output_path_for(p, task, n_inputs=len(paths), **options) for p in paths}
    seen = {}
    for path, target in targets.items():
        key = os.path.abspath(target)
        if key in seen:
            raise InputError(path, f"would be written to {target}, as {seen[key]} is")
        seen[key] = path
    if options.get("outdir") and not options.get("inplace"):
        make_output_folder(options["outdir"])  # only now: every other check has passed
    return targets


def edit_files(input, task, edit, *, dryrun=False, **options):
    """Apply ``edit(hdul, path, apply)`` (returns what changed) to every file of ``input``:
    on the file itself read-only when ``dryrun``, else on a staged copy that becomes the output
    (:func:`output_path_for` options). Returns one {'input', 'output', 'changed'} per file."""
    paths, _ = expand_inputs(input)
    targets = {} if dryrun else output_paths_for(paths, task, **options)
    records = []
    for path in paths:
        if dryrun:
            with fits.open(path) as hdul:
                changed = edit(hdul, path, False)
        else:
            with staged_copy(path, targets[path]) as tmp:
                with fits.open(tmp, mode="update") as hdul:
                    changed = edit(hdul, path, True)
        records.append({"input": path, "output": targets.get(path), "changed": changed})
    return records


def add_output_options(parser, dryrun=True):
    """The command-line switches of :func:`output_path_for` (and a dry run)."""
    parser.add_argument("--in-place", dest="inplace", action="store_true",
                        help="edit the input files themselves (as DrizzlePac does)")
    parser.add_argument("--output", help="output file name (one input only)")
    parser.add_argument("--outdir", help="write each output under its input's name into this "
                        "directory")
    parser.add_argument("--clobber", action="store_true", help="overwrite existing output files")
    if dryrun:
        parser.add_argument("--dry-run", dest="dryrun", action="store_true",
                            help="only report what would change; write nothing")


@contextlib.contextmanager
def staged_copy(src, dst):
    """Yield a private copy of ``src`` to edit; it replaces ``dst`` atomically only on success.

    Used for in-place edits too (``dst == src``), so an interrupted run never leaves a
    half-updated input behind. Gzipped sources are decompressed into the copy.
    """
    check_output_file(dst)  # atomic_path would create a missing folder: not for tools
    with atomic_path(dst) as tmp:
        if src.lower().endswith(".gz"):
            with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(src, tmp)
        yield tmp
        # mkstemp made the copy private (0600): give the product the input's mode when editing
        # in place, the user's default mode otherwise
        if os.path.exists(dst) and os.path.samefile(dst, src):
            shutil.copymode(src, tmp)
        else:
            set_default_mode(tmp)


def set_default_mode(path):
    """Give a file made by mkstemp (mode 0600) the mode a plain ``open`` would have given it."""
    os.chmod(path, 0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
