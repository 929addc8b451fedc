from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.pipeline.stages import verify_files

verify_files(snakemake.input.get("product"), list(snakemake.input.get("singles", [])), snakemake.params.detector,
             snakemake.output[0], reference=snakemake.input.get("reference"), fit_table=snakemake.input.get("fit"))
