from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.align.stages import headerlet_stage

headerlet_stage(snakemake.input.exposure, snakemake.input.table, snakemake.input.wcs, snakemake.output[0],
                snakemake.params.catalog)
