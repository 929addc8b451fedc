"""HAP trailers: ``<product basename>_trl.txt``, the processing log of one drizzled product.

HAP's trailer is the AstroDrizzle run log of the product (SPEC-HAP H1, H3.5 step 10), and the
product's ``DRIZPARS`` names it. Here a product is made by several Snakemake jobs, each with its
own log (``logs/<AstroDrizzle name>/<rule>/...log``, the rule logs of ``rules/astrodrizzle.smk``),
then by the ``svm_product`` job (``logs/<ipppss>/svm_product/<file>.log``). The trailer is a
summary of the product (level, HAP parameter set, sky method, exposures) followed by those logs
in AstroDrizzle's step order. Logs are not declared inputs of the trailer's job (Snakemake logs are
no files other jobs may depend on), so they are read if present, and a stage that must have run
for the product but left no log is named in the trailer.
"""
import glob
import os

from snakedrizzle import __version__
from snakedrizzle.io import atomic_path

__all__ = ["STAGE_ORDER", "expected_stages", "stage_logs", "trailer_text", "trailer_stage"]

# The AstroDrizzle stage rules in the order of AstroDrizzle's steps; a folder of any other rule
# (the alignment stages) follows them in name order.
STAGE_ORDER = ("prepare", "static_mask", "sky_pair", "sky_match", "sky", "separate_frame", "driz_separate",
               "median", "blot", "driz_cr", "crclean", "final_drizzle")
_CR_STAGES = ("separate_frame", "driz_separate", "median", "blot", "driz_cr")


def expected_stages(cr_rejection):
    """The stage rules every product runs (one prepare job per exposure, the static mask, the
    final drizzle) and, with CR rejection, the CR stages. The sky stages depend on the method
    and the exposures, and crclean is no product's input: their logs are listed when present."""
    stages = ["prepare", "static_mask"]
    if cr_rejection:
        stages += list(_CR_STAGES)
    return stages + ["final_drizzle"]


def _stage_key(stage):
    return (STAGE_ORDER.index(stage), "") if stage in STAGE_ORDER else (len(STAGE_ORDER), stage)


def stage_logs(drizzle_name, logs_root="logs"):
    """{stage rule: [log files]} of the AstroDrizzle product ``drizzle_name``, stages in step
    order, each stage's files in name order (sky_pair logs sit one folder deeper)."""
    folder = os.path.join(logs_root, drizzle_name)
    found = {}
    for path in glob.glob(os.path.join(folder, "**", "*.log"), recursive=True):
        stage = os.path.relpath(path, folder).split(os.sep)[0]
        found.setdefault(stage, []).append(path)
    return {stage: sorted(found[stage]) for stage in sorted(found, key=_stage_key)}


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError as exc:
        return f"(cannot read {path}: {exc})\n"


def _summary(product_file, summary):
    lines = [f"# {os.path.basename(product_file)}: processing log (snakedrizzle {__version__})"]
    lines += [f"# {key}: {value}" for key, value in summary.items() if key != "exposures"]
    exposures = summary.get("exposures") or []
    lines.append(f"# exposures ({len(exposures)}):")
    lines += [f"#   {e}" for e in exposures]
    return lines


def trailer_text(product_file, summary, logs, expected=(), product_log=None):
    """The trailer of ``product_file``: ``summary`` ({label: value}; ``exposures`` a list),
    then each stage's logs (``stage_logs``), a line for each ``expected`` stage without a log,
    then ``product_log`` (the HAP product job's log), or a line saying it is missing."""
    lines = _summary(product_file, summary)
    missing = [s for s in expected if not logs.get(s)]
    for stage in missing:
        lines.append(f"# missing: stage {stage} of this product left no log")
    parts = ["\n".join(lines) + "\n"]
    for stage, paths in logs.items():
        for path in paths:
            parts.append(f"\n==== {stage}: {path} ====\n" + _read(path))
    if product_log and os.path.exists(product_log):
        parts.append(f"\n==== HAP product: {product_log} ====\n" + _read(product_log))
    elif product_log:
        parts.append(f"\n# missing: no log of the HAP product job ({product_log})\n")
    return "".join(parts)


def trailer_stage(product_file, drizzle_name, out, summary, expected=(), product_log=None,
                  logs_root="logs"):
    """Write the trailer ``out`` (atomically) of ``product_file``, made from the AstroDrizzle
    product ``drizzle_name`` whose stage logs are under ``logs_root/drizzle_name``."""
    text = trailer_text(product_file, summary, stage_logs(drizzle_name, logs_root), expected, product_log)
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
