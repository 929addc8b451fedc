from snakedrizzle.workflow.jobs import run_stage

run_stage(snakemake, "combine_static_stage", snakemake.input.exposures, snakemake.input.masks,
          snakemake.output[0], snakemake.params.pars)
