from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import expand_job

i = snakemake.input
expand_job(i.previous, i.exposure, list(i.catalogs), i.hlet, i.refwcs,
           snakemake.output[0], snakemake.params.pars)
