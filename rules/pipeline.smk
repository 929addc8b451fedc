# runastrodriz (snakedrizzle/pipeline/plan.py, SPEC-HAP H9). With --config runastrodriz=INPUT
# every drizzle of the cascade is an AstroDrizzle product that astrodrizzle.smk's stage rules
# build (<root>_default, <root>_apriori, <root>_aposteriori: the verification drizzles;
# <root>_flt/<root>_flc: the final ones); the rules here make each stage's WCS, the a posteriori
# fit, the checks, the decision and the pipeline's public files in results/pipeline/<root>/.


wildcard_constraints:
    stage=r"default|apriori|aposteriori",


rule pipeline_stage_wcs:
    # The default (distortion-only) or a priori WCS an exposure carries, as a headerlet.
    input:
        exposure=lambda wc: plan.pipeline.exposure(wc.root),
    output:
        "results/pipeline/{name}/{stage}/{root}_hlet.fits",
    params:
        wcsname=lambda wc: plan.pipeline.stage_wcsname(wc.stage, wc.root),
    wildcard_constraints:
        stage=r"default|apriori",
    threads: 1
    resources:
        mem_mb=300,
        runtime=sdresources.minutes_for(2),
    log:
        "logs/{name}/pipeline_stage_wcs/{stage}_{root}.log",
    benchmark:
        "logs/{name}/pipeline_stage_wcs/{stage}_{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_stage_wcs.py"


rule pipeline_align_sources:
    input:
        exposure=lambda wc: plan.pipeline.exposure(wc.root),
    output:
        "results/pipeline/{name}/align/{root}_sources.ecsv",
    params:
        pars=lambda wc: plan.pipeline.source_pars(),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(2, base=250),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/pipeline_align_sources/{root}.log",
    benchmark:
        "logs/{name}/pipeline_align_sources/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/hap_align_sources.py"


rule pipeline_refcat:
    # One catalog of the list (refcat/refcat_name): its local file, else its service (Gaia
    # archive; GSC242 and 2MASS from VizieR), once.
    input:
        exposures=lambda wc: plan.pipeline.align_files,
        refcat=lambda wc: plan.pipeline.user_refcat(wc.refname),
    output:
        "results/pipeline/{name}/align/{name}_{refname}_ref_cat.ecsv",
    params:
        catalog=lambda wc: wc.refname,
    wildcard_constraints:
        refname=r"[A-Za-z0-9]+",
    threads: 1
    resources:
        mem_mb=400,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/pipeline_refcat/{refname}.log",
    benchmark:
        "logs/{name}/pipeline_refcat/{refname}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/hap_align_refcat.py"


checkpoint pipeline_fit:
    # Relative then image-by-image fit to the reference catalogs (SPEC-HAP H6.4-H6.6: methods
    # outer, catalogs inner, the best fit kept), from the a priori WCS when that stage was
    # verified, else from the default. A checkpoint: a failed fit is not drizzled (its check
    # reads only the fit table).
    input:
        unpack(lambda wc: plan.pipeline.fit_inputs()),
    output:
        table="results/pipeline/{name}/aposteriori/{name}_fit.ecsv",
        wcs="results/pipeline/{name}/aposteriori/{name}_fit_wcs.ecsv",
    params:
        pars=lambda wc: plan.pipeline.align_pars(),
        catalog=lambda wc: plan.pipeline.catalog_names(),
        stages=lambda wc: plan.pipeline.stages,
    threads: 1
    resources:
        mem_mb=600,
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/pipeline_fit/pipeline_fit.log",
    benchmark:
        "logs/{name}/pipeline_fit/pipeline_fit.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_fit.py"


