"""runastrodriz on synthetic associations with truth: astrometry and photometry of the product.

    python benchmarks/runastrodriz_truth.py [--workdir DIR] [--json FILE] [--half]

Two associations of three exposures, as in the figures issue 15 quotes for DrizzlePac 3.11's
runastrodriz run with its catalog service answered from a local file (ACS/WFC: FIT_REL_GAIAeDR3,
1.9 mas RMS, photometry 1.001, 111 s; WFC3/IR: 22.8 mas, photometry 0.944): a common pointing
error of 0.29" and 0.01 deg in the headers, a Gaia-like catalog of the bright stars with proper
motions (epoch 2016.0). Each is run with ``snakedrizzle.pipeline.runastrodriz`` (no network:
SNAKEDRIZZLE_OFFLINE) and measured against the truth: the chosen stage and WCSNAME, star offsets
in the product (mas, RMS and median) and the median flux ratio of isolated bright stars.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

CASES = {  # detector: (chip shape at full size, dithers in arcsec, scale in mas/pixel, bright flux)
    "ACS/WFC": ((2048, 4096), [(0, 0), (0.25, 0.15), (0.5, 0.3)], 50.0, 3000.0),
    "WFC3/IR": ((1014, 1014), [(0, 0), (0.33, 0.21), (0.67, 0.42)], 128.3, 300.0),
}


def run_case(detector, folder, half):
    from truth import star_measurements, write_gaia_like

    from snakedrizzle.pipeline import runastrodriz
    from snakedrizzle.simulate import make_dataset, write_association

    shape, dithers, mas_per_px, bright = CASES[detector]
    if half and detector == "ACS/WFC":
        shape = (shape[0] // 2, shape[1] // 2)
    data = make_dataset(folder / "data", detector, 3, chip_shape=shape, n_stars=600, seed=11,
                        pointing_errors=[(10.0, -6.0, 0.01, 1.0)] * 3, dithers=dithers)
    gaia = write_gaia_like(data, folder / "gaia.ecsv", bright)
    root = os.path.basename(data.paths[0])[:6] + "010"
    asn = write_association(data.paths, folder / "data" / f"{root}_asn.fits")
    t0 = time.perf_counter()
    made = runastrodriz(asn, workdir=folder / "work", cores=2, refcat=str(gaia))
    wall = time.perf_counter() - t0
    product = next(p for p in made if p.endswith(("_drz.fits", "_drc.fits")))
    decision = json.loads((folder / "work" / "results" / "pipeline" / root / f"{root}_cascade.json").read_text())
    from astropy.io import fits

    dx, dy, ratio = star_measurements(product, data.truth_stars, min_flux=bright / 3)
    offsets = np.hypot(dx, dy) * mas_per_px
    return {"detector": detector, "chip_shape": list(shape), "wall_s": round(wall, 1),
            "chosen": decision["chosen"], "wcsname": fits.getval(product, "WCSNAME", "SCI"),
            "stars": int(len(offsets)), "rms_mas": float(np.sqrt(np.mean(offsets ** 2))),
            "median_mas": float(np.median(offsets)), "flux_ratio_median": float(np.median(ratio)),
            "flux_ratio_mad": float(np.median(np.abs(ratio - np.median(ratio))))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="bench_runastrodriz")
    ap.add_argument("--json", default="benchmark_runastrodriz.json")
    ap.add_argument("--half", action="store_true", help="ACS/WFC chips at half size")
    args = ap.parse_args()
    os.environ.setdefault("SNAKEDRIZZLE_OFFLINE", "1")
    top = Path(args.workdir).resolve()
    results = []
    for detector in CASES:
        folder = top / detector.lower().replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{detector} ...", flush=True)
        results.append(run_case(detector, folder, args.half))
        r = results[-1]
        print(f"  {r['chosen']} ({r['wcsname']}): {r['stars']} stars, RMS {r['rms_mas']:.2f} mas, median "
              f"{r['median_mas']:.2f} mas, flux ratio {r['flux_ratio_median']:.4f} (MAD {r['flux_ratio_mad']:.4f}), "
              f"{r['wall_s']:.0f} s", flush=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
