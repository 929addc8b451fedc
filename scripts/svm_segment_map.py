from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.catalogs.stages import segment_map_stage

segment_map_stage(snakemake.input.total, snakemake.output[0], snakemake.params.pars)
