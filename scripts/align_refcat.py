from snakedrizzle.workflow.jobs import run_stage

run_stage(snakemake, "snakedrizzle.align.jobs:refcat_job", snakemake.input.first, list(snakemake.params.first_catalogs),
          snakemake.output.ecsv, snakemake.output.wcs, snakemake.params.pars)
