from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.workflow.jobs import headerlets_by_root, run_stage

paths, _ = resolve_inputs(snakemake.params.inputs)
run_stage(snakemake, "separate_frame_stage", paths, snakemake.output[0], snakemake.params.pars,
          headerlets=headerlets_by_root(snakemake.input.hlets))
