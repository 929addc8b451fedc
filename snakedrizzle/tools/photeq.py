"""photeq: bring images to one inverse sensitivity (DrizzlePac's ``photeq``).

For every extension with its own ``phot_kwd`` value P: factor = P / reference; SCI and ERR data
are multiplied by the factor, ``phot_kwd`` becomes the reference and the auxiliary keywords are
divided by the factor. Extensions without the keyword use the primary header's factor. The
reference is ``ref_phot`` or the first ``phot_kwd`` found (primary header first).

``readonly=True`` (the default, as in DrizzlePac) only reports. Otherwise DrizzlePac edits the
files in place; here new files are written unless ``inplace=True``.
"""
import argparse
import datetime
import os
import sys
import warnings

import numpy as np
from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import (add_output_options, check_output_file, format_extension,
                                     output_paths_for, parse_extension, staged_copy)
from snakedrizzle.io.inputs import expand_inputs

__all__ = ["photeq", "main"]


def photeq(files="*_flt.fits", sciext="SCI", errext="ERR", ref_phot=None, ref_phot_ext=None,
           phot_kwd="PHOTFLAM", aux_phot_kwd="PHOTFNU", search_primary=True, readonly=True,
           clobber=False, logfile="photeq.log", *, inplace=False, output=None, outdir=None):
    """Equalise ``phot_kwd`` across ``files`` (comma list, wildcards, @list, or a list).

    ``sciext`` is the extension name to scale (None: every image extension; 'PRIMARY': the
    primary HDU); ``errext`` the error arrays scaled alike (None: none). ``ref_phot_ext`` picks
    the reference extension of the first file (HDU number, name, or ``('SCI', 2)``).
    ``clobber`` allows overwriting existing output files. Returns one
    ``{'input', 'output', 'changes'}`` record per processed file.
    """
    sciext, errext = _check_extname(sciext, "sciext"), _check_extname(errext, "errext")
    phot_kwd = _check_keyword(phot_kwd)
    aux = _aux_keywords(aux_phot_kwd, phot_kwd)
    ref_phot_ext = _check_ref_ext(ref_phot_ext)
    log = _Log(logfile)
    log(f"***** photeq started on {datetime.datetime.now()}")
    paths = _file_list(files, log)

    if ref_phot is None:
        ref_phot, ref_where, paths = _find_reference(paths, sciext, ref_phot_ext, phot_kwd,
                                                     search_primary, log)
        log(f"REFERENCE VALUE FROM FILE: '{os.path.basename(ref_where[0])}"
            f"[{format_extension(ref_where[1])}]'")
    else:
        ref_phot, ref_where = float(ref_phot), None
        log(f"REFERENCE VALUE PROVIDED BY USER: '{phot_kwd}'={ref_phot}")
    log(f"PRIMARY PHOTOMETRIC KEYWORD: {phot_kwd}")
    log(f"SECONDARY PHOTOMETRIC KEYWORD(S): {','.join(aux) if aux else 'None'}")

    targets = {} if readonly else output_paths_for(
        paths, "photeq", inplace=inplace, output=output, outdir=outdir, clobber=clobber)
    records = []
    for path in paths:
        log(f"\nProcessing file '{path}'")
        with fits.open(path) as hdul:
            changes = _plan(hdul, path, sciext, errext, ref_phot, ref_where, phot_kwd, aux,
                            search_primary)
        for change in changes:
            log("   " + _describe(change))
        if not readonly:
            with staged_copy(path, targets[path]) as tmp:
                with fits.open(tmp, mode="update") as hdul:
                    _apply(hdul, changes)
            log(f"   written to {targets[path]}")
        records.append({"input": path, "output": targets.get(path), "changes": changes})
    if readonly:
        log("\nNOTE: photeq ran in READONLY mode: no file was written.")
    log.close()
    return records


# --------------------------------------------------------------------------------------------
# Parameters


def _check_extname(value, name):
    if value is not None and not isinstance(value, str):
        raise InputError(name, f"must be an extension name or None, not {value!r}")
    value = value.strip() if value is not None else None
    return value.upper() if value and value.upper() == "PRIMARY" else value


def _check_keyword(value):
    if not isinstance(value, str) or not value.strip():
        raise InputError("phot_kwd", f"must be a keyword name, not {value!r}")
    return value.strip().upper()


