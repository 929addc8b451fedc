from snakedrizzle.workflow.jobs import run_in_job_server

run_in_job_server(snakemake)

from snakedrizzle.hap.catalogs.stages import catalog_stage

# svm_point_catalog / svm_segment_catalog: a filter catalog measures the filter product (flag 4
# from the DQ of its exposures, on their headerlets); a total catalog joins its filter catalogs
catalog_stage("point" if snakemake.rule == "svm_point_catalog" else "segment", snakemake.params.level,
              dict(snakemake.input), snakemake.output[0], snakemake.params.pars)
