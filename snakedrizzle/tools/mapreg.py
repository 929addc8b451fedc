"""mapreg: map DS9 region files onto the chips of images (DrizzlePac's ``mapreg``), e.g. to make
TweakReg ``exclusions`` files.

Regions in sky coordinates (fk5/icrs, galactic, fk4, ecliptic), or in image coordinates of
``refimg``, are converted into image coordinates of every chip through its full distortion
model; each chip gets ``<image>_<extname><extver>_twreg.reg`` in ``outpath`` (none when no region
is left) and ``catfname`` lists the region files per image. "Fixed" regions already in a chip's
image coordinates (``chip_reg``) are appended as they are.

Region files are read and written by astropy ``regions`` (``snakedrizzle.io.regions``) and moved
onto chips by ``snakedrizzle.coords.regions``, which sizes and turns shapes as DrizzlePac's
stregion does; a shape regions cannot read is an error. Unlike DrizzlePac,
image-coordinate regions of ``refimg`` are really converted (DrizzlePac drops them) and
``outpath`` is created when missing.
"""
import argparse
import os
import sys

import numpy as np
from astropy import units as u
from astropy.io import fits
from regions import SkyRegion

from snakedrizzle.coords.regions import pixel_to_sky, sky_to_pixel
from snakedrizzle.errors import InputError
from snakedrizzle.io.cli import run_cli
from snakedrizzle.io.extspec import make_output_folder, open_wcs, parse_extension, set_default_mode
from snakedrizzle.io.fitsio import atomic_path
from snakedrizzle.io.inputs import expand_inputs
from snakedrizzle.io.regions import read_regions, write_regions

__all__ = ["MapReg", "map_region_files", "main"]


# --------------------------------------------------------------------------------------------
# Filtering and writing


def _bounding_box(region):
    """(xmin, ymin, xmax, ymax) in 1-based pixels of a pixel region, as DrizzlePac's fast filter
    computes it (ellipses and boxes from their outer axes)."""
    name = type(region).__name__.removesuffix("PixelRegion")
    if name in ("Polygon", "Line"):
        xy = [getattr(region, n) for n in ("vertices", "start", "end") if n in region._params]
        xs = np.concatenate([np.ravel(c.x) for c in xy]) + 1.0
        ys = np.concatenate([np.ravel(c.y) for c in xy]) + 1.0
        return xs.min(), ys.min(), xs.max(), ys.max()
    x, y = region.center.x + 1.0, region.center.y + 1.0
    if name in ("Point", "Text"):
        return x, y, x, y
    if name.startswith("Circle"):
        r = getattr(region, "radius", None) or region.outer_radius
        return x - r, y - r, x + r, y + r
    a = getattr(region, "width", None) or region.outer_width
    b = getattr(region, "height", None) or region.outer_height
    a, b, angle = a / 2.0, b / 2.0, region.angle.to_value(u.rad)
    if name.startswith("Rectangle"):
        hx = max(abs(a * np.cos(angle) - b * np.sin(angle)), abs(a * np.cos(angle) + b * np.sin(angle)))
        hy = max(abs(a * np.sin(angle) + b * np.cos(angle)), abs(a * np.sin(angle) - b * np.cos(angle)))
    else:
        hx = np.hypot(a * np.cos(angle), b * np.sin(angle))
        hy = np.hypot(a * np.sin(angle), b * np.cos(angle))
    return x - hx, y - hy, x + hx, y + hy


def _inside(region, nx, ny):
    """Does the region's bounding box touch the chip [0.5, n + 0.5]? Approximate, like
    DrizzlePac's 'fast' filter: a region whose box touches the chip is kept."""
    x0, y0, x1, y1 = _bounding_box(region)
    if type(region).__name__ in ("PointPixelRegion", "TextPixelRegion"):
        return 0.5 < x0 < nx + 0.5 and 0.5 < y0 < ny + 0.5
    return 0.5 < x1 and nx + 0.5 > x0 and 0.5 < y1 and ny + 0.5 > y0


# --------------------------------------------------------------------------------------------
# The task


