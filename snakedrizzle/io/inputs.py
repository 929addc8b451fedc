"""AstroDrizzle's ``input`` parameter: a glob, a comma list, an ``@file`` list or an ``_asn.fits``
association, resolved to a sorted list of exposure paths (SPEC §1.1)."""
import glob
import os

from astropy.io import fits

from snakedrizzle.errors import InputError
from snakedrizzle.io.exposure import rootname_of


def resolve_inputs(spec, base="."):
    """Return ``(paths, ivm_files)``; ivm_files maps a path to its IVM file (``@file`` 2nd column)."""
    spec = str(spec).strip()
    if not spec:
        raise InputError("input", "no input given")
    ivm = {}
    if spec.startswith("@"):
        paths, ivm = _read_at_file(os.path.join(base, spec[1:]))
    elif spec.lower().endswith("_asn.fits"):
        paths = _read_asn(os.path.join(base, spec))
    else:
        paths = []
        for item in (s.strip() for s in spec.split(",")):
            if not item:
                continue
            if glob.has_magic(item):
                matches = sorted(glob.glob(os.path.join(base, item)))
                if not matches:
                    raise InputError(item, "the pattern matches no file")
                paths.extend(matches)
            else:
                paths.append(os.path.join(base, item) if not os.path.isabs(item) else item)
    paths = list(dict.fromkeys(os.path.normpath(p) for p in paths))  # a file named twice counts once
    _check_unique_rootnames(paths)
    return paths, ivm


def _read_at_file(listfile):
    if not os.path.isfile(listfile):
        raise InputError(listfile, "@-list file not found")
    paths, ivm = [], {}
    folder = os.path.dirname(listfile)
    with open(listfile) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            path = words[0] if os.path.isabs(words[0]) else os.path.join(folder, words[0])
            paths.append(path)
            if len(words) > 1:
                ivm[os.path.normpath(path)] = words[1] if os.path.isabs(words[1]) else os.path.join(folder, words[1])
    if not paths:
        raise InputError(listfile, "@-list file names no exposure")
    return paths, ivm


def _read_asn(asnfile):
    """Members of type EXP-* of an association; FLC preferred when both FLT and FLC exist? No:
    AstroDrizzle stops when both exist (SPEC §1.1), and so do we, in _check_unique_rootnames."""
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
