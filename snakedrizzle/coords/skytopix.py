"""skytopix: RA/Dec -> pixel positions on one chip, inverting the full distortion model.

DrizzlePac's ``drizzlepac.skytopix.rd2xy`` with the same arguments and defaults; the inversion
(1-based pixels, tighter than DrizzlePac's, with a linear fallback) is
``snakedrizzle.coords.distortion.world_to_pixel``.
"""
import argparse
import io
import sys

import numpy as np

from snakedrizzle.coords.distortion import world_to_pixel
from snakedrizzle.coords.tables import (BLANK, add_coordinate_file_options, check_output,
                                       check_precision, fixed, print_table,
                                       protect_negative_values, read_columns, split_values,
                                       write_table)
from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import open_wcs

__all__ = ["rd2xy", "world_to_pixel", "parse_angles", "main"]


def rd2xy(input, ra=None, dec=None, coordfile=None, colnames=None, precision=6, output=None,
          verbose=True, *, separator=None):
    """Pixel positions (1-based) on ``input`` (``file.fits[sci,1]``) of sky positions.

    ``ra``/``dec`` are decimal degrees or sexagesimal strings ('00:24:05.67', '-72:04:52.6',
    '00h24m05.67s'; RA strings are hours), single or sequences; or ``coordfile`` holds them in
    columns ``colnames`` (default ``c1,c2``; ``['c1,c2,c3', 'c4,c5,c6']`` for values spread over
    three columns). Returns ``(x, y)``, scalars for a single position.
    """
    check_output(output)
    ras, decs, single = sky_positions(ra, dec, coordfile, colnames, separator)
    precision = check_precision(precision)
    wcs = open_wcs(input)
    xs, ys = world_to_pixel(wcs, ras, decs, label=str(input))
    shown = verbose or output in BLANK  # DrizzlePac prints unless results go to a file
    if shown or output not in BLANK:
        text = [fixed(xs, precision), fixed(ys, precision)]
        if shown:
            print_table(f"# Coordinate transformations for {input}",
                        "# X      Y         RA             Dec", text, [fixed(ras, 9), fixed(decs, 9)])
        if output not in BLANK:
            write_table(output, f"# Coordinates converted from {input}", text)
    return (xs[0], ys[0]) if single else (xs, ys)


def sky_positions(ra, dec, coordfile=None, colnames=None, separator=None):
    """``(ra_deg, dec_deg, single)`` from values or from a coordinate file."""
    if coordfile not in BLANK:
        cols, names = read_columns(coordfile, colnames, separator)
        return (parse_angles(cols[0], hours=True, source=coordfile, name=names[0]),
                parse_angles(cols[1], hours=False, source=coordfile, name=names[1]), False)
    if ra is None or dec is None:
        raise InputError("ra, dec", "give sky positions ra and dec, or a coordfile")
    single = np.ndim(ra) == 0 and np.ndim(dec) == 0
    ras = parse_angles(np.atleast_1d(ra).ravel(), hours=True, source="ra", name="ra")
    decs = parse_angles(np.atleast_1d(dec).ravel(), hours=False, source="dec", name="dec")
    if ras.size != decs.size:
        raise InputError("ra, dec", f"{ras.size} RA values but {decs.size} Dec values")
    return ras, decs, single


def parse_angles(values, hours, source, name):
    """Degrees from decimal degrees or sexagesimal text (hours when ``hours``), vectorised.

    Three-field sexagesimal text is parsed in one ``numpy.loadtxt`` call (10,000 values in
    milliseconds; astropy's per-string parser takes half a second); anything else goes
    through ``astropy.coordinates.Angle``.
    """
    values = np.asarray(values)
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        pass
    text = np.char.strip(values.astype(str))
    try:
        return _three_fields(text) * (15.0 if hours else 1.0)
    except ValueError:
        pass
    # the rare forms (two fields, mixed decimal and text): one value at a time
    column = f" in column {name}" if name != source else ""
    return np.array([_one_angle(v, hours, source, column) for v in text.tolist()])


def _one_angle(text, hours, source, column):
    """A decimal value is degrees (as in DrizzlePac), text is sexagesimal hours or degrees."""
    from astropy import units as u
    from astropy.coordinates import Angle

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(Angle(text, unit=u.hourangle if hours else u.deg).deg)
    except Exception:
        raise InputError(source, f"cannot read {text!r} as an angle{column}") from None


def _three_fields(text):
    flat = np.char.lower(text)
    for char in "hdms:'\"":
        flat = np.char.replace(flat, char, " ")
    fields = np.loadtxt(io.StringIO("\n".join(flat.tolist())), ndmin=2)
    if fields.shape != (len(text), 3):
        raise ValueError("not three fields per value")
    # the sign sits on the first field only; '-00 30 00' parses to -0.0, so use signbit
    sign = np.where(np.signbit(fields[:, 0]), -1.0, 1.0)
    return sign * (np.abs(fields[:, 0]) + fields[:, 1] / 60.0 + fields[:, 2] / 3600.0)


def _parser():
    p = argparse.ArgumentParser(
        prog="skytopix", description="RA, Dec -> pixel positions on one chip (full distortion, "
        "1-based pixels), as DrizzlePac's skytopix.rd2xy.")
    p.add_argument("input", help="image and extension, e.g. 'j94f05bgq_flt.fits[sci,1]'")
    p.add_argument("ra", nargs="?", help="RA: degrees or h:m:s, comma separated for several")
    p.add_argument("dec", nargs="?", help="Dec: degrees or d:m:s, comma separated for several")
    add_coordinate_file_options(p)
    p.add_argument("--precision", type=int, default=3, help="decimals in the output (default 3)")
    return p


def main(argv=None):
    args = _parser().parse_args(protect_negative_values(sys.argv[1:] if argv is None else argv))
    if args.coordfile is None and (args.ra is None or args.dec is None):
        _parser().error("give RA and DEC, or --coordfile")
    return run_cli("skytopix", lambda: rd2xy(
        args.input, ra=split_values(args.ra), dec=split_values(args.dec), coordfile=args.coordfile,
        colnames=args.colnames, precision=args.precision, output=args.output,
        verbose=args.verbose, separator=args.separator))


if __name__ == "__main__":
    sys.exit(main())