def map_region_files(input_reg, images, img_wcs_ext="sci", refimg=None, ref_wcs_ext="sci",
                     chip_reg=None, outpath="./regions", filter=None, catfname=None,
                     append=False, verbose=True):
    """Write per-chip region files (image coordinates) for every image; return
    ``{image: [region file name or 'None' per extension]}``.

    ``input_reg``: a region file or a list of them. ``images``: file names (comma list,
    wildcards, @list or a list). ``img_wcs_ext``: an extension name (all its versions), an HDU
    number, ``('SCI', 1)``, or a list of these. ``chip_reg``: region files in image coordinates,
    one per extension, appended unchanged. ``filter='fast'`` drops shapes outside the chip.
    """
    if filter not in (None, "", "None") and str(filter).lower() not in ("fast", "precise"):
        raise InputError("filter", f"must be None, 'fast' or 'precise', not {filter!r}")
    fast = filter not in (None, "", "None")  # 'precise' is 'fast' in DrizzlePac too
    outpath = outpath or os.curdir
    make_output_folder(outpath, create=False)  # made (never its parents) once the inputs read
    sky = _input_regions(input_reg, refimg, ref_wcs_ext)
    make_output_folder(outpath)
    catalog = {}
    for image in _image_list(images):
        extensions = _extensions(image, img_wcs_ext)
        fixed = _chip_regions(chip_reg, len(extensions))
        names = []
        for ext, chip in zip(extensions, fixed):
            label = f"{image}[{ext[0]},{ext[1]}]" if isinstance(ext, tuple) else f"{image}[{ext}]"
            nx, ny = _chip_size(image, ext, label)
            shapes = sky_to_pixel(sky, open_wcs(image, _wcs_ext(ext)), label) + (chip or [])
            if fast:
                shapes = [s for s in shapes if _inside(s, nx, ny)]
            if not shapes:
                names.append("None")
                continue
            name = _region_name(image, ext)
            write_regions(os.path.join(outpath, name), shapes, append)
            names.append(name)
            if verbose:
                print(f"{label}: {len(shapes)} regions -> {os.path.join(outpath, name)}")
        catalog[image] = names
    if catfname:
        _write_catalog(os.path.join(outpath, catfname), catalog)
    return catalog


def _input_regions(input_reg, refimg, ref_wcs_ext):
    """The regions of all files as sky regions; image regions converted through ``refimg``."""
    files = [input_reg] if isinstance(input_reg, str) else [f for f in (input_reg or []) if f]
    if not files or not all(isinstance(f, str) and f.strip() for f in files):
        raise InputError("input_reg", "give a region file or a list of region files")
    out = []
    for number, path in enumerate(files, 1):
        regions = read_regions(path.strip())
        image = [r for r in regions if not isinstance(r, SkyRegion)]
        if image:
            wcs = _reference_wcs(path, refimg, ref_wcs_ext, number, len(files))
            regions = [r for r in regions if isinstance(r, SkyRegion)] + pixel_to_sky(image, wcs)
        out += regions
    return out


def _reference_wcs(regfile, refimg, ref_wcs_ext, number, count):
    """The WCS of image-coordinate regions: refimg's [ext], else ref_wcs_ext (version =
    position of the region file when several are given), else the primary header."""
    if refimg in (None, "", " "):
        raise InputError(regfile, "has regions in image coordinates: give refimg")
    path, ext = parse_extension(refimg)
    if ext is None and ref_wcs_ext not in (None, "", " "):
        ext = parse_extension(f"x[{ref_wcs_ext}]")[1]
    if count > 1 and isinstance(ext, tuple):
        ext = (ext[0], number)
    return open_wcs(path, 0 if ext is None else ext)


def _image_list(images):
    items = images.split(",") if isinstance(images, str) else list(images or [])
    names = [parse_extension(str(i).strip())[0] for i in items if str(i).strip()]
    if not names:
        raise InputError("images", "no image given")
    return expand_inputs(names)[0]


def _extensions(image, img_wcs_ext):
    """Concrete extensions: names expand to all their versions in ``image``; names keep the
    case they were given in (it appears in the output names, as in DrizzlePac)."""
    items = img_wcs_ext if isinstance(img_wcs_ext, list) else [img_wcs_ext]
    with fits.open(image) as hdul:
        out = []
        for item in items:
            if isinstance(item, (int, np.integer)) or isinstance(item, tuple):
                out.append(item if isinstance(item, tuple) else int(item))
                continue
            text = str(item).strip()
            if text.isdigit():
                out.append(int(text))
            elif "," in text:
                name, ver = [t.strip() for t in text.split(",")]
                out.append((name, int(ver)))
            else:
                versions = [h.ver for h in hdul if h.name.upper() == text.upper()]
                if not versions:
                    raise InputError(image, f"has no '{text}' extension")
                out += [(text, v) for v in versions]
    return out


