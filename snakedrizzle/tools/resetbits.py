"""resetbits: clear chosen bits in the DQ arrays of HST images (DrizzlePac's ``resetbits``).

DrizzlePac edits the files in place; here a new file is written unless ``inplace=True``, and
``dryrun=True`` only reports how many pixels would change.
"""
import argparse
import sys

import numpy as np
from astropy.nddata.bitmask import interpret_bit_flags

from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import add_output_options, edit_files

__all__ = ["reset_dq_bits", "main"]


def reset_dq_bits(input, bits="4096", extver=None, extname="dq", *, inplace=False, output=None,
                  outdir=None, clobber=False, dryrun=False):
    """Clear ``bits`` (e.g. 4096, '4096,8192', '~0') in the ``extname`` arrays of each file.

    ``extver`` picks extension versions (an int or a list); None means every ``extname``
    extension, found per file (DrizzlePac reuses the first file's list for all files).
    Returns one ``{'input', 'output', 'changed'}`` record per file; ``changed`` maps
    'DQ,1' to the number of pixels that had any of the bits set.
    """
    flags = _flags(bits)
    records = edit_files(input, "resetbits",
                         lambda hdul, path, apply: _reset(hdul, path, flags, extver, extname, apply=apply),
                         dryrun=dryrun, inplace=inplace, output=output, outdir=outdir, clobber=clobber)
    for record in records:
        _report(record, flags, dryrun)
    return records


def _flags(bits):
    try:
        flags = interpret_bit_flags(bits)
    except (TypeError, ValueError) as exc:
        raise InputError("bits", f"cannot read {bits!r} as bit flags ({exc})") from None
    if flags is None:
        raise InputError("bits", "no bits given to reset")
    return int(flags)


def _versions(hdul, path, extver, extname):
    if extver is None:
        found = [h.ver for h in hdul if h.name.lower() == extname.lower() and h.is_image]
        if not found:
            raise InputError(path, f"has no {extname.upper()} extension")
        return found
    versions = extver if isinstance(extver, (list, tuple)) else [extver]
    for ver in versions:
        if (extname, int(ver)) not in hdul:
            raise InputError(f"{path}[{extname},{ver}]", "no such extension")
    return [int(v) for v in versions]


def _reset(hdul, path, flags, extver, extname, apply):
    changed = {}
    for ver in _versions(hdul, path, extver, extname):
        hdu = hdul[extname, ver]
        key = f"{extname.upper()},{ver}"
        if hdu.data is None:
            changed[key] = _reset_constant(hdu.header, flags, apply)
            continue
        if not np.issubdtype(hdu.data.dtype, np.integer):
            raise InputError(f"{path}[{key}]", f"holds {hdu.data.dtype} data, not integer flags")
        # ~flags as the array's own integer type: keeps the dtype and works for 16-bit arrays
        # whatever the size of the Python integer
        keep = np.array(~flags).astype(hdu.data.dtype)
        hit = (hdu.data & ~keep) != 0
        changed[key] = int(np.count_nonzero(hit))
        if apply and changed[key]:
            hdu.data[hit] &= keep
    return changed


def _reset_constant(header, flags, apply):
    """HST 'constant' arrays (NAXIS=0 with PIXVALUE): the value stands for every pixel."""
    if "PIXVALUE" not in header:
        return 0
    value = int(header["PIXVALUE"])
    npix = int(header.get("NPIX1", 1)) * int(header.get("NPIX2", 1))
    if not value & flags:
        return 0
    if apply:
        header["PIXVALUE"] = value & ~flags
    return npix


def _report(record, flags, dryrun):
    verb = "would reset" if dryrun else "reset"
    where = "" if dryrun else f" -> {record['output']}"
    for key, count in record["changed"].items():
        print(f"{record['input']}[{key}]: {verb} bits {flags} in {count} pixels{where}")


def _parser():
    p = argparse.ArgumentParser(
        prog="resetbits", description="Clear DQ bits (DrizzlePac's resetbits). Writes "
        "<name>_resetbits.fits (or --outdir/--output) unless --in-place.")
    p.add_argument("input", nargs="+", help="files, wildcards or @list files")
    p.add_argument("--bits", default="4096", help="bits to clear, e.g. 4096 or '4096,8192' "
                   "(default 4096)")
    p.add_argument("--extver", type=int, action="append", help="extension version (repeatable; "
                   "default: all)")
    p.add_argument("--extname", default="dq", help="extension name (default dq)")
    add_output_options(p)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    return run_cli("resetbits", lambda: reset_dq_bits(
        args.input, args.bits, extver=args.extver, extname=args.extname, inplace=args.inplace,
        output=args.output, outdir=args.outdir, clobber=args.clobber, dryrun=args.dryrun))


if __name__ == "__main__":
    sys.exit(main())
