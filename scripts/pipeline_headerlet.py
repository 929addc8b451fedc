from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import public_headerlet_stage

public_headerlet_stage(snakemake.input[0], snakemake.output[0])
