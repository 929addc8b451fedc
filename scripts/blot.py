from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_cr import blot_stage

i = snakemake.input
blot_stage(i.exposure, int(snakemake.wildcards.chip), i.median, i.sky,
           snakemake.output[0], snakemake.params.pars, headerlets=headerlets_by_root(snakemake.input.hlets))
