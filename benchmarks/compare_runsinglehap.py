"""snakedrizzle's SVM workflow against DrizzlePac's ``runsinglehap``, side by side on the same files.

    python benchmarks/compare_runsinglehap.py [--workdir DIR] [--json FILE] [--timeout S]
                                              [--half | --full]

Input: one synthetic ACS/WFC visit of 4 FLCs in two filters (F606W x2, F814W x2; half-size chips
by default), written by snakedrizzle.simulate. Both sides run without network: DrizzlePac's
catalog and astrometry services point at a closed local port, so its Gaia query fails at once
and it keeps the header WCS, as ours does (alignment is not done yet). Each side is timed as a
whole process tree (imports and Snakemake start-up included); peak RSS is the largest sum of RSS
over the tree (psutil polling every 0.1 s) and, for reference, the largest single process.

DrizzlePac 3.11's catalog step fails with photutils 3 (KeyError 'xcentroid', after its drizzle
products exist); runsinglehap logs it, returns 1 and the process exits 0. Its wall time is
reported whole and up to its last drizzle product (``wall_to_products``), a run is cut off at
``--timeout``. The figures are printed as ratios and written
to JSON.

The helpers (poller writing, DrizzlePac-ready copies, the measured run) are shared with
tests/test_hap_parity.py.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLOSED_PORT = "http://127.0.0.1:9"      # nothing listens there: connections are refused at once
# DrizzlePac's network switches: Gaia/GSC catalog queries, the astrometry database
NO_NETWORK = {"ASTROMETRIC_CATALOG_URL": CLOSED_PORT, "ASTROMETRY_SERVICE_URL": CLOSED_PORT,
              "GSSS_WEBSERVICES_URL": CLOSED_PORT, "ASTROMETRY_STEP_CONTROL": "off"}
# Where DrizzlePac's log says a step starts (first occurrence counts); its lines are stamped %Y%j%H%M%S.
DP_STEPS = {
    "poller and tree": "Parse the poller",
    "alignment to Gaia": "ALIGNED WCS",
    "drizzle products": "CREATE DRIZZLE-COMBINED FILTER IMAGE",
    "CAOM header updates": "Updating these drizzle products for CAOM",
    "catalogs": "Create source catalog from newly defined product",
}
DP_PRODUCT = re.compile(r"^hst_\d+_\w+_(?:dr[cz])\.fits$")


# ---- inputs ------------------------------------------------------------------------------------

def write_poller(files, path):
    """DrizzlePac's 8-column poller (filename, proposal_id, program_id, obset_id, exptime, filters,
    detector, path) of ``files``, every field from the headers as HAP's poller would list it."""
    from snakedrizzle.hap.poller import row_from_header

    lines = []
    for f in sorted(files):
        r = row_from_header(os.path.abspath(f))
        lines.append(",".join([r.filename, r.proposal_id, r.program_id, r.obset_id, repr(r.exptime),
                               r.filters, r.detector, os.path.abspath(f)]))
    Path(path).write_text("\n".join(lines) + "\n")
    return str(path)


def drizzlepac_copies(files, folder):
    """Writable copies of ``files`` in ``folder`` (DrizzlePac renames and edits its inputs), with
    MTFLAG added where missing: its exclusion check reads the keyword without a default."""
    from astropy.io import fits

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for f in files:
        dest = folder / Path(f).name
        shutil.copy(f, dest)
        os.chmod(dest, 0o644)
        with fits.open(dest, mode="update") as hdul:
            if "MTFLAG" not in hdul[0].header:
                hdul[0].header["MTFLAG"] = ""
        copies.append(str(dest))
    return copies


# ---- measuring one command -----------------------------------------------------------------------

def _tree_rss(proc):
    """(sum of RSS over the process tree, largest single RSS, sum of PSS), bytes; 0 for vanished
    processes. PSS (proportional set size) counts a page shared by n processes as 1/n in each:
    the job server's forked workers share the science stack's pages with it, which a sum of
    RSS counts once per process; PSS summed over the tree is the memory the run really holds."""
    import psutil

    total = largest = pss = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    for p in members:
        try:
            rss = p.memory_info().rss
            pss += getattr(p.memory_full_info(), "pss", rss)
        except psutil.Error:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest, pss


