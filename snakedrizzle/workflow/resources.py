"""What the rules declare as resources: ``mem_mb`` and ``runtime`` of each job.

mem_mb is an upper bound of a job's peak memory, summed over its processes (issue 11; checked
on a run by tests/test_resources.py). The constants come from the benchmark files of the demo,
the ACS/HRC pair and simulated WFC3/IR (4, 12 exposures, aligned) and full-size ACS/WFC sets,
with about 1.2-1.5x to spare: a job process with the science stack imported is ~85 MB (the
job server's fork; a fresh interpreter a little more), the rest grows with what the job reads
or, for the gathering stages, with its output frame and its processes.
"""
import os

from snakedrizzle.workflow import params as sdparams

PROCESS_MB = 100
# The median combines blocks of rows sized by combine_bufsize (MB, 64 by default); its sort,
# masks and float64 temporaries take up to ~2.5x that, in every process.
MEDIAN_BLOCK_FACTOR = 2.5
DEFAULT_BUFSIZE_MB = 64
# A final-drizzle process's own working memory besides its share of the frame: input rows and
# their pixel map, and output rows its tiles reach beyond its strip.
DRIZZLE_WORK_MB = 120


def input_mb(input):
    """MB of the files a job reads: its whole input, or one named input (a single path)."""
    files = [input] if isinstance(input, (str, os.PathLike)) else input
    return sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 2**20


def mem_for(factor, base=300, of=None):
    """resources: mem_mb from the size of the files a job reads (``of``: only that named input),
    ``base`` + ``factor`` x MB: float32 copies, masks and pixel maps of what it reads."""
    return lambda wc, input: int(base + factor * input_mb(getattr(input, of) if of else input))


def minutes_for(base):
    """resources: runtime (minutes) from the size of the files a job reads, generously."""
    return lambda wc, input: int(base + input_mb(input) / 50)


def median_mem(plan):
    """resources: mem_mb of the median. Each of its ``threads`` processes holds one block of rows
    (bounded by combine_bufsize, whatever the number of exposures); the frame (the union of the
    separate images' windows) costs 9 bytes a pixel: the float32 result, and before it one
    image's weights read whole with their mask and positive values."""
    def mem(wc, input, threads):
        bufsize = plan.params(wc.name)["combine_bufsize"] or DEFAULT_BUFSIZE_MB
        per_process = PROCESS_MB + MEDIAN_BLOCK_FACTOR * bufsize
        return int(threads * per_process + 9 * _union_pixels(input.sci) / 2**20)
    return mem


def _union_pixels(image_files):
    """Pixels of the box around the windows (WINX0/WINY0, NAXIS1/2) of the separate images."""
    from astropy.io import fits

    boxes = []
    for f in image_files:
        if os.path.exists(f):
            h = fits.getheader(f)
            boxes.append((h["WINX0"], h["WINY0"], h["WINX0"] + h["NAXIS1"], h["WINY0"] + h["NAXIS2"]))
    if not boxes:
        return 0
    x0, y0, x1, y1 = zip(*boxes)
    return (max(x1) - min(x0)) * (max(y1) - min(y0))


def final_drizzle_mem(plan):
    """resources: mem_mb of the final drizzle. The output frame's SCI, WHT and CTX planes exist
    about once: the drizzle output of the job's own process becomes the result, and every other
    process hands its strip of rows back through shared memory of the strip's size, band by band
    (adrizzle.StripPlanes). Half the planes more covers that hand-back as a sum of the
    processes' peaks counts it (each process's peak, whenever it happened), plus each process's
    own working memory."""
    def mem(wc, input, threads):
        return int(threads * (PROCESS_MB + DRIZZLE_WORK_MB) + 1.5 * _final_planes_mb(plan, wc, input))
    return mem


def _final_planes_mb(plan, wc, input):
    """MB of the final frame's SCI and WHT (float32) and CTX (int32, 32 chips a plane)."""
    from snakedrizzle.drizzle.chips import output_frame
    from snakedrizzle.errors import InputError
    from snakedrizzle.workflow.jobs import headerlets_by_root

    pars = sdparams.stage_params("final_drizzle", plan.params(wc.name))
    try:
        frame = output_frame(list(input.exposures), pars, "final_", headerlets_by_root(input.hlets))
    except (InputError, ValueError, OSError):
        return 0  # the job fails before allocating a frame, with its own message
    n_chips = sum(len(e.chips) for e in plan.exposures(wc.name))
    bytes_per_pixel = 8 + (4 * ((n_chips - 1) // 32 + 1) if pars["context"] else 0)
    nx, ny = frame.pixel_shape
    return nx * ny * bytes_per_pixel / 2**20
