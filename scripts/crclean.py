from snakedrizzle.workflow.jobs import run_stage

i = snakemake.input
run_stage(snakemake, "crclean_stage", i.exposure, list(i.masks), list(i.blots), snakemake.output[0],
          snakemake.params.pars)
