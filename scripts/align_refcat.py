from snakedrizzle.align.jobs import refcat_job
from snakedrizzle.workflow import run_stage

run_stage(snakemake, refcat_job, snakemake.input.first, list(snakemake.params.first_catalogs),
          snakemake.output.ecsv, snakemake.output.wcs, snakemake.params.pars)