def _aux_keywords(aux, phot_kwd):
    if aux is None:
        return []
    names = [aux] if isinstance(aux, str) else list(aux)
    if not all(isinstance(n, str) for n in names):
        raise InputError("aux_phot_kwd", "must be a keyword name, a list of them, or None")
    names = [n.strip().upper() for part in names for n in part.split(",") if n.strip()]
    if phot_kwd in names:
        raise InputError("aux_phot_kwd", f"must differ from phot_kwd ({phot_kwd})")
    return names


def _check_ref_ext(ext):
    if ext in (None, "", " "):
        return None
    if isinstance(ext, str):
        ext = parse_extension(f"x[{ext}]")[1]
    if isinstance(ext, (int, np.integer)):
        return int(ext)
    if isinstance(ext, tuple) and len(ext) == 2 and isinstance(ext[0], str):
        return (ext[0].upper(), int(ext[1]))
    raise InputError("ref_phot_ext", f"must be an HDU number, a name or (name, ver), not {ext!r}")


def _file_list(files, log):
    """Files with any [ext] removed: photeq always works on whole files, as DrizzlePac does."""
    items = files.split(",") if isinstance(files, str) else list(files)
    names = []
    for item in items:
        path, ext = parse_extension(str(item).strip()) if str(item).strip() else ("", None)
        if ext is not None:
            log(f"WARNING: extension [{format_extension(ext)}] of {path} ignored: "
                "all extensions named by 'sciext' are used")
        if path:
            names.append(path)
    return expand_inputs(names)[0]


# --------------------------------------------------------------------------------------------
# Reference value and the changes per file


def _science_extensions(hdul, sciext):
    """HDU indices of the extensions to scale, in file order."""
    if sciext == "PRIMARY":
        return [0]
    if sciext is None:
        return [i for i, h in enumerate(hdul) if h.is_image]
    return [i for i, h in enumerate(hdul) if h.name.upper() == sciext.upper() and h.is_image]


def _find_reference(paths, sciext, ref_ext, phot_kwd, search_primary, log):
    """First ``phot_kwd`` value in file order; files searched without success are dropped."""
    remaining = list(paths)
    for path in paths:
        with fits.open(path) as hdul:
            if ref_ext is not None:
                candidates = [_index_of(hdul, path, ref_ext)]
            else:
                candidates = _science_extensions(hdul, sciext)
                if search_primary:
                    candidates = [0] + [i for i in candidates if i != 0]
            for index in candidates:
                if phot_kwd in hdul[index].header:
                    return float(hdul[index].header[phot_kwd]), (path, index), remaining
        log(f"WARNING: no '{phot_kwd}' in the searched extensions of '{path}': file ignored")
        remaining.remove(path)
    raise InputError(", ".join(paths), f"no '{phot_kwd}' found in the headers searched; "
                     "cannot choose a reference value (give ref_phot)")


def _index_of(hdul, path, ext):
    try:
        return hdul.index_of(ext)
    except (KeyError, IndexError):
        raise InputError(f"{path}[{format_extension(ext)}]", "no such extension") from None


def _plan(hdul, path, sciext, errext, ref, ref_where, phot_kwd, aux, search_primary):
    """The list of changes for one file: ('set', hdu, keyword, old, new) and
    ('scale', hdu, factor) tuples, HDUs by index."""

    def is_ref(index):
        return ref_where is not None and index == ref_where[1] and \
            os.path.samefile(path, ref_where[0])

    changes = []
    pri_conv = None
    if search_primary and phot_kwd in hdul[0].header:
        header = hdul[0].header
        if is_ref(0):
            pri_conv = 1.0
        else:
            pri_conv = header[phot_kwd] / ref
            changes.append(("set", 0, phot_kwd, header[phot_kwd], ref))
            changes += _aux_changes(header, 0, aux, pri_conv)
        if sciext == "PRIMARY":
            changes += _scale(hdul, 0, pri_conv)
            if errext is not None and (errext, 1) in hdul:
                changes += _scale(hdul, hdul.index_of((errext, 1)), pri_conv)
            return changes
    for index in _science_extensions(hdul, sciext):
        if is_ref(index):
            continue
        header = hdul[index].header
        if phot_kwd in header:
            conv = header[phot_kwd] / ref
            changes.append(("set", index, phot_kwd, header[phot_kwd], ref))
        elif pri_conv is None:
            continue
        else:
            conv = pri_conv
        changes += _aux_changes(header, index, aux, conv)
        changes += _scale(hdul, index, conv)
        ver = hdul[index].ver
        if errext is not None and hdul[index].name and (errext, ver) in hdul:
            changes += _scale(hdul, hdul.index_of((errext, ver)), conv)
    return changes


