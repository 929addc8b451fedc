"""snakedrizzle against DrizzlePac's AstroDrizzle, side by side on the same inputs, same machine.

    python benchmarks/compare_drizzlepac.py [--rounds 3] [--sets wfc,ir,hrc] [--scaling 4,16,64]
                                            [--workdir DIR] [--json results.json]

Inputs: synthetic ACS/WFC full frame (4 FLCs, 2 chips of 2048x4096) and WFC3/IR (4 FLTs) made
with snakedrizzle.simulate, plus the real ACS/HRC pair of ../shared when it is there. Each round
runs DrizzlePac (num_cores=2) and snakedrizzle (snakemake --cores 2) on fresh copies, alternating
which goes first. Every command is timed as a whole process (imports and Snakemake start-up
included) and its peak RSS is that of its largest process (getrusage RUSAGE_CHILDREN of a wrapper
process that runs only that command). Also measured: a rerun after changing only
``final_pixfrac``; scaling with 4/16/64 WFC3/IR exposures; and the "kernel floor", the time of
the drizzle/blot C-kernel calls alone for the same work (serial, pixel maps and I/O excluded).
Prints a table and writes JSON.
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_HRC = REPO.parent / "shared" / "data" / "hst" / "acs_hrc_47tuc"
STAGE_OF = {"prepare": "static+sky", "separate_frame": "separate drizzle",  # rule -> step
            "driz_separate": "separate drizzle", "median": "median", "blot": "blot",
            "driz_cr": "driz_cr", "final_drizzle": "final drizzle", "static_mask": "static+sky"}
DP_STEPS = {"Initialization": "init", "Static Mask": "static+sky", "Subtract Sky": "static+sky",
            "Separate Drizzle": "separate drizzle", "Create Median": "median", "Blot": "blot",
            "Driz_CR": "driz_cr", "Final Drizzle": "final drizzle"}


# ---- measuring one command -------------------------------------------------------------------

def measured(cmd, cwd, env=None):
    """(wall seconds, peak RSS MB of the largest process) of ``cmd`` run to completion."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:]); dt = time.perf_counter() - t; "
               "print('MEASURED', dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
               "sys.exit(r.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=cwd, capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    wall, rss = re.search(r"MEASURED (\S+) (\S+)", proc.stdout).groups()
    return float(wall), float(rss)


def fresh_copy(files, folder):
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(f, folder)
    return folder


DP_SCRIPT = """
import sys
from drizzlepac import astrodrizzle
astrodrizzle.AstroDrizzle(sys.argv[1], output="dp", num_cores=2, runfile="dp.log", context=True,
                          preserve=False, clean=True)
"""


def run_drizzlepac(files, folder):
    fresh_copy(files, folder)
    suffix = "flc" if files[0].endswith("_flc.fits") else "flt"
    wall, rss = measured([sys.executable, "-c", DP_SCRIPT, f"*_{suffix}.fits"], folder)
    return {"wall": wall, "rss": rss, "stages": drizzlepac_stages(folder / "dp.log")}


def drizzlepac_stages(log):
    stages = {}
    for line in Path(log).read_text().splitlines():
        m = re.search(r"^\S*\s*\]?\s*(\w[\w ]*?)\s{2,}([\d.]+) sec", line.split("]")[-1])
        if m and m.group(1).strip() in DP_STEPS:
            key = DP_STEPS[m.group(1).strip()]
            stages[key] = stages.get(key, 0.0) + float(m.group(2))
    return stages


def snakemake_cmd(work, inputs, output, *extra):
    # --until final_drizzle: the same work as DrizzlePac (the product), not the report's previews
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--cores", "2", "-q", "--until", "final_drizzle", "--config", f"input={inputs}",
            f"output={output}", *extra]


def run_snakedrizzle(files, folder, output="bench"):
    shutil.rmtree(folder, ignore_errors=True)  # a full run from nothing, and only its own logs
    inputs = fresh_copy(files, folder / "inputs")
    suffix = "flc" if files[0].endswith("_flc.fits") else "flt"
    pattern = f"{inputs}/*_{suffix}.fits"
    wall, rss = measured(snakemake_cmd(folder, pattern, output), folder)
    stages = snakedrizzle_stages(folder / "logs" / output)
    rerun_wall, _ = measured(snakemake_cmd(folder, pattern, output, "final_pixfrac=0.8"), folder)
    return {"wall": wall, "rss": rss, "stages": stages, "rerun_pixfrac": rerun_wall}


