"""``skymask_cat``: the user's masks of the pixels the sky statistics may use (SPEC §1.5).

The catalog has DrizzlePac's (stsci.skypac) format, one exposure per line::

    # comment lines and blank lines are skipped
    j8bt06nyq_flt.fits  mask_sci1.fits, mask_sci2.fits
    j8bt06nzq_flt.fits{('sci',2)}, mask_chip2.fits[0]
    j8bt06o0q_flt.fits, None, mask_sci2.fits[MASK,1]

The image comes first, optionally followed by its extensions (``[1]``, ``[sci,2]``, or several in
braces: ``{1,('sci',3)}``; none means every SCI extension in file order). Then, separated by
commas, one mask per selected extension, in the same order; an empty entry or ``None`` means no
mask for that extension. A mask file's extension defaults to the primary HDU (``[0]``). In a mask,
any non-zero value marks a pixel the sky may use, 0 a pixel it must not; the mask is ANDed with
the DQ, static and finite masks. Lines naming images that are not inputs are skipped, as in
DrizzlePac; an image is matched to an input by being the same file.

Differences, deliberate: relative paths in the catalog are read from the catalog's folder (in
DrizzlePac, from the current directory, which is usually the same folder); and a line naming a
file that does not exist, or a mask whose shape is not its chip's, stops the run with one
InputError naming the catalog and the file (DrizzlePac logs the line and skips it).
"""
import functools
import logging
import os
import re
from dataclasses import dataclass

from astropy.io import fits

from snakedrizzle.errors import InputError

log = logging.getLogger("snakedrizzle")


@dataclass(frozen=True)
class CatalogLine:
    number: int      # 1-based line number, for messages
    image: str       # absolute path
    exts: tuple      # the image's extensions as written (None: every SCI extension)
    masks: tuple     # ((absolute mask path, mask extension) or None, ...) in the order of ``exts``


# ---- parsing --------------------------------------------------------------------------------

def _split_top(text):
    """``text`` split at the commas outside brackets, braces, parentheses and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for k, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    if quote or depth:
        raise ValueError("unbalanced quotes or brackets")
    return parts + [text[start:]]


def _ext_item(text):
    """One extension: an HDU number, (name, version), or a name ('*' version: every one)."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    inner = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    words = [w.strip().strip("'\"") for w in inner.split(",")]
    if len(words) == 1:
        return (words[0].upper(), None)
    if len(words) == 2 and (words[1] == "*" or words[1].isdigit()):
        return (words[0].upper(), None if words[1] == "*" else int(words[1]))
    raise ValueError(f"bad extension {text!r}")


def _name_and_exts(entry):
    """'file[ext]' or 'file{ext, ext}' -> (file, [ext, ...] or None). A bare name in square
    brackets is its first version, in braces all its versions (DrizzlePac's rule)."""
    entry = entry.strip()
    m = re.fullmatch(r"(.*?)\s*([\[{])(.*)([\]}])", entry, re.S)
    if not m:
        return entry.strip("'\""), None
    name, opening, body = m.group(1).strip().strip("'\""), m.group(2), m.group(3)
    if opening == "[":
        item = _ext_item(body)
        return name, [(item[0], 1) if isinstance(item, tuple) and item[1] is None else item]
    return name, [_ext_item(p) for p in _split_top(body) if p.strip()]


def _absolute(name, folder):
    return os.path.normpath(os.path.join(folder, os.path.expanduser(name)))


def _parse_line(text, number, folder):
    parts = _split_top(text)
    # DrizzlePac's examples separate the image from its first mask by blanks as well as commas
    head = parts[0].strip()
    m = re.fullmatch(r"(\S+?(?:[\[{].*?[\]}])?)\s+(\S.*)", head)
    if m and "," not in head and not head.startswith(("'", '"')):
        parts = [m.group(1), m.group(2)] + parts[1:]
    image, exts = _name_and_exts(parts[0])
    if not image:
        raise ValueError("no image file name")
    masks = []
    for part in parts[1:]:
        name, mext = _name_and_exts(part)
        if not name or (name.upper() == "NONE" and not part.strip().startswith(("'", '"'))):
            masks.append(None)
            continue
        masks.append((_absolute(name, folder), mext[0] if mext else 0))
    return CatalogLine(number, _absolute(image, folder), None if exts is None else tuple(exts), tuple(masks))


