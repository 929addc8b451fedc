"""Time pixtosky / skytopix / pixtopix for 10,000 positions: snakedrizzle vs DrizzlePac.

    python benchmarks/bench_coords.py

Each call includes opening the image and building its WCS, as a user's call does; printing is
discarded (both packages print every position unless told not to). Best of 5 runs.
"""
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

HST = Path(__file__).resolve().parents[2] / "shared" / "data" / "hst"


def best_time(func, *args, repeat=5, **kwargs):
    best = np.inf
    for _ in range(repeat):
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            func(*args, **kwargs)
            best = min(best, time.perf_counter() - start)
    return best


def main():
    from drizzlepac import pixtopix as dp_p2p
    from drizzlepac import pixtosky as dp_p2s
    from drizzlepac import skytopix as dp_s2p

    from snakedrizzle.coords import pixtopix, pixtosky, skytopix

    with tempfile.TemporaryDirectory() as tmp:
        image = str(Path(tmp) / "sample_flc_header.fits")
        shutil.copyfile(HST / "cutouts" / "sample_flc_header.fits", image)
        chip1, chip2 = f"{image}[sci,1]", f"{image}[sci,2]"
        x, y = (a.ravel() for a in np.meshgrid(np.linspace(1, 4096, 100), np.linspace(1, 2048, 100)))
        with contextlib.redirect_stdout(io.StringIO()):
            ra, dec = pixtosky.xy2rd(chip1, x, y, hms=False)
        cases = [
            ("xy2rd (degrees)", (pixtosky.xy2rd, dp_p2s.xy2rd), (chip1, x, y), {"hms": False}),
            ("xy2rd (h:m:s)", (pixtosky.xy2rd, dp_p2s.xy2rd), (chip1, x, y), {"hms": True}),
            ("rd2xy", (skytopix.rd2xy, dp_s2p.rd2xy), (chip1, ra, dec), {}),
            ("tran chip1->chip2 fwd", (pixtopix.tran, dp_p2p.tran), (chip1, chip2, "forward", x, y), {}),
            ("tran chip1->chip2 back", (pixtopix.tran, dp_p2p.tran), (chip1, chip2, "backward", x, y), {}),
            ("tran chip1->default fwd", (pixtopix.tran, dp_p2p.tran), (chip1, None, "forward", x, y), {}),
        ]
        print(f"{'10,000 positions':<26}{'snakedrizzle':>14}{'drizzlepac':>14}")
        for name, (ours, theirs), args, kwargs in cases:
            t_ours = best_time(ours, *args, verbose=False, **kwargs)
            t_theirs = best_time(theirs, *args, verbose=False, **kwargs)
            print(f"{name:<26}{t_ours:>12.3f} s{t_theirs:>12.3f} s")


if __name__ == "__main__":
    main()
