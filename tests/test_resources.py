"""Every rule's mem_mb is a real upper bound of what its jobs use (issue 11 item 1): a run's
benchmark files (max_rss, written by the job server for the real stage) against the mem_mb
Snakemake printed for each job; and every rule declares mem_mb and runtime."""
import csv
import re
import types

import numpy as np
import pytest
from astropy.io import fits

from conftest import REPO, snakemake
from snakedrizzle.workflow import resources

RULE_FILES = sorted((REPO / "rules").glob("*.smk"))


def _rule_blocks():
    """{rule name: its text} of every rule and checkpoint in rules/*.smk."""
    blocks = {}
    for path in RULE_FILES:
        parts = re.split(r"^(?=(?:rule|checkpoint) )", path.read_text(), flags=re.M)
        for part in parts:
            m = re.match(r"(?:rule|checkpoint) (\w+):", part)
            if m:
                blocks[m.group(1)] = part
    return blocks


def test_every_rule_declares_memory_and_runtime():
    blocks = _rule_blocks()
    assert {"prepare", "median", "final_drizzle", "align_catalog", "demo_data"} <= set(blocks)
    for name, text in blocks.items():
        declared = re.search(r"^    resources:\n((?:        .*\n)+)", text, flags=re.M)
        assert declared, f"rule {name} declares no resources"
        assert "mem_mb=" in declared.group(1) and "runtime=" in declared.group(1), name


def _separate_image(path, x0, y0, shape):
    hdr = fits.Header({"WINX0": x0, "WINY0": y0})
    fits.writeto(path, np.zeros(shape, np.float32), hdr)
    return str(path)


def test_median_memory_grows_with_threads_and_frame_not_exposures(tmp_path):
    plan = types.SimpleNamespace(params=lambda name: {"combine_bufsize": None})
    wc = types.SimpleNamespace(name="p")
    one = [_separate_image(tmp_path / "a.fits", 0, 0, (1000, 1000))]
    mem = resources.median_mem(plan)
    per_process = resources.PROCESS_MB + resources.MEDIAN_BLOCK_FACTOR * resources.DEFAULT_BUFSIZE_MB
    small = mem(wc, types.SimpleNamespace(sci=one), 1)
    # Ten exposures on the same window: the blocks are bounded, so nothing more.
    ten = one + [_separate_image(tmp_path / f"b{k}.fits", 0, 0, (1000, 1000)) for k in range(9)]
    assert mem(wc, types.SimpleNamespace(sci=ten), 1) == small
    # Each process holds its own block.
    assert mem(wc, types.SimpleNamespace(sci=one), 3) - small == 2 * int(per_process)
    # Windows far apart make a larger union frame (9 bytes a pixel).
    apart = one + [_separate_image(tmp_path / "c.fits", 3000, 0, (1000, 1000))]
    assert mem(wc, types.SimpleNamespace(sci=apart), 1) == int(per_process + 9 * 4000 * 1000 / 2**20)


def test_final_drizzle_memory_grows_with_threads_and_output_frame(tmp_path):
    from snakedrizzle.simulate import make_dataset
    from snakedrizzle.workflow import dag, params

    paths = make_dataset(tmp_path, "ACS/WFC", 2, seed=3, chip_shape=(64, 128), n_stars=20, n_galaxies=1).paths

    def declared(threads, **overrides):
        config = {**params.DEFAULTS, "input": f"{tmp_path}/*_flt.fits", "output": "p", "products": [],
                  **overrides}
        inputs = types.SimpleNamespace(exposures=paths, hlets=[])
        return resources.final_drizzle_mem(dag.Plan(config))(types.SimpleNamespace(name="p"), inputs, threads)

    per_process = resources.PROCESS_MB + resources.DRIZZLE_WORK_MB
    assert declared(3) - declared(1) == pytest.approx(2 * per_process, abs=1)
    # A frame of 4000 x 4000 pixels: SCI, WHT and one CTX plane (12 bytes a pixel), 1.5 times.
    big = declared(1, final_wcs=True, final_outnx=4000, final_outny=4000, final_scale=0.05)
    assert big == int(per_process + 1.5 * 12 * 4000 * 4000 / 2**20)


def _jobs(text):
    """[(rule, wildcards, mem_mb, benchmark path)] of the jobs Snakemake printed."""
    jobs = []
    for block in re.split(r"\n(?=[ \t]*(?:local)?(?:rule|checkpoint) )", text):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block.strip())
        bench = re.search(r"benchmark: (\S+)", block)
        mem = re.search(r"resources: .*\bmem_mb=(\d+)", block)
        if m and bench:
            wc = re.search(r"wildcards: (.*)", block)
            jobs.append((m.group(1), wc.group(1) if wc else "", int(mem.group(1)) if mem else None,
                         bench.group(1)))
    return jobs


def _max_rss(path):
    with open(path) as f:
        return float(list(csv.DictReader(f, delimiter="\t"))[-1]["max_rss"])


@pytest.mark.slow
def test_measured_peak_memory_is_below_declared(tmp_path):
    from snakedrizzle.simulate import make_dataset

    data = make_dataset(tmp_path / "in", "ACS/WFC", 3, seed=21, chip_shape=(512, 1024), n_stars=250,
                        n_galaxies=10)
    config = {"input": f"{tmp_path / 'in'}/*_flt.fits", "output": "mem", "align": "true",
              "skymethod": "match", "driz_cr_corr": "true"}
    work = tmp_path / "work"
    proc = snakemake(work, config=config)
    jobs = _jobs(proc.stdout + proc.stderr)
    ran = {rule for rule, *_ in jobs}
    assert {"prepare", "sky", "separate_frame", "driz_separate", "median", "blot", "driz_cr", "crclean",
            "final_drizzle", "preview", "crmask_preview", "align_catalog", "align_refcat", "align_fit",
            "align_shifts"} <= ran, ran
    over = []
    for rule, wildcards, mem_mb, bench in jobs:
        assert mem_mb is not None, f"{rule} ({wildcards}) has no mem_mb"
        rss = _max_rss(work / bench)
        assert rss > 50, f"{rule}: max_rss {rss} MB is not the stage's (the job server's numbers missing?)"
        if rss > mem_mb:
            over.append(f"{rule} ({wildcards}): measured {rss:.0f} MB > declared {mem_mb} MB")
    assert not over, "\n".join(over)
    assert len(data.paths) == 3
