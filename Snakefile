# snakedrizzle: AstroDrizzle as an incremental Snakemake workflow.
#   snakemake --cores 2                                       -> the synthetic demo
#   snakemake --cores 2 --config input='DIR/*_flt.fits' output=NAME
#   snakemake --cores 2 --config poller=FILE                  -> HAP single-visit mosaics
#   snakemake --cores 2 --config runastrodriz=ASN_OR_FILE     -> the pipeline products (runastrodriz)
from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/astrodrizzle.smk"
include: "rules/align.smk"
include: "rules/report.smk"
include: "rules/hap.smk"
include: "rules/pipeline.smk"


# A local run without conda/containers hands its jobs to a fork server that has imported the
# science stack once (snakedrizzle/workflow/jobserver.py); cluster jobs, and jobs that must run in
# a conda env or container, run their script in their own process.
from snakedrizzle.workflow import jobserver

_server = []


onstart:
    if jobserver.wanted(workflow):
        _server.append(jobserver.start())


onsuccess:
    while _server:
        jobserver.stop(_server.pop(), workflow)
    # A run ends by naming what it made (the console, not only the log).
    for product in plan.finished_products():
        print(f"snakedrizzle: product {product}")


onerror:
    while _server:
        jobserver.stop(_server.pop(), workflow)


rule all:
    input:
        plan.targets,
    default_target: True
