from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import write_sky_coo

write_sky_coo(snakemake.input[0], snakemake.output[0])
