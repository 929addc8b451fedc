# snakedrizzle: AstroDrizzle as an incremental Snakemake workflow.
#   snakemake --cores 2                                       -> the synthetic demo
#   snakemake --cores 2 --config input='DIR/*_flt.fits' output=NAME
from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/astrodrizzle.smk"
include: "rules/align.smk"


# A local run hands its jobs to a fork server that has imported the science stack once
# (snakedrizzle/jobserver.py); cluster jobs run their stage in their own process.
if workflow.is_main_process and workflow.local_exec and not os.environ.get("SNAKEDRIZZLE_NO_JOBSERVER"):
    from snakedrizzle.workflow import jobserver

    _server = []

    onstart:
        _server.append(jobserver.start())

    onsuccess:
        jobserver.stop(*_server[0])

    onerror:
        jobserver.stop(*_server[0])


rule all:
    input:
        all_targets,
    default_target: True