def _aux_changes(header, index, aux, conv):
    return [("set", index, k, header[k], header[k] / conv) for k in aux if k in header]


def _scale(hdul, index, conv):
    if conv == 1.0:
        return []  # multiplying by one changes nothing
    header = hdul[index].header
    naxes = [header.get(f"NAXIS{i}", 0) for i in range(1, header.get("NAXIS", 0) + 1)]
    if not hdul[index].is_image or not naxes or 0 in naxes:
        return []  # no pixels (a header-only HDU)
    if header.get("BITPIX", 0) > 0:  # decided from the header: a dry run reads no pixels
        warnings.warn(f"{hdul.filename()}[{index}]: integer data are not rescaled")
        return []
    return [("scale", index, conv)]


def _apply(hdul, changes):
    for change in changes:
        if change[0] == "set":
            _, index, keyword, _, new = change
            hdul[index].header[keyword] = new
        else:
            _, index, factor = change
            # in place, in the array's own precision (float32 stays float32), as DrizzlePac does
            hdul[index].data *= factor


def _describe(change):
    if change[0] == "set":
        return f"* HDU {change[1]}: {change[2]} = {change[4]} (was {change[3]})"
    return f"* HDU {change[1]}: data multiplied by {change[2]}"


class _Log:
    """Report lines to stdout and, appended, to ``logfile`` (as DrizzlePac's logging does)."""

    def __init__(self, logfile):
        if logfile is not None and not isinstance(logfile, str):
            raise InputError("logfile", f"must be a file name or None, not {logfile!r}")
        self.logfile = logfile.strip() if logfile and logfile.strip() else None
        if self.logfile:
            check_output_file(self.logfile)  # before any work: the log is written at the end
        self.lines = []

    def __call__(self, line):
        print(line)
        self.lines.append(line)

    def close(self):
        if self.logfile:
            with open(self.logfile, "a") as f:
                f.write("\n".join(self.lines) + "\n")


def _parser():
    p = argparse.ArgumentParser(
        prog="photeq", description="Equalise the inverse sensitivity (PHOTFLAM) of images "
        "(DrizzlePac's photeq). Only reports unless --no-readonly; then writes "
        "<name>_photeq.fits (or --outdir/--output) unless --in-place.")
    p.add_argument("files", nargs="*", default=["*_flt.fits"], help="files (default *_flt.fits)")
    p.add_argument("--sciext", default="SCI", help="extensions to scale (default SCI; 'None' "
                   "for all, 'PRIMARY')")
    p.add_argument("--errext", default="ERR", help="error extensions (default ERR; 'None')")
    p.add_argument("--ref-phot", dest="ref_phot", type=float, help="reference value")
    p.add_argument("--ref-phot-ext", dest="ref_phot_ext", help="reference extension, e.g. 'sci,2'")
    p.add_argument("--phot-kwd", dest="phot_kwd", default="PHOTFLAM")
    p.add_argument("--aux-phot-kwd", dest="aux_phot_kwd", default="PHOTFNU",
                   help="comma list or 'None' (default PHOTFNU)")
    p.add_argument("--search-primary", dest="search_primary", default=True,
                   action=argparse.BooleanOptionalAction)
    p.add_argument("--readonly", default=True, action=argparse.BooleanOptionalAction,
                   help="only report (default); --no-readonly writes the results")
    p.add_argument("--logfile", default="photeq.log", help="log file ('' for none)")
    add_output_options(p, dryrun=False)
    return p


def _none(text):
    return None if text is None or text.strip().lower() in ("", "none") else text


def main(argv=None):
    args = _parser().parse_args(argv)
    return run_cli("photeq", lambda: photeq(
        ",".join(args.files), sciext=_none(args.sciext), errext=_none(args.errext),
        ref_phot=args.ref_phot, ref_phot_ext=_none(args.ref_phot_ext), phot_kwd=args.phot_kwd,
        aux_phot_kwd=_none(args.aux_phot_kwd), search_primary=args.search_primary,
        readonly=args.readonly, clobber=args.clobber, logfile=args.logfile or None,
        inplace=args.inplace, output=args.output, outdir=args.outdir))


if __name__ == "__main__":
    sys.exit(main())
