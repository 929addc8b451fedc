"""Coordinate input and output shared by pixtosky, skytopix and pixtopix: positions from values or
coordinate files (ASCII or FITS tables), fixed-point and sexagesimal text, the printed and
written result tables, and the command-line options and value lists of the three tools."""
import os
import sys

import numpy as np

from snakedrizzle.errors import InputError
from snakedrizzle.io.extspec import check_output_file, set_default_mode
from snakedrizzle.io.fitsio import atomic_path

__all__ = ["BLANK", "pixel_positions", "column_specs", "read_columns", "as_float", "check_precision",
           "fixed", "sexagesimal", "print_table", "write_table", "protect_negative_values",
           "split_values", "add_coordinate_file_options", "check_output"]

BLANK = (None, "", " ")  # DrizzlePac's ways of leaving a file parameter unset


# --------------------------------------------------------------------------------------------
# Shared coordinate input


def pixel_positions(x, y, coordfile=None, colnames=None, separator=None):
    """``(xs, ys, single)`` as float arrays from values or from a coordinate file."""
    if coordfile not in BLANK:
        cols, names = read_columns(coordfile, colnames, separator)
        return (as_float(cols[0], coordfile, names[0]), as_float(cols[1], coordfile, names[1]),
                False)
    if x is None or y is None:
        raise InputError("x, y", "give pixel positions x and y, or a coordfile")
    single = np.ndim(x) == 0 and np.ndim(y) == 0
    xs = as_float(np.atleast_1d(x).ravel(), "x", "x")
    ys = as_float(np.atleast_1d(y).ravel(), "y", "y")
    if xs.size != ys.size:
        raise InputError("x, y", f"{xs.size} x values but {ys.size} y values")
    return xs, ys, single


def column_specs(colnames):
    """DrizzlePac's ``colnames``: ``'c1,c3'`` or ``['c1', 'c3']``; a list item may group several
    columns (``['c1,c2,c3', 'c4,c5,c6']``) holding one sexagesimal value."""
    if colnames in BLANK:
        colnames = ["c1", "c2"]
    if isinstance(colnames, str):
        colnames = colnames.split(",")
    specs = []
    for item in colnames:
        if not isinstance(item, str):
            raise InputError("colnames", f"column {item!r}: name columns 'c1', 'c2', ... "
                             "(1-based) or by their table names")
        specs.append([part.strip() for part in item.split(",") if part.strip()])
    if len(specs) < 2 or not all(specs[:2]):
        raise InputError("colnames", f"need two columns, got {colnames!r}")
    return specs[:2]


def read_columns(coordfile, colnames=None, separator=None):
    """The two requested columns of an ASCII or FITS-table coordinate file, and their names.

    ASCII columns come back as strings (so '-00' keeps its sign for sexagesimal values); FITS
    table columns keep their type. A grouped spec is joined into one 'a:b:c' string per row.
    """
    coordfile = os.fspath(coordfile)
    if not os.path.isfile(coordfile):
        raise InputError(coordfile, "coordinate file not found")
    table = _read_fits_table(coordfile) or _read_ascii_table(coordfile, separator)
    if len(table) == 0:
        raise InputError(coordfile, "the coordinate file has no rows")
    columns, names = [], []
    for group in column_specs(colnames):
        parts = [_column(table, name, coordfile) for name in group]
        if len(parts) == 1:
            columns.append(np.asarray(parts[0]))
        else:
            joined = parts[0].astype(str)
            for part in parts[1:]:
                joined = np.char.add(np.char.add(joined, ":"), part.astype(str))
            columns.append(joined)
        names.append(",".join(group))
    return columns, names


