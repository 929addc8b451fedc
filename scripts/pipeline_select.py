from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import select_stage

select_stage(snakemake.params.stages, dict(zip(snakemake.params.checked, snakemake.input.verdicts)),
             snakemake.input.get("fit"), snakemake.output[0])
