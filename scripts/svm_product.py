from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.files import hap_product_stage

hap_product_stage(snakemake.input.product, list(snakemake.input.exposures), snakemake.output[0],
                  snakemake.params.level, sky=snakemake.params.sky,
                  exposure_names=dict(snakemake.params.hapexpnames))