@functools.lru_cache(maxsize=16)
def _read(path, mtime):
    folder = os.path.dirname(path)
    lines = []
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            try:
                lines.append(_parse_line(text, number, folder))
            except ValueError as exc:
                raise InputError(path, f"line {number}: {exc}: {text!r}") from None
    for line in lines:
        for name in [line.image] + [m[0] for m in line.masks if m]:
            if not os.path.isfile(name):
                raise InputError(path, f"line {line.number} names {name}, which does not exist")
    return tuple(lines)


def read_catalog(path):
    """Every line of the catalog as ``CatalogLine``; InputError naming the catalog when it is
    missing, a line cannot be parsed, or a line names a file that does not exist."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise InputError(path, "skymask_cat catalog not found")
    return _read(path, os.path.getmtime(path))


def lines_for(catalog, exposure_path):
    """The catalog lines about ``exposure_path`` (the same file, however it is spelled)."""
    return [line for line in read_catalog(catalog) if os.path.samefile(line.image, exposure_path)]


def mask_files(catalog, exposure_paths):
    """The mask files the catalog names for these exposures (the workflow's rule inputs)."""
    files = [m[0] for p in exposure_paths for line in lines_for(catalog, p) for m in line.masks if m]
    return list(dict.fromkeys(files))


# ---- masks per chip -------------------------------------------------------------------------

def _sci_versions(hdul, exts):
    """The SCI versions the image extensions select, in order."""
    every = [h.header.get("EXTVER", 1) for h in hdul if h.name == "SCI"]
    if exts is None:
        return every
    out = []
    for ext in exts:
        if isinstance(ext, int):
            hdu = hdul[ext]
            if hdu.name != "SCI":
                raise ValueError(f"extension {ext} is not a SCI extension")
            out.append(hdu.header.get("EXTVER", 1))
        elif ext[0] != "SCI":
            raise ValueError(f"extension {ext[0]!r} is not SCI")
        else:
            out.extend(every if ext[1] is None else [ext[1]])
    return out


def _read_mask(catalog, line, path, ext, shape, label):
    try:
        with fits.open(path) as hdul:
            data = hdul[ext].data
    except (OSError, KeyError, IndexError) as exc:
        raise InputError(catalog, f"line {line.number}: mask {path}[{ext}] cannot be read ({exc})") from None
    if data is None or data.shape != tuple(shape):
        got = "no data" if data is None else f"shape {data.shape}"
        raise InputError(catalog, f"line {line.number}: mask {path}[{ext}] has {got}, "
                                  f"but {label} is {tuple(shape)}")
    return data != 0


def user_masks(catalog, exposure_path, chips, shapes):
    """{chip version: boolean mask, True = the sky may use the pixel} for the chips of
    ``exposure_path`` the catalog gives a mask (several masks of one chip are ANDed). Empty when
    ``catalog`` is blank."""
    if not catalog or str(catalog).strip().lower() in ("none", "indef"):
        return {}
    catalog = os.path.abspath(str(catalog).strip())
    shape_of = dict(zip(chips, shapes))
    masks = {}
    for line in lines_for(catalog, exposure_path):
        with fits.open(exposure_path) as hdul:
            try:
                versions = _sci_versions(hdul, line.exts)
            except (ValueError, KeyError, IndexError) as exc:
                raise InputError(catalog, f"line {line.number}: {line.image}: {exc}") from None
        if len(line.masks) > len(versions):
            raise InputError(catalog, f"line {line.number}: {len(line.masks)} masks for "
                                      f"{len(versions)} SCI extension(s) of {line.image}")
        for ver, spec in zip(versions, line.masks):
            if spec is None or ver not in shape_of:
                continue
            label = f"{os.path.basename(exposure_path)}[sci,{ver}]"
            m = _read_mask(catalog, line, spec[0], spec[1], shape_of[ver], label)
            masks[ver] = masks[ver] & m if ver in masks else m
            log.info("%s: user mask %s excludes %d pixels from the sky", label, os.path.basename(spec[0]),
                     int((~m).sum()))
    return masks
