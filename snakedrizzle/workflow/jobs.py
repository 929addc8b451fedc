"""What the rule scripts share: running a stage, in the job server when there is one, with the
library's log going to the rule's log file and bad input ending the job with one clear line.

Stages are named, not imported, by the scripts ("blot_stage" for ``snakedrizzle.drizzle.files.blot_stage``,
or "module:function"), so that a job handed to the server never imports the science stack itself.
"""
import importlib
import logging
import os
import resource
import sys
import time
import warnings

from snakedrizzle.workflow import jobserver
from snakedrizzle.errors import InputError


def stage_name(stage):
    """'module:function' of a stage given by name or as a function."""
    if callable(stage):
        return f"{stage.__module__}:{stage.__qualname__}"
    return stage if ":" in stage else f"snakedrizzle.drizzle.files:{stage}"


def resolve(stage):
    module, _, name = stage_name(stage).partition(":")
    return getattr(importlib.import_module(module), name)


def call_stage(stage, args, kwargs, log=None, echo=True):
    """Call the stage with the library's log going to ``log`` (and to stderr if ``echo``)."""
    handlers = [logging.StreamHandler(sys.stderr)] if echo else []
    if log:
        handlers.append(logging.FileHandler(log))
    logging.basicConfig(level=logging.INFO, handlers=handlers or [logging.NullHandler()], force=True,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    start = time.perf_counter()
    result = resolve(stage)(*args, **kwargs)
    # One line per job that benchmarks/compare_drizzlepac.py reads back: the stage's own time
    # and this process's peak memory (on Linux ru_maxrss is in KiB).
    logging.getLogger("snakedrizzle.timing").info(
        "stage %s took %.3f s, peak RSS %.0f MB", stage_name(stage), time.perf_counter() - start,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def _plain(obj):
    """Snakemake's file names and lists are str/list subclasses: hand builtins to the server."""
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, dict):
        return {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def headerlets_by_root(files):
    """{rootname: file} of the align stages' ``<root>_hlet.fits`` files (empty without alignment)."""
    return {os.path.basename(f)[:-len("_hlet.fits")]: str(f) for f in files}


def run_stage(snakemake, stage, *args, **kwargs):
    """A rule script's one call: ``stage`` (a name, see above) with ``args``; any failure ends the
    job with a message (bad input: one line naming the file and the problem)."""
    log = snakemake.log[0] if snakemake.log else None
    try:
        error = jobserver.submit(stage_name(stage), _plain(args), _plain(kwargs), log)
    except OSError:  # no server: run here
        try:
            call_stage(stage, args, kwargs, log)
            return
        except InputError as exc:
            logging.getLogger("snakedrizzle").error("bad input: %s", exc)
            error = f"snakedrizzle: bad input: {exc}"
    if error:
        sys.exit(error)
