from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import refcat_job

refcat_job(snakemake.input.first, list(snakemake.params.first_catalogs),
           snakemake.output.ecsv, snakemake.output.wcs, snakemake.params.pars)
