from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.product import trailer_stage

trailer_stage(snakemake.wildcards.name, snakemake.params.notes, snakemake.input.cascade,
              snakemake.input.fit[0] if snakemake.input.fit else "", list(snakemake.input.products),
              snakemake.params.log_dirs, snakemake.output[0])
