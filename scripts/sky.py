from snakedrizzle.workflow.jobs import run_stage

run_stage(snakemake, "sky_stage", snakemake.input.exposure, list(snakemake.input.stats),
          snakemake.output[0], snakemake.params.pars)
