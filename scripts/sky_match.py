from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_sky import sky_match_stage

sky_match_stage(list(snakemake.input.pairs), list(snakemake.input.stats), snakemake.output[0],
                snakemake.params.pars)
