from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.files import metawcs_stage

# the grid is made after alignment: from the visit fit's headerlets (one per exposure, same order)
metawcs_stage(list(snakemake.input.exposures), snakemake.output[0], **snakemake.params.frame,
              headerlets=dict(zip(snakemake.input.exposures, snakemake.input.hlets)))
