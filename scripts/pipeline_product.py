from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.product import product_stage

product_stage(snakemake.input.product, snakemake.input.cascade, list(snakemake.input.headerlets),
              snakemake.output[0], snakemake.wildcards.name)
