from snakedrizzle.workflow.jobs import run_stage

o = snakemake.output
run_stage(snakemake, "prepare_stage", snakemake.input.exposure, o.static, o.stats, snakemake.params.pars)
