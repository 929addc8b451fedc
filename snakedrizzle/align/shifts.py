"""The shifts table (one row per exposure) as ECSV and as TweakReg's plain-text shiftfile."""
from astropy.table import Table

from snakedrizzle.io.fitsio import atomic_path

COLUMNS = ("image", "xsh", "ysh", "rot", "scale", "xrms", "yrms", "nmatch", "status",
           "skew", "rmse", "mae", "rms_ra", "rms_dec", "nsources")
UNITS = {"xsh": "pix", "ysh": "pix", "rot": "deg", "xrms": "pix", "yrms": "pix", "rmse": "pix",
         "mae": "pix", "rms_ra": "deg", "rms_dec": "deg"}


def shifts_table(results, reference="", fitgeometry=""):
    """Rows in input order from the per-exposure fit results (dicts)."""
    table = Table(rows=[{c: r.get(c) for c in COLUMNS} for r in results], names=COLUMNS)
    for col, unit in UNITS.items():
        table[col].unit = unit
    table.meta.update({"reference": reference, "fitgeometry": fitgeometry, "frame": "reference",
                       "comment": ["xsh, ysh: image minus reference, reference-frame pixels about its CRPIX",
                                   "image = A . reference + (xsh, ysh); rot, scale of A (TweakReg's convention)"]})
    return table


def write_shiftfile(table, path, refwcs_name):
    """TweakReg's shiftfile: frame/refimage/form/units header, then name xsh ysh rot scale xrms yrms."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(f"# frame: output\n# refimage: {refwcs_name}[wcs]\n# form: delta\n# units: pixels\n")
        for row in table:
            xrms = row["xrms"] if row["xrms"] == row["xrms"] else 0.0   # NaN (no fit) -> 0 as TweakReg
            yrms = row["yrms"] if row["yrms"] == row["yrms"] else 0.0
            f.write(f"{row['image']}    {row['xsh']:.6f}  {row['ysh']:.6f}    {row['rot']:.6f}     "
                    f"{row['scale']:.6f}   {xrms:.6f}  {yrms:.6f}\n")
    return path


def read_shiftfile(path):
    """{image: (xsh, ysh, rot, scale)} from a TweakReg-format shiftfile."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, *values = line.split()
                out[name] = tuple(float(v) for v in values[:4])
    return out