def _kill_tree(proc):
    import psutil

    for p in [*proc.children(recursive=True), proc]:
        try:
            p.kill()
        except psutil.Error:
            pass


def measured(cmd, cwd, env=None, timeout=None, log=None):
    """Run ``cmd`` to completion (or ``timeout`` s) with its output in ``log``. Returns wall
    seconds, peak tree RSS and largest process RSS (MB), the exit status (None when cut off) and
    whether it was cut off."""
    import psutil

    log = Path(log or Path(cwd) / "run.log")
    with open(log, "w") as out:
        t0 = time.perf_counter()
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        proc = psutil.Process(popen.pid)
        peak_tree = peak_one = peak_pss = 0
        cut = False
        while popen.poll() is None:
            tree, one, pss = _tree_rss(proc)
            peak_tree, peak_one, peak_pss = max(peak_tree, tree), max(peak_one, one), max(peak_pss, pss)
            elapsed = time.perf_counter() - t0
            if timeout and elapsed > timeout:
                cut = True
                _kill_tree(proc)
                popen.wait()
                break
            time.sleep(0.1)
        wall = time.perf_counter() - t0
    return {"wall": wall, "rss_tree_mb": peak_tree / 2**20, "rss_max_mb": peak_one / 2**20,
            "pss_tree_mb": peak_pss / 2**20,
            "returncode": None if cut else popen.returncode, "cut_off": cut, "log": str(log)}


# ---- the two sides -------------------------------------------------------------------------------

def run_drizzlepac(files, folder, timeout=1200):
    """DrizzlePac's runsinglehap on copies of ``files`` in ``folder`` (no network). Returns the
    measurement, the steps its log reached, its products (HAP names) and its wall time to the
    last of them."""
    shutil.rmtree(folder, ignore_errors=True)
    drizzlepac_copies(files, folder)
    poller = write_poller(glob.glob(str(Path(folder) / "*_fl[ct].fits")), Path(folder) / "poller.csv")
    env = {**os.environ, **NO_NETWORK}
    t0 = time.time()
    run = measured([sys.executable, "-m", "drizzlepac.runsinglehap", poller], folder, env=env,
                   timeout=timeout, log=Path(folder) / "runsinglehap.out")
    text = Path(run["log"]).read_text(errors="replace")
    run["steps"] = _step_starts(text, t0)
    run["errors"] = sorted(set(re.findall(r"^(\w*(?:Error|Exception): .{0,200})$", text, re.M)))
    value = re.search(r"^Return Value:\s*(\S+)", text, re.M)
    run["return_value"] = value[1] if value else None   # runsinglehap's own status (0 = success)
    products = sorted(p for p in os.listdir(folder) if DP_PRODUCT.match(p))
    run["products"] = products
    mtimes = [os.path.getmtime(Path(folder) / p) for p in products]
    run["wall_to_products"] = (max(mtimes) - t0) if mtimes else None
    run["sky_fallback_levels"] = drizzlepac_sky_fallbacks(folder)
    return run


def _step_starts(text, t0):
    """{step: seconds from the start of the run} of each DrizzlePac step its log reached."""
    from datetime import datetime

    starts = {}
    for step, mark in DP_STEPS.items():
        m = re.search(r"^(\d{13}) .*" + re.escape(mark), text, re.M)
        if m:
            stamp = datetime.strptime(m[1], "%Y%j%H%M%S").timestamp()
            starts[step] = round(stamp - t0, 1)
    return starts


CATALOGS_LEFT_OUT = ("--omit-from", "svm_detection")


def snakemake_cmd(work, poller, cores=2, svm_pars=None, extra=(), align_pars=None):
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--cores", str(cores), "-q", *extra, "--config", f"poller={poller}",
            *([f"svm_pars={svm_pars}"] if svm_pars else []), *([f"align_pars={align_pars}"] if align_pars else [])]


def drizzlepac_sky_fallbacks(folder):
    """Levels ('filter', 'total', 'exposure') where DrizzlePac's sky matching raised and it fell back
    to localmin/globalmin (its warning in the product's trailer)."""
    levels = set()
    for trl in Path(folder).glob("hst_*_trl.txt"):
        if "Reverting sky computation" in trl.read_text(errors="replace"):
            ipppss = trl.name.split("_")[-2]
            levels.add("total" if "_total_" in trl.name else "exposure" if len(ipppss) == 8 else "filter")
    return sorted(levels)


