from snakedrizzle.workflow import run_stage

out = snakemake.output
run_stage(snakemake, "snakedrizzle.align.jobs:catalog_job", snakemake.input.exposure, snakemake.wildcards.chip, out.ecsv, out.coo, out.reg,
          snakemake.params.pars)
