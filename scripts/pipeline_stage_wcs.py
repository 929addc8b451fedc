from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import stage_wcs_stage

stage_wcs_stage(snakemake.input.exposure, snakemake.wildcards.stage, snakemake.params.wcsname, snakemake.output[0])
