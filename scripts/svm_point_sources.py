from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.catalogs.stages import point_sources_stage

point_sources_stage(snakemake.input.total, snakemake.output[0], snakemake.params.pars)
