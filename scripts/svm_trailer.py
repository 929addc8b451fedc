from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.trailer import expected_stages, trailer_stage

trailer_stage(snakemake.input.product, snakemake.wildcards.hapname, snakemake.output[0],
              dict(snakemake.params.summary), expected=expected_stages(snakemake.params.cr_rejection),
              product_log=snakemake.params.product_log)
