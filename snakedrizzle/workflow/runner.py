"""Run the workflow's DAG from Python through the Snakemake API: the one path by which
``AstroDrizzle()``, ``TweakReg()`` and the ``astrodrizzle``/``tweakreg`` commands reach the rules,
so the Python entry points and ``snakemake`` on the command line cannot drift apart.

Where the workflow lives: an installed wheel carries ``Snakefile``, ``config.yaml``, the schema,
``rules/``, ``scripts/``, ``envs/``, ``profiles/`` (and ``report/``) as package data under
``snakedrizzle/workflow/files/`` (pyproject's force-include); a checkout or an editable install
has no such folder and uses the repository root, where users of Snakemake workflows expect them.
"""
import logging
import os
import re
import time
from importlib import resources
from pathlib import Path

from snakedrizzle.errors import InputError

log = logging.getLogger("snakedrizzle")

# Parameters naming a file: relative values are the caller's, like the input.
FILE_PARAMETERS = ("skymask_cat", "skyfile", "driz_sep_refimage", "final_refimage", "refimage", "refcat",
                   "catfile", "exclusions", "history")


def workflow_dir():
    """The folder holding the Snakefile: the wheel's package data, else the checkout's root."""
    packaged = Path(str(resources.files("snakedrizzle.workflow") / "files"))
    checkout = Path(__file__).resolve().parents[2]
    for folder in (packaged, checkout):
        if (folder / "Snakefile").is_file():
            return folder
    raise InputError(packaged, f"the workflow's Snakefile is missing (also looked in {checkout}); "
                     "reinstall snakedrizzle")


def snakefile():
    return workflow_dir() / "Snakefile"


def absolute_input(spec, cwd=None):
    """``input`` (glob, comma list or list, ``@file``, ``_asn.fits``) with each path made absolute
    against ``cwd`` (the caller's directory): Snakemake runs in its workdir, where a relative
    pattern would name other files. Checked here, so a pattern matching nothing is reported with
    the place it was looked for."""
    from snakedrizzle.io.inputs import resolve_inputs

    cwd = os.path.abspath(cwd or os.getcwd())
    items = [str(p) for p in spec] if isinstance(spec, (list, tuple)) else str(spec).split(",")
    items = [item.strip() for item in items if item.strip()]
    if not items:
        raise InputError("input", "no input given")
    absolute = []
    for item in items:
        at, path = ("@", item[1:]) if item.startswith("@") else ("", item)
        absolute.append(at + os.path.normpath(os.path.join(cwd, os.path.expanduser(path))))
    spec = ",".join(absolute)
    try:
        resolve_inputs(spec)
    except InputError as exc:
        raise InputError(exc.path, f"{exc.problem} (relative inputs are read from {cwd})") from None
    return spec


def absolute_files(params, cwd=None):
    """File-valued parameters made absolute against ``cwd`` (an ``[ext]`` suffix stays as it is)."""
    cwd = os.path.abspath(cwd or os.getcwd())
    out = dict(params)
    for key in FILE_PARAMETERS:
        value = out.get(key)
        if isinstance(value, (str, os.PathLike)) and str(value).strip() and str(value).lower() not in ("none", "indef"):
            out[key] = os.path.join(cwd, os.path.expanduser(str(value).strip()))
    return out


