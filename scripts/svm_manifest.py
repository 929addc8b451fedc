from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.files import manifest_stage

manifest_stage(list(snakemake.input), snakemake.output[0])
