from snakedrizzle.workflow.jobs import run_stage

run_stage(snakemake, "snakedrizzle.align.jobs:write_sky_coo", snakemake.input[0], snakemake.output[0])
