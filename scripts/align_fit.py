from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.align.jobs import fit_job

i, o = snakemake.input, snakemake.output
fit_job(i.exposure, snakemake.wildcards.root, list(i.catalogs), i.refcat, i.refwcs,
        o.hlet, o.fit, o.match, snakemake.params.pars, is_reference=snakemake.params.is_reference)
