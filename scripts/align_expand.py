from snakedrizzle.workflow.jobs import run_stage

i = snakemake.input
run_stage(snakemake, "snakedrizzle.align.jobs:expand_job", i.previous, i.exposure, list(i.catalogs), i.hlet, i.refwcs,
          snakemake.output[0], snakemake.params.pars)
