"""pixreplace: replace pixels of one value (NaN by default) with another (DrizzlePac's
``pixreplace.replace``).

DrizzlePac edits the files in place; here a new file is written unless ``inplace=True``, and
``dryrun=True`` only reports how many pixels would change.
"""
import argparse
import sys

import numpy as np

from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import add_output_options, edit_files, format_extension, parse_extension

__all__ = ["replace", "main"]


def replace(input, pixvalue=None, newvalue=0.0, ext=None, *, inplace=False, output=None,
            outdir=None, clobber=False, dryrun=False):
    """Set pixels equal to ``pixvalue`` (None or NaN: NaN pixels) to ``newvalue``.

    ``ext`` is an HDU number, an ``('SCI', 1)`` tuple, a name, or a list of them; None means
    every image HDU that has data. Returns one ``{'input', 'output', 'changed'}`` record per
    file; ``changed`` maps 'SCI,1' (or an HDU number) to the number of pixels replaced.
    """
    pixvalue = np.nan if pixvalue is None else float(pixvalue)
    records = edit_files(input, "pixreplace",
                         lambda hdul, path, apply: _replace(hdul, path, pixvalue, newvalue, ext, apply=apply),
                         dryrun=dryrun, inplace=inplace, output=output, outdir=outdir, clobber=clobber)
    verb = "would replace" if dryrun else "replaced"
    for record in records:
        path = record["input"]
        hits = {key: count for key, count in record["changed"].items() if count}
        for key, count in hits.items():
            print(f"{path}[{key}]: {verb} {count} pixels of {pixvalue} with {newvalue}")
        if not hits:
            print(f"{path}: no pixel equals {pixvalue} in the extensions searched")
    return records


def _selected(hdul, path, ext):
    if ext in (None, "", " ", "None"):
        return [(i, h) for i, h in enumerate(hdul) if h.is_image and h.data is not None]
    if isinstance(ext, str) and all(part.strip().isdigit() for part in ext.split(",")):
        ext = [int(part) for part in ext.split(",")]  # the cfg form: '1,4'
    chosen = []
    for item in ext if isinstance(ext, list) else [ext]:
        key = _extension_key(item)
        try:
            chosen.append((key, hdul[key]))
        except (KeyError, IndexError):
            raise InputError(f"{path}[{format_extension(key)}]", "no such extension") from None
    return chosen


def _extension_key(item):
    if isinstance(item, str):
        return parse_extension(f"x[{item}]")[1]
    return tuple(item) if isinstance(item, (tuple, list)) else int(item)


def _key_label(key, hdu):
    return f"{hdu.name},{hdu.ver}" if hdu.name and hdu.name != "PRIMARY" else str(key)


def _replace(hdul, path, pixvalue, newvalue, ext, apply):
    changed = {}
    for key, hdu in _selected(hdul, path, ext):
        if hdu.data is None or not hdu.is_image:
            continue
        data = hdu.data
        hit = np.isnan(data) if np.isnan(pixvalue) else data == pixvalue
        changed[_key_label(key, hdu)] = int(np.count_nonzero(hit))
        if apply and hit.any():
            data[hit] = newvalue
    return changed


def _number(text):
    return None if text is None or text.lower() in ("none", "nan") else float(text)


def _parser():
    p = argparse.ArgumentParser(
        prog="pixreplace", description="Replace pixels of one value (default NaN) with another "
        "(DrizzlePac's pixreplace). Writes <name>_pixreplace.fits (or --outdir/--output) unless "
        "--in-place.")
    p.add_argument("input", nargs="+", help="files, wildcards or @list files")
    p.add_argument("--pixvalue", type=_number, default=None, help="value to replace (default NaN)")
    p.add_argument("--newvalue", type=float, default=0.0, help="replacement value (default 0)")
    p.add_argument("--ext", action="append",
                   help="extension: number, 'sci,1' or name (repeatable; default: all images)")
    add_output_options(p)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    return run_cli("pixreplace", lambda: replace(
        args.input, pixvalue=args.pixvalue, newvalue=args.newvalue, ext=args.ext,
        inplace=args.inplace, output=args.output, outdir=args.outdir, clobber=args.clobber,
        dryrun=args.dryrun))


if __name__ == "__main__":
    sys.exit(main())
