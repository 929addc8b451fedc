from snakedrizzle.workflow.jobs import headerlets_by_root, run_stage

i = snakemake.input
run_stage(snakemake, "blot_stage", i.exposure, int(snakemake.wildcards.chip), i.median, i.sky,
          snakemake.output[0], snakemake.params.pars, headerlets=headerlets_by_root(snakemake.input.hlets))
