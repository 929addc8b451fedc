"""What every rule script starts with: ``run_in_job_server(snakemake)``.

A rule script reads as plain Python that imports the stage it runs::

    from snakedrizzle.workflow.jobs import run_in_job_server
    run_in_job_server(snakemake)
    from snakedrizzle.drizzle.files import blot_stage
    blot_stage(...)

In a local run the first call hands the whole script to the job server
(snakedrizzle.workflow.jobserver), whose worker runs it with the science stack already imported,
and this process exits with the worker's status: the lines after it run only in the worker. In
the worker, or with no server (cluster jobs, conda/container runs), the call returns and the
script goes on in its own process. Either way the call sets the job up the same: the library's
log goes to the rule's log file (and stderr), bad input ends the job with one line naming the file
and the problem, and a timing line per job that benchmarks/compare_drizzlepac.py reads back.

Keep the imports above ``run_in_job_server`` light: the job's own process runs them too.
"""
import atexit
import logging
import os
import resource
import sys
import time
import warnings

from snakedrizzle.errors import InputError
from snakedrizzle.workflow import jobserver


def run_in_job_server(snakemake):
    """Run the calling rule script in the job server if there is one (this process then exits with
    its status); otherwise, and inside the server's worker, set the job up and return."""
    if not jobserver.in_worker():
        job = {"rule": snakemake.rule, "wildcards": {k: str(v) for k, v in snakemake.wildcards.items()},
               "iteration": snakemake.bench_iteration or 0}
        status = jobserver.submit(os.path.abspath(sys.argv[0]), job)
        if status is not None:
            sys.exit(status)
    set_up_job(snakemake.rule, snakemake.log[0] if snakemake.log else None)


def set_up_job(rule, log=None, echo=True):
    """Log to ``log`` (and stderr if ``echo``); at the end of the job, one line for an InputError
    (no traceback) or, on success, the job's timing line."""
    handlers = [logging.StreamHandler(sys.stderr)] if echo else []
    if log:
        handlers.append(logging.FileHandler(log))
    logging.basicConfig(level=logging.INFO, handlers=handlers or [logging.NullHandler()], force=True,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    start = time.perf_counter()
    failed = []

    def report_error(kind, exc, tb):
        failed.append(kind)
        if isinstance(exc, InputError):
            logging.getLogger("snakedrizzle").error("bad input: %s", exc)
        elif isinstance(exc, Exception):
            logging.getLogger("snakedrizzle").error("job failed", exc_info=(kind, exc, tb))
        else:
            sys.__excepthook__(kind, exc, tb)

    def report_time():
        # ru_maxrss is in KiB on Linux; the children are the strip processes of a parallel stage.
        if not failed:
            peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
            logging.getLogger("snakedrizzle.timing").info(
                "stage rule:%s took %.3f s, peak RSS %.0f MB", rule, time.perf_counter() - start, peak / 1024)

    sys.excepthook = report_error
    atexit.register(report_time)


def headerlets_by_root(files):
    """{rootname: file} of the align stages' ``<root>_hlet.fits`` files (empty without alignment)."""
    return {os.path.basename(f)[:-len("_hlet.fits")]: str(f) for f in files}
