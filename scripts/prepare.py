from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files import prepare_stage

o = snakemake.output
prepare_stage(snakemake.input.exposure, o.static, o.stats, snakemake.params.pars)
