from snakedrizzle.stages import sky_stats_stage
from snakedrizzle.workflow import run_stage

run_stage(snakemake, sky_stats_stage, snakemake.input.exposure, snakemake.input.static,
          snakemake.output[0], snakemake.params.pars)
