"""pixtosky: pixel positions on one chip -> RA/Dec with the chip's full distortion model.

DrizzlePac's ``drizzlepac.pixtosky.xy2rd`` with the same arguments and defaults: 1-based pixels,
SIP + NPOL + D2IM through stwcs/astropy ``all_pix2world``. Coordinate files and the output
tables are ``snakedrizzle.coords.tables``.
"""
import argparse
import sys
import warnings

from snakedrizzle.coords.tables import (BLANK, add_coordinate_file_options, check_output,
                                       check_precision, fixed, pixel_positions, print_table,
                                       protect_negative_values, sexagesimal, split_values,
                                       write_table)
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import open_wcs

__all__ = ["xy2rd", "main"]

def xy2rd(input, x=None, y=None, coords=None, coordfile=None, colnames=None, separator=None,
          hms=True, precision=6, output=None, verbose=True):
    """Sky positions (degrees, or sexagesimal strings with ``hms``) of pixel positions.

    ``input`` names one chip (``file.fits[sci,1]``); ``x``/``y`` are single values or sequences,
    or ``coordfile`` gives them as columns ``colnames`` (default ``c1,c2``; FITS tables by
    column name). ``coords`` is DrizzlePac's deprecated name for ``coordfile``. Results are
    printed when ``verbose`` or when no ``output`` file is named. Returns ``(ra, dec)``,
    scalars for a single position.
    """
    if coords not in BLANK and coordfile in BLANK:
        warnings.warn("'coords' is deprecated: use 'coordfile'", DeprecationWarning, stacklevel=2)
        coordfile = coords
    check_output(output)
    xs, ys, single = pixel_positions(x, y, coordfile, colnames, separator)
    precision = check_precision(precision)
    wcs = open_wcs(input)
    ra, dec = wcs.all_pix2world(xs, ys, 1)
    if hms:
        ra, dec = sexagesimal(ra, dec, precision)
    shown = verbose or output in BLANK  # DrizzlePac prints unless results go to a file
    if shown or output not in BLANK:
        text = [ra, dec] if hms else [fixed(ra, precision), fixed(dec, precision)]
        if shown:
            print_table(f"# Coordinate transformations for {input}",
                        "# X      Y         RA             Dec", [fixed(xs, 4), fixed(ys, 4)], text)
        if output not in BLANK:
            write_table(output, f"# Coordinates converted from {input}", text)
    return (ra[0], dec[0]) if single else (ra, dec)


def _parser():
    p = argparse.ArgumentParser(
        prog="pixtosky", description="Pixel positions on one chip -> RA, Dec (full distortion, "
        "1-based pixels), as DrizzlePac's pixtosky.xy2rd.")
    p.add_argument("input", help="image and extension, e.g. 'j94f05bgq_flt.fits[sci,1]'")
    p.add_argument("x", nargs="?", help="X pixel position(s), comma separated")
    p.add_argument("y", nargs="?", help="Y pixel position(s), comma separated")
    add_coordinate_file_options(p)
    p.add_argument("--hms", action="store_true", help="print RA, Dec as sexagesimal")
    p.add_argument("--precision", type=int, default=6, help="decimals in the output (default 6)")
    return p


def main(argv=None):
    args = _parser().parse_args(protect_negative_values(sys.argv[1:] if argv is None else argv))
    if args.coordfile is None and (args.x is None or args.y is None):
        _parser().error("give X and Y, or --coordfile")
    x, y = split_values(args.x), split_values(args.y)
    return run_cli("pixtosky", lambda: xy2rd(
        args.input, x=x, y=y, coordfile=args.coordfile, colnames=args.colnames,
        separator=args.separator, hms=args.hms, precision=args.precision, output=args.output,
        verbose=args.verbose))


if __name__ == "__main__":
    sys.exit(main())