def run_ours(files, folder, cores=2, svm_pars=None, extra=(), align_pars=None):
    """Our SVM workflow on read-only copies of ``files`` (poller: the same 8-column CSV); ``extra``:
    more Snakemake options (the parity test leaves out the catalogs with --omit-from)."""
    shutil.rmtree(folder, ignore_errors=True)
    data = Path(folder) / "data"
    data.mkdir(parents=True)
    for f in files:
        shutil.copy(f, data / Path(f).name)
        os.chmod(data / Path(f).name, 0o444)
    poller = write_poller(glob.glob(str(data / "*_fl[ct].fits")), Path(folder) / "poller.csv")
    run = measured(snakemake_cmd(folder, poller, cores, svm_pars, extra, align_pars), folder,
                   log=Path(folder) / "snakemake.out")
    if run["returncode"] != 0:
        raise RuntimeError(f"snakemake failed, see {run['log']}")
    run["largest_jobs"] = largest_jobs(folder)
    run["products"] = sorted(os.path.basename(p) for p in
                             glob.glob(str(Path(folder) / "results" / "svm" / "**" / "hst_*.fits"),
                                       recursive=True))
    return run


def largest_jobs(folder, n=6):
    """[(job log path, max_rss MB)] of the ``n`` jobs with the largest peak RSS, from the rules'
    benchmark files (the job server writes the worker's peak plus its largest strip process's):
    where a run's memory peak comes from."""
    import csv

    peaks = []
    for path in Path(folder, "logs").rglob("*.benchmark.tsv"):
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if rows and rows[-1].get("max_rss") not in (None, "NA", ""):
            peaks.append((str(path.relative_to(Path(folder, "logs"))), round(float(rows[-1]["max_rss"]))))
    return sorted(peaks, key=lambda p: -p[1])[:n]


# ---- the data set --------------------------------------------------------------------------------

def make_visit(outdir, half=True):
    """4 ACS/WFC FLCs of one visit in two filters (F606W x2, F814W x2), one scene."""
    import snakedrizzle.simulate as sim

    outdir = Path(outdir)
    shape = (1024, 2048) if half else (2048, 4096)
    if hasattr(sim, "make_visit"):
        try:
            visit = sim.make_visit(outdir, "ACS/WFC", {"F606W": 2, "F814W": 2}, suffix="flc",
                                   chip_shape=shape, seed=3)
            paths = getattr(visit, "paths", visit)
            return sorted(str(p) for p in paths if str(p).endswith("_flc.fits"))
        except TypeError:
            pass   # another signature than this script knows: fall back to two data sets
    return _two_filter_visit(outdir, shape)


def _two_filter_visit(outdir, shape):
    """Two make_dataset runs (one per filter) renamed into one visit: obs ids a1..a4."""
    from astropy.io import fits

    from snakedrizzle.simulate import make_dataset

    paths = []
    for k, filt in enumerate(("F606W", "F814W")):
        ds = make_dataset(outdir / filt.lower(), "ACS/WFC", 2, seed=3 + k, suffix="flc", chip_shape=shape,
                          n_stars=1000, n_galaxies=100, dithers=[(0.0, 0.0), (0.3, 0.2)] if k == 0
                          else [(0.15, 0.35), (0.45, 0.1)])
        for path in ds.paths:
            old = Path(path).name[:9]
            new = old[:7] + str(int(old[7]) + 2 * k) + old[8]
            dest = outdir / f"{new}_flc.fits"
            with fits.open(path) as hdul:
                for hdu in hdul:
                    for key in ("ROOTNAME", "EXPNAME"):
                        if key in hdu.header:
                            hdu.header[key] = new
                hdul[0].header["FILENAME"] = dest.name
                hdul[0].header["FILTER1"] = filt
                hdul[0].header["FILTER2"] = "CLEAR2L"
                hdul.writeto(dest, overwrite=True)
            paths.append(str(dest))
    return sorted(paths)