def _wcs_ext(ext):
    return (ext[0].upper(), ext[1]) if isinstance(ext, tuple) else ext


def _chip_size(image, ext, label):
    try:
        header = fits.getheader(image, _wcs_ext(ext))
    except (KeyError, IndexError):
        raise InputError(label, "no such extension") from None
    if header.get("NAXIS") != 2 or header.get("NAXIS1", 0) < 1 or header.get("NAXIS2", 0) < 1:
        raise InputError(label, "is not a two-dimensional image")
    return header["NAXIS1"], header["NAXIS2"]


def _chip_regions(chip_reg, count):
    files = [] if chip_reg in (None, "", " ") else [chip_reg] if isinstance(chip_reg, str) \
        else list(chip_reg)
    if len(files) > count:
        print(f"WARNING: {len(files)} chip region files for {count} extensions; "
              f"ignoring {files[count:]}")
    files = (files + [None] * count)[:count]
    regions = []
    for path in files:
        if not path:
            regions.append(None)
            continue
        region = read_regions(path)
        if any(isinstance(r, SkyRegion) for r in region):
            raise InputError(path, "chip regions must be in image coordinates")
        regions.append(region)
    return regions


def _region_name(image, ext):
    base = os.path.splitext(os.path.basename(image))[0]
    suffix = f"_{ext[0]}{ext[1]}_twreg" if isinstance(ext, tuple) else f"_extn{ext}_twreg"
    return f"{base}{suffix}.reg"


def _write_catalog(path, catalog):
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            for image, names in catalog.items():
                f.write(" ".join([image] + names) + "\n")
        set_default_mode(tmp)


def MapReg(input_reg, images, img_wcs_ext="sci", refimg="", ref_wcs_ext="sci", chip_reg="",
           outpath="./regions", filter="", catfname="", append=False, verbose=True):
    """DrizzlePac's string interface: comma-separated file lists, ';'-separated extensions."""
    def split(text, sep=","):
        parts = [p.strip() for p in str(text).split(sep) if p.strip()] if text else []
        return parts

    reg = split(input_reg)
    exts = split(img_wcs_ext, ";")
    chips = split(chip_reg)
    return map_region_files(reg[0] if len(reg) == 1 else reg, images,
                            img_wcs_ext=exts[0] if len(exts) == 1 else exts,
                            refimg=refimg or None, ref_wcs_ext=ref_wcs_ext,
                            chip_reg=(chips[0] if len(chips) == 1 else chips) or None,
                            outpath=outpath, filter=filter or None, catfname=catfname or None,
                            append=append, verbose=verbose)


def _parser():
    p = argparse.ArgumentParser(
        prog="mapreg", description="Map DS9 regions onto the chips of images (DrizzlePac's "
        "mapreg): writes <image>_<ext><ver>_twreg.reg files and an exclusions catalog.")
    p.add_argument("input_reg", help="region file(s), comma separated")
    p.add_argument("images", nargs="+", help="images (wildcards, @list)")
    p.add_argument("--img-wcs-ext", dest="img_wcs_ext", default="SCI",
                   help="extensions, ';' separated (default SCI: every SCI chip)")
    p.add_argument("--refimg", default="", help="image whose WCS image-coordinate regions use")
    p.add_argument("--ref-wcs-ext", dest="ref_wcs_ext", default="sci")
    p.add_argument("--chip-reg", dest="chip_reg", default="",
                   help="fixed region files in image coordinates, one per extension, comma list")
    p.add_argument("--outpath", default="./regions", help="output directory (default ./regions)")
    p.add_argument("--filter", default=None, choices=["fast", "precise"],
                   help="drop regions outside the chip")
    p.add_argument("--catfname", default="exclusions_cat.txt",
                   help="catalog file name in outpath (default exclusions_cat.txt; '' for none)")
    p.add_argument("--append", action="store_true", help="add to existing region files")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    return run_cli("mapreg", lambda: MapReg(
        args.input_reg, ",".join(args.images), img_wcs_ext=args.img_wcs_ext, refimg=args.refimg,
        ref_wcs_ext=args.ref_wcs_ext, chip_reg=args.chip_reg, outpath=args.outpath,
        filter=args.filter or "", catfname=args.catfname, append=args.append,
        verbose=not args.quiet))


if __name__ == "__main__":
    sys.exit(main())