def _read_fits_table(path):
    from astropy.io import fits
    from astropy.table import Table

    try:
        with fits.open(path) as hdul:
            index = next((i for i, h in enumerate(hdul)
                          if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
    except OSError:
        return None  # not FITS: an ASCII file
    if index is None:
        raise InputError(path, "a FITS file without a table extension is not a coordinate file")
    return Table.read(path, hdu=index)


def _read_ascii_table(path, separator):
    from astropy.io import ascii

    try:
        # every column as text: numeric conversion is ours, so errors name the column
        return ascii.read(path, format="no_header", guess=False, comment="#",
                          delimiter=separator if separator not in BLANK else " ",
                          converters={"*": [ascii.convert_numpy(str)]})
    except Exception as exc:
        raise InputError(path, f"cannot read it as a table of columns ({exc})") from None


def _column(table, name, path):
    lowered = {c.lower(): c for c in table.colnames}
    if name.lower() in lowered:
        return np.asarray(table[lowered[name.lower()]])
    if name[:1].lower() == "c" and name[1:].isdigit():
        index = int(name[1:]) - 1
        if 0 <= index < len(table.colnames):
            return np.asarray(table[table.colnames[index]])
        raise InputError(path, f"column {name} requested but the file has "
                         f"{len(table.colnames)} columns")
    raise InputError(path, f"no column {name!r} (columns: {', '.join(table.colnames)})")


def as_float(values, source, name):
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        bad = next(v for v in np.ravel(values) if not _is_number(v))
        raise InputError(source, f"column {name} is not numeric (e.g. {str(bad)!r})") from None


def _is_number(value):
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def check_precision(precision):
    if not isinstance(precision, (int, np.integer)) or not 0 <= precision <= 12:
        raise InputError("precision", f"must be a whole number of digits 0..12, not {precision!r}")
    return int(precision)


# --------------------------------------------------------------------------------------------
# Shared formatting and output


def fixed(values, precision):
    """Numbers as fixed-point text with ``precision`` decimals.

    Text output is the one per-value step; a list comprehension over ``tolist()`` is the
    fastest way to do it (``numpy.char.mod`` loops too, three times slower).
    """
    fmt = f"{{:.{precision}f}}".format
    return [fmt(v) for v in np.asarray(values, dtype=float).ravel().tolist()]


def sexagesimal(ra, dec, precision=6):
    """RA (h:m:s, wrapped to 0..24h) and Dec (+/-d:m:s) text arrays, rounding carried.

    Integer arithmetic on the rounded last digit, so 59.9999999 s becomes the next minute and
    -0.5 deg keeps its sign (DrizzlePac's ``ddtohms`` loses both).
    """
    return (_sexagesimal(np.asarray(ra, float) / 15.0, precision, wrap=24, signed=False),
            _sexagesimal(np.asarray(dec, float), precision, wrap=None, signed=True))


def _sexagesimal(values, precision, wrap, signed):
    values = np.atleast_1d(values).ravel()
    scale = 10 ** precision
    ticks = np.round(np.abs(values) * 3600.0 * scale).astype(np.int64)
    negative = np.signbit(values) & (ticks > 0)
    if wrap:
        full = wrap * 3600 * scale
        ticks = np.where(negative, full - ticks, ticks) % full
        negative[:] = False
    seconds, frac = np.divmod(ticks, scale)
    units, rest = np.divmod(seconds, 3600)
    minutes, secs = np.divmod(rest, 60)
    signs = np.where(negative, "-", "+" if signed else "").tolist()
    fields = zip(signs, units.tolist(), minutes.tolist(), secs.tolist(), frac.tolist())
    if precision:
        text = [f"{g}{u:02d}:{m:02d}:{s:02d}.{f:0{precision}d}" for g, u, m, s, f in fields]
    else:
        text = [f"{g}{u:02d}:{m:02d}:{s:02d}" for g, u, m, s, _ in fields]
    return np.array(text)


def _rows(columns, gap):
    return [gap.join(cells) for cells in zip(*columns)]


def print_table(title, heading, left, right):
    rows = [f"{a}    {b}" for a, b in zip(_rows(left, "  "), _rows(right, "  "))]
    sys.stdout.write(f"{title}\n{heading}\n\n" + "\n".join(rows) + "\n")


def check_output(output):
    """A named results file goes into a folder that exists (checked before any work)."""
    if output not in BLANK:
        check_output_file(output)


def write_table(output, title, columns):
    check_output_file(output)  # atomic_path would create the folder: a tool creates none
    with atomic_path(os.fspath(output)) as tmp:
        with open(tmp, "w") as f:
            f.write(f"{title}\n")
            f.write("\n".join(_rows(columns, "    ")) + "\n")
        set_default_mode(tmp)
    print(f"Wrote out results to: {output}")


# --------------------------------------------------------------------------------------------
# Command line


def protect_negative_values(argv):
    """Let '-72:04:52' or '-5' through argparse as positional values, not as options."""
    return [" " + a if len(a) > 1 and a[0] == "-" and (a[1].isdigit() or a[1] == ".") else a
            for a in argv]


def split_values(text):
    """A command-line value list: '10,20.5,30' -> ['10', '20.5', '30']."""
    return [v.strip() for v in text.split(",") if v.strip()] if text is not None else None


def add_coordinate_file_options(parser, default_cols="c1,c2"):
    parser.add_argument("--coordfile", help="file with the positions in columns (ASCII or FITS table)")
    parser.add_argument("--colnames", help=f"the two columns to read (default {default_cols})")
    parser.add_argument("--separator", help="column separator of an ASCII coordfile (default: blanks)")
    parser.add_argument("--output", help="write the results to this file")
    parser.add_argument("--verbose", action="store_true", help="print the results even with --output")
