from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_sky import sky_pair_stage

i = snakemake.input
sky_pair_stage(list(i.exposures), list(i.static), snakemake.output[0], snakemake.params.pars,
               headerlets=headerlets_by_root(i.hlets))
