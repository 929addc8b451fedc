"""Naming input files: globs, comma lists, ``@file`` lists and ``_asn.fits`` associations.

One expander serves AstroDrizzle's ``input`` parameter (SPEC §1.1, :func:`resolve_inputs`) and
the utility tasks (photeq, pixreplace, resetbits, updatenpol, mapreg: :func:`expand_inputs`).
"""
import glob
import os

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import rootname_of

__all__ = ["resolve_inputs", "expand_inputs"]


def resolve_inputs(spec, base="."):
    """AstroDrizzle's ``input``: ``(paths, ivm_files)``, a file named twice counted once and one
    rootname per exposure; ivm_files maps a path to its IVM file (``@file`` 2nd column). Names
    need not exist yet (the demo makes its inputs)."""
    paths, ivm = expand_inputs(spec, base, must_exist=False)
    paths = list(dict.fromkeys(os.path.normpath(p) for p in paths))
    _check_unique_rootnames(paths)
    return paths, ivm


def expand_inputs(spec, base=".", must_exist=True):
    """``(paths, ivm_files)`` of a string or a list whose items are comma lists of file names,
    wildcards (sorted matches), ``@file`` lists (one name a line, an optional IVM file second,
    ``#`` comments, names relative to the list) or ``_asn.fits`` associations (their EXP
    members, FLC or FLT beside it). A pattern matching nothing is an error, and with
    ``must_exist`` so is a missing file."""
    items = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec or [])
    words = [w.strip() for item in items for w in os.fspath(item).split(",") if w.strip()]
    if not words:
        raise InputError("input", "no input given")
    paths, ivm = [], {}
    for word in words:
        if word.startswith("@"):
            found, listed_ivm = _read_at_file(_at(base, word[1:]), must_exist)
            paths += found
            ivm.update(listed_ivm)
        elif word.lower().endswith("_asn.fits"):
            paths += _read_asn(_at(base, word))
        elif glob.has_magic(word):
            matches = sorted(glob.glob(_at(base, word)))
            if not matches:
                raise InputError(word, "the pattern matches no file")
            paths += matches
        else:
            path = _at(base, word)
            if must_exist and not os.path.exists(path):
                raise InputError(word, "no such file")
            paths.append(path)
    return paths, ivm


def _at(base, name):
    """``name`` under ``base``; names stay as given for the current folder (they reach messages
    and output names)."""
    return name if base in (".", "") else os.path.join(base, name)


def _read_at_file(listfile, must_exist):
    if not os.path.isfile(listfile):
        raise InputError(listfile, "@-list file not found")
    folder, names, ivm = os.path.dirname(listfile), [], {}
    with open(listfile) as f:
        for line in f:
            words = line.split("#", 1)[0].replace(",", " ").split()
            if not words:
                continue
            path, *rest = (w if os.path.isabs(w) else os.path.join(folder, w) for w in words[:2])
            names.append(path)
            if rest:
                ivm[os.path.normpath(path)] = rest[0]
    if not names:
        raise InputError(listfile, "@-list file names no exposure")
    paths, _ = expand_inputs(names, must_exist=must_exist)
    return paths, ivm


def _read_asn(asnfile):
    """Members of type EXP-* of an association, as the FLC or FLT file beside it (both present:
    AstroDrizzle stops, and so does _check_unique_rootnames)."""
    if not os.path.isfile(asnfile):
        raise InputError(asnfile, "association file not found")
    try:
        table = fits.getdata(asnfile, ext=1)
        names = [str(n).strip().lower() for n, t in zip(table["MEMNAME"], table["MEMTYPE"])
                 if str(t).strip().upper().startswith("EXP")]
    except Exception as exc:
        raise InputError(asnfile, f"not a readable association table ({exc})") from None
    folder = os.path.dirname(asnfile)
    paths = []
    for name in names:
        found = [os.path.join(folder, f"{name}_{s}.fits") for s in ("flc", "flt")
                 if os.path.isfile(os.path.join(folder, f"{name}_{s}.fits"))]
        if not found:
            raise InputError(asnfile, f"member {name} has no {name}_flt.fits or {name}_flc.fits beside it")
        paths.extend(found)
    return paths


def _check_unique_rootnames(paths):
    seen = {}
    for path in paths:
        root, _ = rootname_of(path)
        if root in seen and os.path.abspath(seen[root]) != os.path.abspath(path):
            raise InputError(path, f"rootname {root} is given twice (also {seen[root]}); "
                             "FLT and FLC of one exposure cannot be drizzled together: choose one")
        seen[root] = path
