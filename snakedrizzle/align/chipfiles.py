"""TweakReg's per-chip list files: ``catfile`` (user source catalogs) and ``exclusions`` (DS9
regions or FITS masks). One line per image: the image's file name, then one file per chip in
SCI,<n> order; ``None``/``INDEF`` hold the place of a chip without one. File names are relative
to the list file's folder, as in TweakReg."""
import os

from snakedrizzle.errors import InputError

_NONE = {"none", "indef", ""}


def read_list(listfile):
    """{image file name: [chip file or None, ...]} of a catfile/exclusions list."""
    if not os.path.isfile(listfile):
        raise InputError(listfile, "list file not found")
    folder = os.path.dirname(os.path.abspath(listfile))
    table = {}
    with open(listfile) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            table[os.path.basename(words[0])] = [
                None if w.lower() in _NONE else os.path.normpath(os.path.join(folder, w)) for w in words[1:]]
    return table


def _rootname(name):
    return os.path.basename(name).split("_", 1)[0].split(".", 1)[0].lower()


def chip_file(listfile, image_path, chip_index):
    """The list's file for chip number ``chip_index`` (0-based, SCI order) of ``image_path``, or
    None (no list, image not listed, or a None placeholder). Images are matched by file name,
    else by rootname (a list written for the FLC also serves the FLT)."""
    if not listfile:
        return None
    table = read_list(listfile)
    files = table.get(os.path.basename(image_path))
    if files is None:
        by_root = {_rootname(k): v for k, v in table.items()}
        files = by_root.get(_rootname(image_path), [])
    return files[chip_index] if chip_index < len(files) else None
