"""pixtopix: pixel positions on one image -> pixel positions on another (or on the default
undistorted output frame), as DrizzlePac's ``drizzlepac.pixtopix.tran``.

Forward: input pixels -> sky through the input's full distortion, sky -> output pixels through
the output's *linear* WCS. Backward inverts that. The output side is linear because DrizzlePac
treats ``outimage`` as a drizzled (undistorted) frame; we keep that on purpose so results agree
with DrizzlePac also when ``outimage`` is a distorted chip: there they are positions in that
chip's linear (undistorted) frame, not its raw pixels. Use ``skytopix.rd2xy`` on the sky
positions for raw pixels of a distorted chip.
"""
import argparse
import sys

import numpy as np

from snakedrizzle.coords.distortion import world_to_pixel
from snakedrizzle.coords.tables import (BLANK, add_coordinate_file_options, check_output,
                                       check_precision, fixed, pixel_positions, print_table,
                                       protect_negative_values, split_values, write_table)
from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import format_extension, open_wcs, parse_extension

__all__ = ["tran", "default_output_wcs", "main"]


def tran(inimage, outimage, direction="forward", x=None, y=None, coordfile=None, colnames=None,
         separator=None, precision=6, output=None, verbose=True):
    """Pixel positions (1-based) transformed between ``inimage`` and ``outimage``.

    ``outimage`` blank means the default undistorted output frame of all SCI chips of
    ``inimage``'s file (stwcs ``output_wcs``, as AstroDrizzle builds it). ``direction`` is
    'forward' (inimage -> outimage) or 'backward'. Returns ``(x, y)``, scalars for one position.
    """
    if str(direction)[:1].lower() not in ("f", "b"):
        raise InputError("direction", f"must be 'forward' or 'backward', not {direction!r}")
    check_output(output)
    xs, ys, single = pixel_positions(x, y, coordfile, colnames, separator)
    precision = check_precision(precision)
    in_wcs = open_wcs(inimage)
    out_wcs = default_output_wcs(inimage) if outimage in BLANK else open_wcs(outimage)
    if str(direction)[:1].lower() == "f":
        ra, dec = in_wcs.all_pix2world(xs, ys, 1)
        ox, oy = out_wcs.wcs_world2pix(ra, dec, 1)
    else:
        ra, dec = out_wcs.wcs_pix2world(xs, ys, 1)
        ox, oy = world_to_pixel(in_wcs, ra, dec, label=str(inimage))
    ox, oy = np.asarray(ox, float), np.asarray(oy, float)
    if verbose or output not in BLANK:  # DrizzlePac's tran prints only when verbose
        text = [fixed(ox, precision), fixed(oy, precision)]
        if verbose:
            print_table(f"# Coordinate transformations for {inimage}",
                        "# X(in)      Y(in)             X(out)         Y(out)",
                        [fixed(xs, 4), fixed(ys, 4)], text)
        if output not in BLANK:
            write_table(output, f"# Coordinates converted from {inimage}", text)
    return (ox[0], oy[0]) if single else (ox, oy)


def default_output_wcs(inimage):
    """The undistorted frame covering every SCI chip of ``inimage``'s file (stwcs output_wcs);
    the named chip alone when the file has no SCI extensions."""
    from astropy.io import fits
    from stwcs.distortion import utils as distortion_utils

    path, ext = parse_extension(inimage)
    with fits.open(path) as hdul:
        versions = [h.ver for h in hdul if h.name == "SCI"]
    chips = [open_wcs(path, ("SCI", v)) for v in versions] or [open_wcs(inimage)]
    try:
        return distortion_utils.output_wcs(chips)
    except Exception as exc:
        where = f"{path}[{format_extension(ext)}]" if ext is not None else path
        raise InputError(where, f"cannot build the default output frame ({exc})") from None


def _parser():
    p = argparse.ArgumentParser(
        prog="pixtopix", description="Pixel positions on one image -> another image or the "
        "default undistorted output frame (1-based), as DrizzlePac's pixtopix.tran. "
        "Positional values: INIMAGE [OUTIMAGE] [X Y].")
    p.add_argument("inimage", help="input image and extension, e.g. 'j94f05bgq_flt.fits[sci,1]'")
    p.add_argument("values", nargs="*", metavar="[OUTIMAGE] [X Y]",
                   help="output image (default: undistorted frame of all inimage chips), then "
                        "X and Y (comma separated for several)")
    p.add_argument("--outimage", help="output image (alternative to the positional one)")
    p.add_argument("--direction", choices=["forward", "backward"], default="forward")
    add_coordinate_file_options(p)
    p.add_argument("--precision", type=int, default=6, help="decimals in the output (default 6)")
    return p


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(protect_negative_values(sys.argv[1:] if argv is None else argv))
    values = [v.strip() for v in args.values]
    outimage = args.outimage
    if len(values) in (1, 3):  # an odd count: the first value names the output image
        if outimage:
            parser.error("the output image is given twice")
        outimage, values = values[0], values[1:]
    if len(values) not in (0, 2):
        parser.error("expected INIMAGE [OUTIMAGE] [X Y]")
    if not values and args.coordfile is None:
        parser.error("give X and Y, or --coordfile")
    x, y = (split_values(values[0]), split_values(values[1])) if values else (None, None)
    return run_cli("pixtopix", lambda: tran(
        args.inimage, outimage, direction=args.direction, x=x, y=y, coordfile=args.coordfile,
        colnames=args.colnames, separator=args.separator, precision=args.precision,
        output=args.output, verbose=args.verbose or args.output is None))


if __name__ == "__main__":
    sys.exit(main())
