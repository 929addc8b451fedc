from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.preview import product_preview

product_preview(snakemake.input[0], snakemake.output[0])
