from snakedrizzle.inputs import resolve_inputs
from snakedrizzle.workflow import run_stage

paths, _ = resolve_inputs(snakemake.params.inputs)
run_stage(snakemake, "separate_frame_stage", paths, snakemake.output[0], snakemake.params.pars)
