# HAP single-visit mosaics (SVM; snakedrizzle/hap/plan.py). With --config poller=FILE every
# exposure, filter and total product of the visit is an AstroDrizzle product that the stage
# rules of astrodrizzle.smk build under results/<HAP name>/, on the visit's meta-WCS; the rules
# here add only what is HAP's own: the meta-WCS, the HAP product (keywords) and the manifest.


rule svm_metawcs:
    # One north-up grid per visit and detector from every direct exposure (SPEC-HAP H4).
    input:
        exposures=lambda wc: plan.svm.metawcs_inputs(wc),
    output:
        "results/svm/{name}/{detkey}_metawcs.fits",
    params:
        frame=lambda wc: plan.svm.metawcs_pars(wc),
    wildcard_constraints:
        detkey=r"[a-z0-9]+_[a-z0-9]+",
    threads: 1
    resources:
        mem_mb=300,
        runtime=dag.minutes_for(5),
    log:
        "logs/{name}/svm_metawcs/{detkey}.log",
    benchmark:
        "logs/{name}/svm_metawcs/{detkey}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_metawcs.py"


rule svm_product:
    # The AstroDrizzle product of a HAP product, with HAP's keywords (SPEC-HAP H8).
    input:
        product=lambda wc: plan.svm.product(wc.hapname).drizzle_file,
        exposures=lambda wc: plan.svm.product(wc.hapname).exposures,
    output:
        "results/svm/{name}/{hapname}_{suffix}.fits",
    params:
        level=lambda wc: plan.svm.product(wc.hapname).level,
        sky=lambda wc: plan.svm.sky_method(plan.params(wc.hapname)),
    wildcard_constraints:
        hapname=r"hst_[^/]+",
    threads: 1
    resources:
        mem_mb=dag.mem_for(3, base=200, of="product"),
        runtime=dag.minutes_for(10),
    log:
        "logs/{name}/svm_product/{hapname}_{suffix}.log",
    benchmark:
        "logs/{name}/svm_product/{hapname}_{suffix}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_product.py"


rule svm_manifest:
    input:
        lambda wc: [p.file for p in plan.svm.visit_products(wc.name)],
    output:
        "results/svm/{name}/{manifest}_manifest.txt",
    wildcard_constraints:
        manifest=r"[a-z0-9]+_[a-z0-9]+_[a-z0-9]+",
    threads: 1
    resources:
        mem_mb=100,
        runtime=2,
    log:
        "logs/{name}/svm_manifest/{manifest}.log",
    benchmark:
        "logs/{name}/svm_manifest/{manifest}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_manifest.py"
