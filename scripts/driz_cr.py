from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_cr import driz_cr_stage

i = snakemake.input
driz_cr_stage(i.exposure, int(snakemake.wildcards.chip), i.blot, i.sky,
              snakemake.output[0], snakemake.params.pars)
