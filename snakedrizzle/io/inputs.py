"""Naming input files: globs, comma lists, ``@file`` lists and ``_asn.fits`` associations.

One expander serves AstroDrizzle's ``input`` parameter (SPEC §1.1, :func:`resolve_inputs`) and
the utility tasks (photeq, pixreplace, resetbits, updatenpol, mapreg: :func:`expand_inputs`).
Every problem is one :class:`InputError` naming the file, and the list or pattern it came from.
"""
import glob
import os
import re

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import rootname_of

__all__ = ["resolve_inputs", "expand_inputs", "association_members", "ROOTNAME_PATTERN"]

# Rootnames the workflow accepts: they become parts of intermediate file names and the {root}
# wildcard of the rules (rules/common.smk constrains it with this same pattern), so they must
# not start with '.' or '-' (hidden files, command-line options) nor hold spaces or shell and
# glob characters. Letters, digits, '-', '_' and '.' cover HST names and common renamings.
ROOTNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_ROOTNAME_RE = re.compile(rf"^{ROOTNAME_PATTERN}$")


def resolve_inputs(spec, base="."):
    """AstroDrizzle's ``input``: ``(paths, ivm_files)``, a file named twice counted once and one
    rootname per exposure; ivm_files maps a path to its IVM file (``@file`` 2nd column). Every
    file must exist and be readable (the demo's inputs, made by the workflow, do not come
    through here)."""
    paths, ivm = expand_inputs(spec, base, must_exist=True)
    paths = list(dict.fromkeys(os.path.normpath(p) for p in paths))
    _check_rootnames(paths)
    return paths, ivm


def expand_inputs(spec, base=".", must_exist=True):
    """``(paths, ivm_files)`` of a string or a list whose items are comma lists of file names,
    wildcards (sorted matches), ``@file`` lists (one name a line, an optional IVM file second,
    ``#`` comments, names relative to the list's folder) or ``_asn.fits`` associations (their
    EXP members, FLC or FLT beside it). A pattern matching nothing, a folder and, with
    ``must_exist``, a missing or unreadable file are errors naming the list they came from."""
    items = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec or [])
    words = [w.strip() for item in items for w in os.fspath(item).split(",") if w.strip()]
    if not words:
        raise InputError("input", "no input given")
    # where a name came from, for messages: only worth saying when there were several
    source = f"named in the input list {','.join(words)!r}" if len(words) > 1 else ""
    paths, ivm = [], {}
    for word in words:
        found, listed_ivm = _expand_word(word, base, must_exist, source)
        paths += found
        ivm.update(listed_ivm)
    return paths, ivm


def _expand_word(word, base, must_exist, source):
    """Paths (and IVM files) of one comma-list word."""
    if word.startswith("@"):
        return _read_at_file(_at(base, word[1:]), must_exist)
    if word.lower().endswith("_asn.fits") and not glob.has_magic(word):
        return _read_asn(_at(base, word)), {}
    if glob.has_magic(word):
        pattern = _at(base, word)
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise InputError(word, f"the pattern matches no file ({_looked_in(pattern)}"
                             f"{_from(source)})")
        for match in matches:
            _check_file(match, must_exist, f"matched by {word!r}")
        return matches, {}
    path = _at(base, word)
    _check_file(path, must_exist, source)
    return [path], {}


def _at(base, name):
    """``name`` under ``base``; names stay as given for the current folder (they reach messages
    and output names)."""
    return name if base in (".", "") else os.path.join(base, name)


def _from(source):
    return f"; {source}" if source else ""


def _looked_in(pattern):
    """The folder a glob searched: its leading part without wildcards, made absolute."""
    parts = os.path.dirname(pattern).split(os.sep)
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    folder = os.path.abspath(os.sep.join(fixed) or ("/" if pattern.startswith("/") else "."))
    return f"looked in {folder}" + ("" if os.path.isdir(folder) else ", which does not exist")


def _check_file(path, must_exist, source):
    """A folder is never an input; with ``must_exist`` a file must be there and readable."""
    if os.path.isdir(path):
        raise InputError(path, f"is a directory, expected FITS files or a glob "
                         f"(e.g. {os.path.join(path, '*_flt.fits')}){_from(source)}")
    if not must_exist:
        return
    if not os.path.exists(path):
        raise InputError(path, f"no such file (looked for {os.path.abspath(path)}{_from(source)})")
    if not os.access(path, os.R_OK):
        raise InputError(path, f"cannot be read: permission denied{_from(source)}")


def _read_at_file(listfile, must_exist):
    """An ``@file``: names relative to the list's own folder, as DrizzlePac reads them."""
    if not os.path.isfile(listfile):
        raise InputError(listfile, f"@-list file not found (looked for {os.path.abspath(listfile)})")
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
    source = f"listed in @{os.path.abspath(listfile)}"
    paths = []
    for name in names:
        paths += _expand_word(name, ".", must_exist, source)[0]
    return paths, ivm


def association_members(asnfile):
    """Rootnames (lower case) of an association's members of type EXP-*, in table order."""
    if not os.path.isfile(asnfile):
        raise InputError(asnfile, f"association file not found (looked for {os.path.abspath(asnfile)})")
    try:
        table = fits.getdata(asnfile, ext=1)
        return [str(n).strip().lower() for n, t in zip(table["MEMNAME"], table["MEMTYPE"])
                if str(t).strip().upper().startswith("EXP")]
    except Exception as exc:
        raise InputError(asnfile, f"not a readable association table ({exc})") from None


def _read_asn(asnfile):
    """Members of type EXP-* of an association, as the FLC or FLT file beside it (both present:
    AstroDrizzle stops, and so does _check_rootnames)."""
    names = association_members(asnfile)
    folder = os.path.dirname(asnfile)
    paths = []
    for name in names:
        found = [os.path.join(folder, f"{name}_{s}.fits") for s in ("flc", "flt")
                 if os.path.isfile(os.path.join(folder, f"{name}_{s}.fits"))]
        if not found:
            raise InputError(asnfile, f"member {name} has no {name}_flt.fits or {name}_flc.fits "
                             f"in {os.path.abspath(folder or '.')}")
        paths.extend(found)
    return paths


def _check_rootnames(paths):
    """One exposure per rootname, and rootnames the workflow's file names can carry."""
    seen = {}
    for path in paths:
        root, _ = rootname_of(path)
        if not _ROOTNAME_RE.match(root):
            raise InputError(path, f"rootname {root!r} cannot name workflow files: use letters, "
                             "digits, '-', '_' and '.' only, starting with a letter or digit "
                             "(rename or link the file)")
        if root in seen and os.path.abspath(seen[root]) != os.path.abspath(path):
            raise InputError(path, f"rootname {root} is given twice (also {seen[root]}); "
                             "FLT and FLC of one exposure cannot be drizzled together: choose one")
        seen[root] = path
