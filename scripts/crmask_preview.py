from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.preview import crmask_preview

crmask_preview(snakemake.input.exposure, list(snakemake.input.masks), snakemake.output[0])
