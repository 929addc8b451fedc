from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import shifts_job

i, o = snakemake.input, snakemake.output
shifts_job(list(i.fits), list(i.matches), o.ecsv, o.txt, o.residuals, o.vectors,
           i.refwcs, snakemake.params.pars)