def run(targets=(), config=None, workdir=".", cores=1, dryrun=False):
    """Build ``targets`` (the default target when empty) of the workflow with ``config`` in
    ``workdir``; only stale jobs run. Warnings the jobs logged are logged again here, so they
    reach the caller; a job that stopped on bad input raises its InputError."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DAGSettings, ExecutionSettings, OutputSettings,
                                          ResourceSettings)

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        with SnakemakeApi(OutputSettings(dryrun=dryrun, quiet=None)) as api:
            workflow = api.workflow(resource_settings=ResourceSettings(cores=cores),
                                    config_settings=ConfigSettings(config=dict(config or {})),
                                    snakefile=snakefile(), workdir=workdir)
            # Jobs a killed earlier call left unfinished are redone, as the profiles do.
            dag = workflow.dag(DAGSettings(targets=set(map(str, targets)), force_incomplete=True))
            dag.execute_workflow(executor="dryrun" if dryrun else "local", execution_settings=ExecutionSettings())
    except Exception as exc:
        _raise_bad_input(workdir, started)
        raise _as_input_error(exc) from None
    _forward_warnings(workdir, started)


def _job_logs(workdir, since):
    folder = workdir / "logs"
    logs = [p for p in folder.rglob("*.log") if p.stat().st_mtime >= since - 1] if folder.is_dir() else []
    return sorted(logs)


# A job log's line from the library's own loggers (third-party warnings stay in the logs).
_LEVEL = re.compile(r"(?:^|\s)snakedrizzle[\w.]* (WARNING|ERROR): (.*)$")


def _records(workdir, since, level):
    for path in _job_logs(workdir, since):
        for line in path.read_text(errors="replace").splitlines():
            m = _LEVEL.search(line)
            if m and m.group(1) == level:
                yield m.group(2)


def _forward_warnings(workdir, since):
    for message in dict.fromkeys(_records(workdir, since, "WARNING")):
        log.warning("%s", message)


def _raise_bad_input(workdir, since):
    """A job's ``bad input: FILE: problem`` line becomes the caller's InputError."""
    for message in _records(workdir, since, "ERROR"):
        if message.startswith("bad input: "):
            path, _, problem = message[len("bad input: "):].partition(": ")
            raise InputError(path, problem or "bad input")


def _as_input_error(exc):
    """Configuration errors (schema validation, unknown product parameters) while the DAG is
    built: one line naming the parameter; anything else is passed on unchanged."""
    from snakemake.exceptions import WorkflowError

    text = str(exc).strip()
    # An input function that read a user's file (skymask_cat, mdriztab) stopped on it: Snakemake
    # wraps the InputError in its own text; hand the caller the InputError again.
    wrapped = re.search(r"^\s*InputError: (.+?): (.+)$", text, re.M)
    if isinstance(exc, WorkflowError) and wrapped:
        return InputError(wrapped.group(1), wrapped.group(2))
    if isinstance(exc, (WorkflowError, ValueError)) and re.search(r"config|parameter|schema", text, re.I):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        # Snakemake's schema message: a heading, then 'ValidationError: <what>', then the schema
        detail = next((ln.partition(": ")[2] for ln in lines if ln.startswith("ValidationError:")), None)
        return InputError("config", detail or (lines[0] if lines else type(exc).__name__))
    return exc


# --- the astrodrizzle and tweakreg commands -----------------------------------------------------

def command_parser(prog, description, names):
    """An argparse parser with ``--NAME VALUE`` for each parameter name (DrizzlePac's names);
    a usage error is one line and exit status 2."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    parser.error = lambda message: usage_error(prog, message)
    group = parser.add_argument_group("parameters (DrizzlePac names and defaults; values as on the snakemake "
                                      "command line: None/INDEF, true/false, numbers, '3.5 3.0')")
    for name in names:
        group.add_argument(f"--{name}", dest=name, metavar="VALUE", default=argparse.SUPPRESS)
    return parser


def command_values(namespace, names):
    """The parameters given on the command line, typed as ``snakemake --config`` types them."""
    from snakemake.cli import parse_config

    given = {name: getattr(namespace, name) for name in names if hasattr(namespace, name)}
    return parse_config([f"{name}={value}" for name, value in given.items()])


def switch(name, value):
    """A yes/no option of a command (``--updatehdr true``)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise InputError(name, f"{value!r} is not true or false")


def usage_error(prog, message):
    import sys

    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def command_errors(prog, call):
    """Run ``call()``: bad input or parameters end the command with one line and status 2;
    a failed job (its messages are above and in logs/) with one line and status 1."""
    import sys

    try:
        return call()
    except InputError as exc:
        usage_error(prog, exc)
    except Exception as exc:  # the failed job has printed its own error; close with one line
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        print(f"{prog}: failed: {first.strip()} (see the job logs under logs/)", file=sys.stderr)
        raise SystemExit(1) from None
