"""DS9 region files, for ``mapreg`` and TweakReg's ``exclusions``, read and written by astropy
``regions`` (``Regions.parse``/``serialize`` in the ds9 format), in file order.

What this adapter adds to ``regions``, which skips with a warning what it cannot read:

* shapes before any coordinate-system line are image coordinates (DS9's default), and
  'physical' and 'logical' are image coordinates (true for full-frame HST images);
* a problem is an :class:`InputError` naming the file and the line, not a skipped shape: an
  unreadable shape, an unsupported coordinate system (linear, amplifier, detector, wcsa...:
  reading them as pixels would put the shapes in the wrong place silently), or, unless the
  caller skips them, a shape ``regions`` does not support (vector, panda, ...).

Regions come back as ``regions`` objects: pixel regions 0-based (DS9's pixel 1 is 0), the
include/exclude sign in ``region.meta['include']``.
"""
import logging
import os
import re
import warnings

from regions import Regions

from snakedrizzle.errors import InputError
from snakedrizzle.io.extspec import set_default_mode
from snakedrizzle.io.fitsio import atomic_path

__all__ = ["read_regions", "write_regions", "is_included"]

log = logging.getLogger(__name__)

DISPLAY_SHAPES = ("ruler", "compass", "projection")  # no area: skipped silently when skipping
_UNSUPPORTED = re.compile(r'"(?P<word>[^"]+)" frame or shape is not (?:supported|a valid)')
_FRAME_ERROR = re.compile(r"linear|amplifier|detector|tile|wcs[a-z0]?")
_IMAGE_ALIASES = re.compile(r"(^|;)(\s*)(?:physical|logical)(\s*)(?=;|#|$)", re.IGNORECASE)


def read_regions(path, skip_unsupported=False):
    """The regions of a DS9 file in file order. With ``skip_unsupported`` the shapes ``regions``
    does not support are skipped (with a warning, but display-only shapes silently)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(path, "region file not found")
    with open(path, errors="replace") as f:
        lines = _prepared(f.read())
    try:
        found, notes = _parse(lines)
    except Exception as exc:  # regions raises ValueError, TypeError, ... for malformed shapes
        number = _first_line(lines, lambda k: _raises(lines[:k]))
        raise InputError(path, f"line {number}: {_problem(exc, lines[number - 1])}") from None
    for note in notes:
        _check_note(path, lines, note, skip_unsupported)
    return found


def is_included(region):
    """False for an exclude region (``-circle(...)`` or ``include=0``)."""
    return bool(region.meta.get("include", 1))


def write_regions(path, regions, append=False):
    """Write ``regions`` as a DS9 file, atomically; with ``append`` after the file's own."""
    if append and os.path.isfile(path):
        regions = read_regions(path) + list(regions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # regions warns about metadata DS9 cannot hold
        text = Regions(list(regions)).serialize(format="ds9")
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
        set_default_mode(tmp)


def _prepared(text):
    """Lines as regions should read them, line numbers unchanged: image coordinates from the
    start, physical/logical as image."""
    lines = text.splitlines() or [""]
    lines[0] = "image; " + lines[0]
    return [_IMAGE_ALIASES.sub(r"\1\2image\3", line) for line in lines]


def _parse(lines):
    """(regions, warning messages) of the lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = Regions.parse("\n".join(lines), format="ds9")
    return list(found), [str(w.message) for w in caught]


def _raises(lines):
    try:
        _parse(lines)
    except Exception:
        return True
    return False


def _first_line(lines, bad):
    """The 1-based number of the first line with which ``bad(number of lines)`` holds: regions
    reports no line numbers, so the failing prefix of the file is bisected (only on errors)."""
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        if bad(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _problem(exc, line):
    statement = line.removeprefix("image; ").strip()
    if isinstance(exc, TypeError) or "incorrect number of parameters" in str(exc):
        return f"wrong number of parameters in '{statement}'"
    return f"cannot read the parameters of '{statement}' ({exc})"


def _check_note(path, lines, note, skip_unsupported):
    """Turn a warning of regions into an error, a log line or nothing."""
    if note.startswith("A coordinate frame was not found"):
        return  # follows an unsupported coordinate system, reported at its own line
    number = _first_line(lines, lambda k: note in _parse(lines[:k])[1])
    match = _UNSUPPORTED.match(note)
    if match is None:
        if note.startswith("Cannot parse"):  # units that do not fit the coordinate system
            raise InputError(path, f"line {number}: cannot read the parameters ({note})")
        log.warning("%s: line %d: %s", path, number, note)  # e.g. bad metadata: the shape stays
        return
    word = match["word"]
    if _FRAME_ERROR.fullmatch(word):
        raise InputError(path, f"line {number}: coordinate system '{word}' is not supported "
                         "(use fk5, icrs, fk4, galactic, ecliptic or image)")
    if not skip_unsupported:
        raise InputError(path, f"line {number}: unsupported region '{word}' (supported: circle, "
                         "ellipse, box, polygon, annulus, point, line, text)")
    if word not in DISPLAY_SHAPES:
        log.warning("%s: line %d: ignoring unsupported region shape '%s'", path, number, word)
