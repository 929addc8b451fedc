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


rule all:
    input:
        all_targets,
    default_target: True
