import re

from snakedrizzle.workflow.jobs import headerlets_by_root, run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.drizzle.files_final import final_drizzle_stage

i = snakemake.input
# CR masks are named <root>_sci<chip>_crmask.fits
crmasks = {}
for path in i.crmasks:
    m = re.search(r"([^/]+)_sci(\d+)_crmask\.fits$", path)
    if m:
        crmasks[(m[1], int(m[2]))] = path
final_drizzle_stage(list(i.exposures), i.static, list(i.sky), crmasks,
                    snakemake.output[0], snakemake.params.pars, workers=snakemake.threads,
                    headerlets=headerlets_by_root(snakemake.input.hlets), ivm_sources=snakemake.params.ivm)
