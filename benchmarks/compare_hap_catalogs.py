"""DrizzlePac's HAP catalog step against snakedrizzle's catalog jobs, on the same drizzle products.

    python benchmarks/compare_hap_catalogs.py [--products DIR] [--workdir DIR] [--venv DIR]
                                              [--json FILE]

Input (``--products``): one SVM visit's HAP drizzle products, the filter and total
``hst_*_drc.fits`` (exposure-level products are ignored), and the visit's FLC exposures
``*_flc.fits``, which DrizzlePac's side needs for its footprint masks and flags. The default is
the DrizzlePac folder that ``benchmarks/compare_runsinglehap.py --workdir /tmp/bench`` leaves
(``/tmp/bench/svm/drizzlepac``: DrizzlePac's own 7 products of a 4-exposure ACS/WFC visit). Both
sides read copies of the same files in ``--workdir`` (default: a temporary folder).

- DrizzlePac: what ``hapsequencer.run_hap_processing`` does before its catalogs (poller, parameter
  sets, meta-WCS, footprint masks; not timed), then ``hapsequencer.create_catalog_products``
  (``HAPCatalogs`` identify on the total, measure + flag on each filter, the total's combine and
  trimming, the ECSV files), timed as one call; its RSS is polled during that call.
- snakedrizzle: the catalog jobs of ``rules/hap.smk`` (point sources and segment map of the
  total, point and segment catalog of each filter and of the total), each in a process of its
  own as Snakemake runs them; wall time is the stage call, summed over the jobs as if run one after
  the other (one core, as DrizzlePac runs), and for reference the wall on two cores (the jobs
  started in DAG order as ``--cores 2`` would); peak RSS is the largest job's (imports included).

Printed: both walls and peaks with their ratios (ours / DrizzlePac: the bar is <= 0.5 for both),
our per-job figures, and the source counts of every catalog on both sides.

The DrizzlePac side is optional. DrizzlePac 3.11's catalog code stops with photutils 3
(KeyError 'xcentroid'), so it runs in a venv of its own (not part of CI)::

    python3.11 -m venv /work/venv-hap
    /work/venv-hap/bin/pip install drizzlepac==3.11.0 'photutils<3' psutil

Without that venv (``--venv`` naming no python), only our side runs and the script says the
DrizzlePac side is skipped. The same file runs each side's measurement (``--side``) in a child
process; the DrizzlePac child imports nothing from snakedrizzle.
"""
import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_PRODUCTS = "/tmp/bench/svm/drizzlepac"
DEFAULT_VENV = "/work/venv-hap"
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: a network query fails at once
NO_NETWORK = {"ASTROMETRIC_CATALOG_URL": CLOSED_PORT, "ASTROMETRY_SERVICE_URL": CLOSED_PORT,
              "GSSS_WEBSERVICES_URL": CLOSED_PORT, "ASTROMETRY_STEP_CONTROL": "off"}
OUR_JOBS = ("svm_detection", "svm_point_catalog", "svm_segment_catalog")


# ---- the products -------------------------------------------------------------------------------

def visit_products(folder):
    """``(total, [filter products])`` among a folder's HAP drizzle products (the visit-level
    ones: ``hst_<prop>_<vv>_<inst>_<det>_<filter>_<ipppss>_drc.fits``, a 6-character ipppss)."""
    found = sorted(glob.glob(os.path.join(folder, "hst_*_dr[cz].fits")))
    visit = [f for f in found if len(os.path.basename(f).split("_")) == 8
             and len(os.path.basename(f).split("_")[6]) == 6]
    totals = [f for f in visit if os.path.basename(f).split("_")[5] == "total"]
    if len(totals) != 1:
        sys.exit(f"{folder}: expected one total drizzle product, found {len(totals)}")
    return totals[0], [f for f in visit if f not in totals]


def catalog_counts(folder):
    """Rows of every ``*-cat.ecsv`` of a folder, by file name."""
    from astropy.table import Table
    return {os.path.basename(f): len(Table.read(f, format="ascii.ecsv"))
            for f in sorted(glob.glob(os.path.join(folder, "*-cat.ecsv")))}


class RssPoller:
    """Largest RSS of this process while the block runs (polled every 20 ms)."""

    def __enter__(self):
        import psutil
        self._proc, self.peak_mb, self._stop = psutil.Process(), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2 ** 20)
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---- DrizzlePac's side (runs in its venv) -------------------------------------------------------