rule pipeline_fit_headerlet:
    input:
        exposure=lambda wc: plan.pipeline.exposure(wc.root),
        fit=lambda wc: plan.pipeline.fit_files()["table"],
        wcs=lambda wc: plan.pipeline.fit_files()["wcs"],
        start=lambda wc: plan.pipeline.fit_inputs()["start"],
    output:
        "results/pipeline/{name}/aposteriori/{root}_hlet.fits",
    threads: 1
    resources:
        mem_mb=300,
        runtime=sdresources.minutes_for(2),
    log:
        "logs/{name}/pipeline_fit_headerlet/{root}.log",
    benchmark:
        "logs/{name}/pipeline_fit_headerlet/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_fit_headerlet.py"


rule pipeline_verify:
    # The stage's drizzle checked (overlap differences, focus; similarity to the default).
    input:
        unpack(lambda wc: plan.pipeline.verify_inputs(wc.stage, fit_ok=pipeline_fit_ok(wc))),
    output:
        "results/pipeline/{name}/{stage}/{name}_verify.json",
    params:
        detector=lambda wc: plan.pipeline.detector(),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(4, base=300),  # product, reference, singles: each a float copy or two
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/pipeline_verify/{stage}.log",
    benchmark:
        "logs/{name}/pipeline_verify/{stage}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_verify.py"


rule pipeline_select:
    input:
        unpack(lambda wc: plan.pipeline.select_inputs()),
    output:
        "results/pipeline/{name}/{name}_cascade.json",
    params:
        stages=lambda wc: plan.pipeline.stages,
        checked=lambda wc: plan.pipeline.checked_stages(),
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    log:
        "logs/{name}/pipeline_select/pipeline_select.log",
    benchmark:
        "logs/{name}/pipeline_select/pipeline_select.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_select.py"


rule pipeline_final_wcs:
    input:
        cascade="results/pipeline/{name}/{name}_cascade.json",
        stages=lambda wc: plan.pipeline.stage_headerlets(wc.root).values(),
    output:
        "results/pipeline/{name}/final/{root}_hlet.fits",
    params:
        stages=lambda wc: list(plan.pipeline.stage_headerlets(wc.root)),
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    log:
        "logs/{name}/pipeline_final_wcs/{root}.log",
    benchmark:
        "logs/{name}/pipeline_final_wcs/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_final_wcs.py"


rule pipeline_product:
    input:
        unpack(lambda wc: plan.pipeline.final_product_inputs(plan.pipeline.kind_of_suffix(wc.suffix))),
    output:
        "results/pipeline/{name}/{name}_{suffix}.fits",
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(3, base=200, of="product"),
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/pipeline_product/{suffix}.log",
    benchmark:
        "logs/{name}/pipeline_product/{suffix}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_product.py"


rule pipeline_headerlet:
    # <exp>_flt_hlet.fits (the pipeline's name, for FLC inputs too): the chosen WCS.
    input:
        "results/pipeline/{name}/final/{root}_hlet.fits",
    output:
        "results/pipeline/{name}/{root}_flt_hlet.fits",
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    log:
        "logs/{name}/pipeline_headerlet/{root}.log",
    benchmark:
        "logs/{name}/pipeline_headerlet/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_headerlet.py"


rule pipeline_trailer:
    # <root>.tra: every stage tried, every fit and why it was kept or rejected, the job logs.
    input:
        cascade="results/pipeline/{name}/{name}_cascade.json",
        products=lambda wc: [plan.pipeline.product_file(k) for k in plan.pipeline.input.kinds],
        fit=lambda wc: plan.pipeline.select_inputs().get("fit", []),
    output:
        "results/pipeline/{name}/{name}.tra",
    params:
        notes=lambda wc: plan.pipeline.notes,
        log_dirs=lambda wc: plan.pipeline.log_dirs(),
    threads: 1
    resources:
        mem_mb=200,
        runtime=2,
    log:
        "logs/{name}/pipeline_trailer/pipeline_trailer.log",
    benchmark:
        "logs/{name}/pipeline_trailer/pipeline_trailer.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/pipeline_trailer.py"
