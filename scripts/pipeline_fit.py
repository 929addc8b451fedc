from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import pipeline_fit_stage

pipeline_fit_stage(list(snakemake.input.exposures), list(snakemake.input.sources), list(snakemake.input.refcat),
                   list(snakemake.input.start), snakemake.params.stages,
                   snakemake.input.get("apriori_verdict"), snakemake.output.table, snakemake.output.wcs,
                   snakemake.params.pars, snakemake.params.catalog)