def drizzlepac_side(poller):
    """DrizzlePac's catalog step on the products in the current folder; JSON on stdout."""
    import logging
    from drizzlepac import hapsequencer, util
    from drizzlepac.haputils import config_utils, poller_utils

    level = logging.WARNING
    _, totals = poller_utils.interpret_obset_input(poller, level)
    for total in totals:  # as run_hap_processing sets the products up before it drizzles
        for item in (total, *total.fdp_list, *total.edp_list):
            item.configobj_pars = config_utils.HapConfig(item, log_level=level)
        for exposure in total.edp_list:
            poller_utils.add_primary_fits_header_as_attr(exposure, level)
        meta_wcs = total.generate_metawcs()
        for product in (total, *total.fdp_list):  # what wcs_drizzle_product does before drizzling
            product.meta_wcs = meta_wcs
            product.generate_footprint_mask()
    switches = {sw: util.get_envvar_switch(sw, default=hapsequencer.envvar_cat_svm[sw])
                for sw in hapsequencer.envvar_cat_svm}
    setup_mb = _peak_mb()
    with RssPoller() as rss:
        start = time.perf_counter()
        hapsequencer.create_catalog_products(totals, level, phot_mode="both", catalog_switches=switches)
        wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "peak_mb": rss.peak_mb, "setup_peak_mb": setup_mb,
                      "process_peak_mb": _peak_mb(), "counts": catalog_counts(".")}))


# ---- our side (one job per process) -------------------------------------------------------------

def our_job(job, product, folder):
    """One of our catalog jobs (a rule of ``rules/hap.smk``) for ``product`` in ``folder``; JSON
    on stdout."""
    from astropy.io import fits

    from snakedrizzle.hap.catalogs.params import catalog_pars
    from snakedrizzle.hap.catalogs.stages import catalog_stage, detection_stage

    total, filters = visit_products(folder)
    header = fits.getheader(total, 0)
    pars = catalog_pars(header["INSTRUME"].strip().lower(), header["DETECTOR"].strip().lower())
    name = lambda path, suffix: path.rsplit("_dr", 1)[0] + suffix  # noqa: E731
    detection = {"point": name(total, "_point-sources.ecsv"), "segment": name(total, "_segment-map.fits")}
    start = time.perf_counter()
    if job == "svm_detection":
        detection_stage(total, detection["point"], detection["segment"], pars)
    else:
        kind = "point" if job == "svm_point_catalog" else "segment"
        inputs = {"detection": detection[kind], "total": total}
        if product == total:
            inputs["filters"] = [name(f, f"_{kind}-cat.ecsv") for f in filters]
        else:
            inputs["product"] = product
        catalog_stage(kind, "total" if product == total else "filter", inputs, name(product, f"_{kind}-cat.ecsv"),
                      pars)
    print(json.dumps({"job": job, "product": os.path.basename(product), "wall": time.perf_counter() - start,
                      "peak_mb": _peak_mb()}))


# ---- the comparison -----------------------------------------------------------------------------

def _child(python, args, cwd, env=None):
    """Run this file as ``python`` with ``args`` in ``cwd``; its last stdout line as JSON."""
    run = subprocess.run([python, os.path.abspath(__file__), *args], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, **NO_NETWORK, **(env or {})})
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode or not lines:
        sys.stderr.write(run.stderr[-4000:])
        raise RuntimeError(f"{' '.join(args)} failed (exit {run.returncode})")
    return json.loads(lines[-1])


def _copy_inputs(products, folder, exposures=True):
    os.makedirs(folder, exist_ok=True)
    total, filters = visit_products(products)
    # the exposures by rootname (DrizzlePac's folder also holds its hst_*_flc.fits copies)
    raw = [f for f in sorted(glob.glob(os.path.join(products, "*_fl[ct].fits")))
           if not os.path.basename(f).startswith("hst_")]
    files = [total, *filters] + (raw if exposures else [])
    for f in files:
        shutil.copy(f, folder)
    return [os.path.join(folder, os.path.basename(f)) for f in files]


def run_ours(products, workdir):
    folder = os.path.join(workdir, "snakedrizzle")
    _copy_inputs(products, folder, exposures=False)
    total, filters = visit_products(folder)
    # in the DAG's order: detection on the total, then every filter catalog, then the totals'
    plan = [("svm_detection", total)]
    plan += [(job, product) for product in [*filters, total] for job in OUR_JOBS[1:]]
    jobs = [_child(sys.executable, ["--side", "ours", "--job", job, "--product", product, "--folder", folder], folder)
            for job, product in plan]
    return {"wall": sum(j["wall"] for j in jobs), "wall_2_cores": two_core_wall(jobs),
            "peak_mb": max(j["peak_mb"] for j in jobs), "jobs": jobs, "counts": catalog_counts(folder)}


