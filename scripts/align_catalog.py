from snakedrizzle.workflow.jobs import run_stage

out, par = snakemake.output, snakemake.params
run_stage(snakemake, "snakedrizzle.align.jobs:catalog_job", snakemake.input.exposure, snakemake.wildcards.chip, out.ecsv,
          out.coo, out.reg, par.pars, usercat=par.usercat or None, region=par.region or None)
