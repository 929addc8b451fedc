from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files import separate_frame_stage
from snakedrizzle.workflow.dag import exposure_files_of

paths = exposure_files_of(snakemake.config, snakemake.wildcards.name)
separate_frame_stage(paths, snakemake.output[0], snakemake.params.pars,
                     headerlets=headerlets_by_root(snakemake.input.hlets))