def two_core_wall(jobs):
    """Wall time of ``jobs`` (in DAG order) on two cores, as Snakemake would start them: a job
    starts once the detection job (filter catalogs) or its filter catalogs (total catalogs) are done."""
    done, free = {}, [0.0, 0.0]
    for i, job in enumerate(jobs):
        if job["job"] == "svm_detection":
            ready = 0.0
        elif i == len(jobs) - 1 or job["product"] == jobs[-1]["product"]:  # a total catalog
            ready = max(t for j, t in done.items() if jobs[j]["job"] == job["job"] and jobs[j] is not job)
        else:
            ready = max(t for j, t in done.items() if jobs[j]["job"] == "svm_detection")
        core = min(range(2), key=lambda c: free[c])
        free[core] = max(free[core], ready) + job["wall"]
        done[i] = free[core]
    return max(free)


def run_drizzlepac(products, workdir, venv):
    python = os.path.join(venv, "bin", "python") if venv else ""
    if not (python and os.access(python, os.X_OK)):
        print(f"DrizzlePac side skipped: no python in the venv {venv!r} (see this script's docstring)")
        return None
    from compare_runsinglehap import write_poller  # our poller writer, from the headers

    folder = os.path.join(workdir, "drizzlepac")
    copied = _copy_inputs(products, folder)
    poller = os.path.join(folder, "poller.csv")
    write_poller([f for f in copied if f.endswith(("_flc.fits", "_flt.fits"))], poller)
    return _child(python, ["--side", "drizzlepac", "--poller", poller], folder)


def report(ours, theirs):
    print("our catalog jobs (stage wall s, process peak RSS MB):")
    for job in ours["jobs"]:
        print(f"  {job['job']:20s} {job['product']:42s} {job['wall']:6.2f} s  {job['peak_mb']:6.0f} MB")
    print(f"ours:       {ours['wall']:6.2f} s (sum of the jobs; {ours['wall_2_cores']:.2f} s on 2 cores)  "
          f"peak {ours['peak_mb']:5.0f} MB (largest job)")
    result = {"ours": ours, "drizzlepac": theirs}
    if theirs:
        print(f"DrizzlePac: {theirs['wall']:6.2f} s (create_catalog_products)  peak {theirs['peak_mb']:5.0f} MB "
              f"during it (process peak {theirs['process_peak_mb']:.0f} MB)")
        result["ratio_wall"] = ours["wall"] / theirs["wall"]
        result["ratio_peak_rss"] = ours["peak_mb"] / theirs["peak_mb"]
        result["ratio_wall_2_cores"] = ours["wall_2_cores"] / theirs["wall"]
        print(f"ratios ours/DrizzlePac: wall {result['ratio_wall']:.2f} (one core; "
              f"{result['ratio_wall_2_cores']:.2f} on 2 cores), peak RSS {result['ratio_peak_rss']:.2f}")
    print("sources per catalog:")
    for name in sorted(set(ours["counts"]) | set((theirs or {}).get("counts", {}))):
        print(f"  {name:52s} ours {ours['counts'].get(name, '-'):>6}  "
              f"DrizzlePac {(theirs or {}).get('counts', {}).get(name, '-'):>6}")
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", default=DEFAULT_PRODUCTS)
    ap.add_argument("--workdir")
    ap.add_argument("--venv", default=DEFAULT_VENV)
    ap.add_argument("--json")
    ap.add_argument("--side", choices=("ours", "drizzlepac"), help=argparse.SUPPRESS)
    ap.add_argument("--job", choices=OUR_JOBS, help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--product", help=argparse.SUPPRESS)
    ap.add_argument("--poller", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.side == "ours":
        return our_job(args.job, args.product, args.folder)
    if args.side == "drizzlepac":
        return drizzlepac_side(args.poller)
    workdir = args.workdir or tempfile.mkdtemp(prefix="hap_catalogs_")
    ours = run_ours(args.products, workdir)
    theirs = run_drizzlepac(args.products, workdir, args.venv)
    result = report(ours, theirs)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    print(f"work folder: {workdir}")


if __name__ == "__main__":
    main()
