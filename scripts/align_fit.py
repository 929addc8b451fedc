from snakedrizzle.workflow.jobs import run_stage

i, o = snakemake.input, snakemake.output
run_stage(snakemake, "snakedrizzle.align.jobs:fit_job", i.exposure, snakemake.wildcards.root, list(i.catalogs), i.refcat, i.refwcs,
          o.hlet, o.fit, o.match, snakemake.params.pars, is_reference=snakemake.params.is_reference)
