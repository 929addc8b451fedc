from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.io.inputs import resolve_inputs
from snakedrizzle.drizzle.files import separate_frame_stage

paths, _ = resolve_inputs(snakemake.params.inputs)
separate_frame_stage(paths, snakemake.output[0], snakemake.params.pars,
                     headerlets=headerlets_by_root(snakemake.input.hlets))
