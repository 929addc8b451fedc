from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.files import metawcs_stage

metawcs_stage(list(snakemake.input.exposures), snakemake.output[0], **snakemake.params.frame)
