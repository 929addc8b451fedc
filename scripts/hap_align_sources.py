from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.align.stages import sources_stage

sources_stage(snakemake.input.exposure, snakemake.output[0], snakemake.params.pars)
