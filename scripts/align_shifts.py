from snakedrizzle.workflow.jobs import run_stage

i, o = snakemake.input, snakemake.output
run_stage(snakemake, "snakedrizzle.align.jobs:shifts_job", list(i.fits), list(i.matches), o.ecsv, o.txt, o.residuals, o.vectors,
          i.refwcs, snakemake.params.pars)
