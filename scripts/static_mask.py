from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files import combine_static_stage

combine_static_stage(snakemake.input.exposures, snakemake.input.masks,
                     snakemake.output[0], snakemake.params.pars)
