from snakedrizzle.stages import static_stage
from snakedrizzle.workflow import run_stage

run_stage(snakemake, static_stage, snakemake.input.exposure, snakemake.output[0], snakemake.params.pars)
