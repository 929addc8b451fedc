from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_cr import median_stage

i = snakemake.input
median_stage(list(i.exposures), list(i.sci), list(i.wht), list(i.sky),
             snakemake.output[0], snakemake.params.pars, workers=snakemake.threads)
