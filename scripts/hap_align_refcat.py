from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.align.stages import refcat_stage

refcat_stage(list(snakemake.input.exposures), snakemake.output[0],
             refcat=snakemake.input.refcat[0] if snakemake.input.refcat else "",
             catalog_name=snakemake.params.catalog)
