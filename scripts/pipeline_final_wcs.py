from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import final_wcs_stage

final_wcs_stage(snakemake.input.cascade, dict(zip(snakemake.params.stages, snakemake.input.stages)),
                snakemake.output[0])
