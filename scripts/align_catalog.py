from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import catalog_job

out, par = snakemake.output, snakemake.params
catalog_job(snakemake.input.exposure, snakemake.wildcards.chip, out.ecsv,
            out.coo, out.reg, par.pars, usercat=par.usercat or None, region=par.region or None)
