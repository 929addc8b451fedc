from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.catalogs.stages import detection_stage

detection_stage(snakemake.input.total, snakemake.output.point, snakemake.output.segments, snakemake.params.pars)
