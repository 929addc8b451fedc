"""runastrodriz's public files: the product (``<root>_drz.fits``/``_drc.fits``) and the trailer
``<root>.tra`` (SPEC-HAP H9 step 8)."""
import datetime
import glob
import json
import os

import numpy as np
from astropy.io import fits

from snakedrizzle import wcs as W
from snakedrizzle.hap import keywords
from snakedrizzle.io.fitsio import atomic_path, write_hdulist
from snakedrizzle.pipeline.wcsnames import wcstype

__all__ = ["product_stage", "trailer_stage"]


def _chosen_wcsname(headerlets):
    names = {str(fits.getval(h, "WCSNAME", 0, default="")) for h in headerlets}
    return names.pop() if len(names) == 1 else "; ".join(sorted(names))


def product_stage(drizzle_file, cascade_file, headerlets, out, root):
    """A copy of the final AstroDrizzle product (pixels untouched) with the pipeline's keywords:
    ROOTNAME, FILENAME, DRIZPARS (the trailer), S_REGION, and in SCI the WCSNAME/WCSTYPE of the
    WCS its exposures were drizzled with, plus the cascade's chosen stage."""
    with open(cascade_file) as f:
        decision = json.load(f)
    with fits.open(drizzle_file) as hdul:
        copy = fits.HDUList([hdu.copy() for hdu in hdul])
    primary, sci = copy[0].header, copy["SCI"].header
    primary["ROOTNAME"] = (root, "product root (runastrodriz)")
    primary["FILENAME"] = (os.path.basename(out), "name of this file")
    primary["DRIZPARS"] = (f"{root}.tra", "trailer with the drizzle and alignment steps")
    primary["ASTRSTAG"] = (decision["chosen"], "runastrodriz cascade stage chosen (default/apriori/aposteriori)")
    name = _chosen_wcsname(headerlets)
    sci["WCSNAME"] = (name or "OPUS", "WCS of the drizzled exposures")
    sci["WCSTYPE"] = (wcstype(name), "type of that WCS")
    frame = W.frame_from_header(sci)
    frame.pixel_shape = (sci["NAXIS1"], sci["NAXIS2"])
    sci["S_REGION"] = (keywords.s_region(np.asarray(copy["WHT"].data), frame), "footprint of the data")
    write_hdulist(copy, out)


def _log_text(pattern):
    parts = []
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path, errors="replace") as f:
            text = f.read().strip()
        if text:
            parts.append(f"--- {path}\n{text}")
    return parts


def trailer_stage(root, notes, cascade_file, fit_table, products, log_dirs, out):
    """``<root>.tra``: the left-out exposures and stage notes, every stage tried and why it was
    kept or rejected, the a posteriori fit per exposure, the products, then the jobs' logs (read
    when present: logs are not workflow inputs)."""
    with open(cascade_file) as f:
        decision = json.load(f)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    lines = [f"runastrodriz (snakedrizzle) trailer for {root}, written {now} UTC", ""]
    lines += [f"note: {n}" for n in notes]
    lines += ["", "cascade:"] + [f"  {line}" for line in decision["lines"]]
    for stage, verdict in decision.get("verdicts", {}).items():
        lines.append(f"  {stage} verification: {json.dumps(verdict, default=str)}")
    if fit_table and os.path.isfile(fit_table):
        with open(fit_table) as f:
            lines += ["", "a posteriori fit table:"] + [f"  {x}" for x in f.read().splitlines() if not x.startswith("#")]
    lines += ["", "products:"] + [f"  {os.path.basename(p)}" for p in products]
    logs = [part for d in log_dirs for part in _log_text(os.path.join(d, "**", "*.log"))]
    lines += ["", "job logs:"] + (logs or ["  (none found)"])
    with atomic_path(out) as tmp:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
