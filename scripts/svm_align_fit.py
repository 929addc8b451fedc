from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.align.stages import fit_stage

pars = snakemake.params.pars
fit_stage(list(snakemake.input.exposures), list(snakemake.input.sources), snakemake.input.refcat,
          snakemake.output.table, snakemake.output.wcs, pars, snakemake.params.catalog,
          relative_fallback=pars["relative_fallback"])
