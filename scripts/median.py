from snakedrizzle.workflow.jobs import run_stage

i = snakemake.input
run_stage(snakemake, "median_stage", list(i.exposures), list(i.sci), list(i.wht), list(i.sky),
          snakemake.output[0], snakemake.params.pars, workers=snakemake.threads)
