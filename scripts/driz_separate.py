from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files import single_drizzle_stage

i, o = snakemake.input, snakemake.output
single_drizzle_stage(i.exposure, i.static, i.sky, i.frame, o.sci, o.wht,
                     snakemake.params.pars, headerlets=headerlets_by_root(snakemake.input.hlets))