def snakedrizzle_stages(logs):
    """Wall span of each stage: first job start to last job end (from the stage timing lines)."""
    spans = {}
    for log in glob.glob(f"{logs}/**/*.log", recursive=True):
        for line in Path(log).read_text().splitlines():
            m = re.match(r"(\S+ \S+) snakedrizzle.timing INFO: stage \S+:(\w+) took ([\d.]+) s", line)
            if m and m.group(2) in STAGE_OF:
                end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                lo, hi = spans.get(STAGE_OF[m.group(2)], (end, end))
                spans[STAGE_OF[m.group(2)]] = (min(lo, end - float(m.group(3))), max(hi, end))
    return {k: hi - lo for k, (lo, hi) in spans.items()}


# ---- kernel floor ------------------------------------------------------------------------------

def kernel_floor(work, output):
    """Seconds spent in the drizzle/blot C kernels alone for the work of a finished run: separate
    drizzle of every chip onto its window, blot of the median onto every chip, final drizzle of
    every chip (arrays and pixel maps prepared beforehand, not timed)."""
    import numpy as np
    from astropy.io import fits
    from drizzle.resample import Drizzle, blot_image

    from snakedrizzle import wcs as W
    from snakedrizzle.drizzle.chips import output_frame
    from snakedrizzle.workflow import params
    from snakedrizzle.io.exposure import read_chip, read_exposure

    results = Path(work) / "results" / output
    pars = dict(params.DEFAULTS)
    exps = [read_exposure(p) for p in sorted(glob.glob(str(Path(work) / "inputs" / "*_fl?.fits")))]
    final = output_frame([e.path for e in exps], pars)
    median = fits.getdata(results / f"{output}_med.fits").astype(np.float32)
    med_frame = W.frame_from_header(fits.getheader(results / f"{output}_med.fits"))
    total = 0.0
    for e in exps:
        window = W.frame_from_header(fits.getheader(results / f"{e.rootname}_single_sci.fits"))
        sep = Drizzle(kernel=pars["driz_sep_kernel"], out_shape=window.pixel_shape[::-1], disable_ctx=True)
        out = Drizzle(kernel=pars["final_kernel"], out_shape=final.pixel_shape[::-1], disable_ctx=True)
        for ver in e.chips:
            chip = read_chip(e.path, ver)
            w = W.chip_wcs(e.path, ver)
            wgt = np.full(chip.sci.shape, e.exptime, np.float32)
            maps = [W.pixmap(w, f, chip.sci.shape, pars["stepsize"]) for f in (window, med_frame, final)]
            t0 = time.perf_counter()
            sep.add_image(chip.sci, exptime=e.exptime, pixmap=maps[0], weight_map=wgt)
            blot_image(median, maps[1], interp=pars["blot_interp"])
            out.add_image(chip.sci, exptime=e.exptime, pixmap=maps[2], weight_map=wgt)
            total += time.perf_counter() - t0
    return total


# ---- data sets ---------------------------------------------------------------------------------

