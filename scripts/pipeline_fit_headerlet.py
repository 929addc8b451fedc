from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import aposteriori_headerlet_stage, start_headerlet

aposteriori_headerlet_stage(snakemake.input.exposure,
                            start_headerlet(list(snakemake.input.start), snakemake.input.fit, snakemake.wildcards.root),
                            snakemake.input.fit, snakemake.input.wcs, snakemake.output[0])
