from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.align.stages import fit_stage

pars = snakemake.params.pars
# refcat: every catalog of the list, in the order of the names (params.catalog)
fit_stage(list(snakemake.input.exposures), list(snakemake.input.sources), list(snakemake.input.refcat),
          snakemake.output.table, snakemake.output.wcs, pars, snakemake.params.catalog,
          relative_fallback=pars["relative_fallback"])
