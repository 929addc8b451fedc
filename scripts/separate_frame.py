from snakedrizzle.stages import separate_frame_stage
from snakedrizzle.workflow import run_stage

run_stage(snakemake, separate_frame_stage, snakemake.params.exposures if snakemake.params.pars["driz_sep_wcs"]
          else list(snakemake.input)[:1], snakemake.output[0], snakemake.params.pars)
