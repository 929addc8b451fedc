from snakedrizzle.workflow.jobs import run_stage

i = snakemake.input
run_stage(snakemake, "driz_cr_stage", i.exposure, int(snakemake.wildcards.chip), i.blot, i.sky,
          snakemake.output[0], snakemake.params.pars)
