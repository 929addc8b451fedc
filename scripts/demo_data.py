from snakedrizzle.simulate import make_demo
from snakedrizzle.workflow.jobs import run_stage

run_stage(snakemake, make_demo, snakemake.output[0])
