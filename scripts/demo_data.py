from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.simulate import make_demo

make_demo(snakemake.output[0])