def make_sets(top, names, scaling):
    from snakedrizzle.simulate import make_dataset

    sets = {}
    if "wfc" in names:
        sets["ACS/WFC 4 exp"] = make_dataset(top / "wfc", "ACS/WFC", 4, seed=3, suffix="flc",
                                             chip_shape=(2048, 4096), n_stars=2000, n_galaxies=200).paths
    if "ir" in names:
        sets["WFC3/IR 4 exp"] = make_dataset(top / "ir", "WFC3/IR", 4, seed=5, n_stars=400, n_galaxies=40).paths
    if "hrc" in names and SHARED_HRC.is_dir():
        sets["ACS/HRC pair (real)"] = [str(SHARED_HRC / f) for f in ("j8bt06nyq_flt.fits", "j8bt06o6q_flt.fits")]
    scaled = {}
    for n in scaling:
        scaled[n] = make_dataset(top / f"ir{n}", "WFC3/IR", n, seed=6, n_stars=400, n_galaxies=40).paths
    return sets, scaled


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sets", default="wfc,ir,hrc")
    ap.add_argument("--scaling", default="4,16,64", help="WFC3/IR exposure counts ('' to skip)")
    ap.add_argument("--workdir", default="bench_work")
    ap.add_argument("--json", default="benchmark_results.json")
    args = ap.parse_args()
    top = Path(args.workdir).resolve()
    top.mkdir(parents=True, exist_ok=True)
    print(f"generating inputs in {top} ...", flush=True)
    sets, scaled = make_sets(top / "data", args.sets.split(","), [int(n) for n in args.scaling.split(",") if n])

    report = {"sets": {}, "scaling": {}}
    for label, files in sets.items():
        dp_runs, sd_runs = [], []
        for k in range(args.rounds):
            order = ("sd", "dp") if k % 2 else ("dp", "sd")
            for who in order:
                if who == "dp":
                    dp_runs.append(run_drizzlepac(files, top / "dp"))
                else:
                    sd_runs.append(run_snakedrizzle(files, top / "sd"))
            print(f"{label} round {k + 1}: DrizzlePac {dp_runs[-1]['wall']:.1f} s, "
                  f"snakedrizzle {sd_runs[-1]['wall']:.1f} s", flush=True)
        floor = kernel_floor(top / "sd", "bench")
        entry = {"drizzlepac": dp_runs, "snakedrizzle": sd_runs, "kernel_floor_s": floor}
        for key in ("wall", "rss"):
            entry[f"ratio_{key}"] = median_of(sd_runs, key) / median_of(dp_runs, key)
        entry["rerun_pixfrac_over_full"] = median_of(sd_runs, "rerun_pixfrac") / median_of(sd_runs, "wall")
        entry["full_over_kernel_floor"] = median_of(sd_runs, "wall") / floor
        report["sets"][label] = entry

    for n, files in scaled.items():
        run = run_snakedrizzle(files, top / f"scale{n}")
        report["scaling"][n] = {"wall": run["wall"], "rss": run["rss"]}
        print(f"scaling {n} WFC3/IR exposures: {run['wall']:.1f} s, peak RSS {run['rss']:.0f} MB", flush=True)

    print_table(report)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"\nwritten: {args.json}")


def print_table(report):
    print("\n| set | DrizzlePac wall (s) | snakedrizzle wall (s) | ratio | DrizzlePac RSS (MB) | "
          "snakedrizzle RSS (MB) | ratio | pixfrac rerun / full | kernel floor (s) | full / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, e in report["sets"].items():
        dp, sd = e["drizzlepac"], e["snakedrizzle"]
        print(f"| {label} | {median_of(dp, 'wall'):.1f} | {median_of(sd, 'wall'):.1f} | {e['ratio_wall']:.2f} | "
              f"{median_of(dp, 'rss'):.0f} | {median_of(sd, 'rss'):.0f} | {e['ratio_rss']:.2f} | "
              f"{e['rerun_pixfrac_over_full']:.2f} | {e['kernel_floor_s']:.1f} | {e['full_over_kernel_floor']:.2f} |")
    for label, e in report["sets"].items():
        stages = sorted(set(e["drizzlepac"][0]["stages"]) | set(e["snakedrizzle"][0]["stages"]))
        print(f"\n{label}, per stage (median wall s; snakedrizzle: first job start to last job end)")
        for s in stages:
            dp = median_of([r["stages"] for r in e["drizzlepac"]], s)
            sd = median_of([r["stages"] for r in e["snakedrizzle"]], s)
            print(f"  {s:18s} DrizzlePac {dp if dp is None else round(dp, 2)!s:>6}   "
                  f"snakedrizzle {sd if sd is None else round(sd, 2)!s:>6}")
    if report["scaling"]:
        rss = [v["rss"] for v in report["scaling"].values()]
        print("\nscaling (WFC3/IR):", ", ".join(f"{n} exp {v['wall']:.1f} s / {v['rss']:.0f} MB"
                                                 for n, v in report["scaling"].items()),
              f"; peak RSS growth first->last {100 * (rss[-1] / rss[0] - 1):.1f}%")


if __name__ == "__main__":
    main()
