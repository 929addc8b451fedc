"""skytopix: RA/Dec -> pixel positions on one chip, inverting the full distortion model.

DrizzlePac's ``drizzlepac.skytopix.rd2xy`` with the same arguments and defaults. The inversion is
stwcs's vectorised iterative ``all_world2pix`` (1-based pixels), run to a tighter tolerance than
DrizzlePac's 1e-4 px. Where it does not converge, those positions fall back to the linear WCS
with a warning that says how many. (DrizzlePac means to do that too, but it catches the wrong
exception type, so its fallback never runs.)
"""
import argparse
import io
import sys
import warnings

import numpy as np

from snakedrizzle.errors import InputError
from snakedrizzle.io.extspec import open_wcs
from snakedrizzle.coords.pixtosky import (_BLANK, add_coordinate_file_options, check_precision, fixed, print_table,
                       protect_negative_values, read_columns, run_cli, split_values, write_table)

__all__ = ["rd2xy", "world_to_pixel", "parse_angles", "main"]

# Accuracy and effort of the distortion inversion: far below any astrometric need, and the
# fixed-point iteration converges in a handful of steps for HST-sized distortions.
TOLERANCE_PX = 1e-8
MAXITER = 50


def rd2xy(input, ra=None, dec=None, coordfile=None, colnames=None, precision=6, output=None,
          verbose=True, *, separator=None):
    """Pixel positions (1-based) on ``input`` (``file.fits[sci,1]``) of sky positions.

    ``ra``/``dec`` are decimal degrees or sexagesimal strings ('00:24:05.67', '-72:04:52.6',
    '00h24m05.67s'; RA strings are hours), single or sequences; or ``coordfile`` holds them in
    columns ``colnames`` (default ``c1,c2``; ``['c1,c2,c3', 'c4,c5,c6']`` for values spread over
    three columns). Returns ``(x, y)``, scalars for a single position.
    """
    ras, decs, single = sky_positions(ra, dec, coordfile, colnames, separator)
    precision = check_precision(precision)
    wcs = open_wcs(input)
    xs, ys = world_to_pixel(wcs, ras, decs, label=str(input))
    shown = verbose or output in _BLANK  # DrizzlePac prints unless results go to a file
    if shown or output not in _BLANK:
        text = [fixed(xs, precision), fixed(ys, precision)]
        if shown:
            print_table(f"# Coordinate transformations for {input}",
                        "# X      Y         RA             Dec", text, [fixed(ras, 9), fixed(decs, 9)])
        if output not in _BLANK:
            write_table(output, f"# Coordinates converted from {input}", text)
    return (xs[0], ys[0]) if single else (xs, ys)


def sky_positions(ra, dec, coordfile=None, colnames=None, separator=None):
    """``(ra_deg, dec_deg, single)`` from values or from a coordinate file."""
    if coordfile not in _BLANK:
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


def world_to_pixel(wcs, ra, dec, label="input"):
    """1-based pixels of sky positions through the full distortion model, vectorised.

    Positions where the iteration diverges or stalls take the linear WCS solution instead, with
    a warning that says how many did.
    """
    ra, dec = np.asarray(ra, float).ravel(), np.asarray(dec, float).ravel()
    x, y, failed = _invert(wcs, ra, dec)
    if failed.size:
        x[failed], y[failed] = wcs.wcs_world2pix(ra[failed], dec[failed], 1)
        warnings.warn(f"{label}: the distortion inversion did not converge for {failed.size} of "
                      f"{ra.size} positions; used the linear WCS (no distortion) for them",
                      stacklevel=2)
    lost = np.count_nonzero(~np.isfinite(x) & np.isfinite(ra) & np.isfinite(dec))
    if lost:
        warnings.warn(f"{label}: {lost} of {ra.size} positions cannot be projected onto this "
                      "image (too far from it); their pixels are NaN", stacklevel=2)
    return x, y


def _invert(wcs, ra, dec):
    """``(x, y, failed_indices)``. After a failure the other positions are solved again on their
    own: once a diverging point is detected stwcs stops refining the whole batch, which leaves
    converging points short of the tolerance."""
    from astropy.wcs import NoConvergence as AstropyNoConvergence
    from stwcs.wcsutil.hstwcs import NoConvergence as StwcsNoConvergence

    nan = np.full(ra.size, np.nan)
    try:
        x, y = wcs.all_world2pix(ra, dec, 1, tolerance=TOLERANCE_PX, maxiter=MAXITER,
                                 adaptive=False, detect_divergence=True, quiet=False)
        return np.array(x, float).ravel(), np.array(y, float).ravel(), np.array([], int)
    except StwcsNoConvergence as exc:
        failed = np.union1d(_indices(exc.divergent), _indices(exc.failed2converge))
    except AstropyNoConvergence as exc:
        failed = np.union1d(_indices(exc.divergent), _indices(exc.slow_conv))
    except RuntimeError:
        failed = np.arange(ra.size)
    if failed.size == 0:  # a failure that names no position: trust none
        failed = np.arange(ra.size)
    good = np.setdiff1d(np.arange(ra.size), failed)
    x, y = nan.copy(), nan.copy()
    if good.size:
        gx, gy, gfailed = _invert(wcs, ra[good], dec[good])
        x[good], y[good] = gx, gy
        failed = np.union1d(failed, good[gfailed])
    return x, y, failed


def _indices(value):
    return np.asarray([] if value is None else value, dtype=int).ravel()


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