# ---- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="bench_svm")
    ap.add_argument("--json", default="benchmark_runsinglehap.json")
    ap.add_argument("--timeout", type=float, default=1800.0, help="cut DrizzlePac off after S seconds")
    ap.add_argument("--full", action="store_true", help="full-size chips (default: half size)")
    args = ap.parse_args()
    top = Path(args.workdir).resolve()
    top.mkdir(parents=True, exist_ok=True)
    print(f"generating the visit in {top / 'data'} ...", flush=True)
    files = make_visit(top / "data", half=not args.full)
    print("running DrizzlePac runsinglehap ...", flush=True)
    dp = run_drizzlepac(files, top / "drizzlepac", timeout=args.timeout)
    print("running snakedrizzle (snakemake --config poller=...) ...", flush=True)
    ours = run_ours(files, top / "snakedrizzle")
    # DrizzlePac's catalog step fails at once here (photutils 3): like for like is ours without
    # catalogs (the catalogs have their own benchmark, compare_hap_catalogs.py).
    print("running snakedrizzle without catalogs ...", flush=True)
    bare = run_ours(files, top / "snakedrizzle_products", extra=CATALOGS_LEFT_OUT)
    ratios = {"wall": ours["wall"] / dp["wall"],
              "wall_vs_dp_to_products": (ours["wall"] / dp["wall_to_products"]
                                         if dp["wall_to_products"] else None),
              "rss_tree": ours["rss_tree_mb"] / dp["rss_tree_mb"],
              "rss_max": ours["rss_max_mb"] / dp["rss_max_mb"],
              "pss_tree": ours["pss_tree_mb"] / dp["pss_tree_mb"],
              "products_only_wall": bare["wall"] / dp["wall"],
              "products_only_pss_tree": bare["pss_tree_mb"] / dp["pss_tree_mb"],
              "products_only_rss_max": bare["rss_max_mb"] / dp["rss_max_mb"]}
    report = {"inputs": [os.path.basename(f) for f in files], "half_size": not args.full,
              "drizzlepac": dp, "snakedrizzle": ours, "snakedrizzle_products_only": bare, "ratios": ratios}
    print(f"\n{'':24}{'DrizzlePac':>14}{'snakedrizzle':>14}{'ratio':>8}")
    print(f"{'wall (s)':24}{dp['wall']:14.1f}{ours['wall']:14.1f}{ratios['wall']:8.2f}")
    if dp["wall_to_products"]:
        print(f"{'wall to products (s)':24}{dp['wall_to_products']:14.1f}{ours['wall']:14.1f}"
              f"{ratios['wall_vs_dp_to_products']:8.2f}")
    print(f"{'peak RSS tree (MB)':24}{dp['rss_tree_mb']:14.0f}{ours['rss_tree_mb']:14.0f}{ratios['rss_tree']:8.2f}")
    print(f"{'peak PSS tree (MB)':24}{dp['pss_tree_mb']:14.0f}{ours['pss_tree_mb']:14.0f}{ratios['pss_tree']:8.2f}")
    print(f"{'largest process (MB)':24}{dp['rss_max_mb']:14.0f}{ours['rss_max_mb']:14.0f}{ratios['rss_max']:8.2f}")
    print(f"without catalogs: wall {bare['wall']:.1f} s ({ratios['products_only_wall']:.2f}), PSS tree "
          f"{bare['pss_tree_mb']:.0f} MB ({ratios['products_only_pss_tree']:.2f}), largest process "
          f"{bare['rss_max_mb']:.0f} MB ({ratios['products_only_rss_max']:.2f})")
    print("largest jobs (max_rss MB): " + ", ".join(f"{j.split('/')[1]} {mb}" for j, mb in ours["largest_jobs"]))
    print(f"DrizzlePac: exit status {dp['returncode']}, runsinglehap value {dp['return_value']}, "
          f"cut off {dp['cut_off']}\n  steps (start, s): {dp['steps']}\n  errors: {dp['errors']}")
    print(f"DrizzlePac fell back from sky matching at levels: {dp['sky_fallback_levels']}")
    print(f"products: DrizzlePac {len(dp['products'])}, snakedrizzle {len(ours['products'])}")
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
