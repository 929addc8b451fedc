from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_cr import crclean_stage

i = snakemake.input
crclean_stage(i.exposure, list(i.masks), list(i.blots), snakemake.output[0],
              snakemake.params.pars)
