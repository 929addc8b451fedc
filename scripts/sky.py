from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files import sky_stage

solve = list(snakemake.input.solve)
sky_stage(snakemake.input.exposure, list(snakemake.input.stats),
          snakemake.output[0], snakemake.params.pars, solve_file=solve[0] if solve else None)
