from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

if "direct" in snakemake.input.keys():  # a grism/prism exposure: the direct exposures' fit (H6.8)
    from snakedrizzle.hap.align.grism import grism_headerlet_stage

    grism_headerlet_stage(snakemake.input.exposure, list(snakemake.input.direct), snakemake.input.table,
                          snakemake.input.wcs, snakemake.output[0], snakemake.params.catalog)
else:
    from snakedrizzle.hap.align.stages import headerlet_stage

    headerlet_stage(snakemake.input.exposure, snakemake.input.table, snakemake.input.wcs, snakemake.output[0],
                    snakemake.params.catalog)
