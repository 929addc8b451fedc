from snakedrizzle.align.jobs import catalog_job
from snakedrizzle.workflow import run_stage

out = snakemake.output
run_stage(snakemake, catalog_job, snakemake.input.exposure, snakemake.wildcards.chip, out.ecsv, out.coo, out.reg,
          snakemake.params.pars)
