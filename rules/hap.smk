# HAP single-visit mosaics (SVM; snakedrizzle/hap/plan.py). With --config poller=FILE every
# exposure, filter and total product of the visit is an AstroDrizzle product that the stage
# rules of astrodrizzle.smk build under results/<HAP name>/, on the visit's meta-WCS; the rules
# here add only what is HAP's own: the meta-WCS, the HAP product (keywords) and the manifest.


rule svm_metawcs:
    # One north-up grid per visit and detector from every direct exposure (SPEC-HAP H4).
    input:
        exposures=lambda wc: plan.svm.metawcs_inputs(wc),
        hlets=lambda wc: plan.svm.align.metawcs_headerlets(wc),
    output:
        "results/svm/{name}/{detkey}_metawcs.fits",
    params:
        frame=lambda wc: plan.svm.metawcs_pars(wc),
    wildcard_constraints:
        detkey=r"[a-z0-9]+_[a-z0-9]+",
    threads: 1
    resources:
        mem_mb=300,
        runtime=sdresources.minutes_for(5),
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
        hapexpnames=lambda wc: plan.svm.hapexpnames(wc.hapname),
    wildcard_constraints:
        hapname=r"hst_[^/]+",
        suffix=r"dr[cz]",
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(3, base=200, of="product"),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/svm_product/{hapname}_{suffix}.log",
    benchmark:
        "logs/{name}/svm_product/{hapname}_{suffix}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_product.py"


rule svm_trailer:
    # HAP's <product>_trl.txt (the product's DRIZPARS): its summary and the logs of the jobs that
    # made it (snakedrizzle/hap/trailer.py). A rule of its own, run after svm_product: Snakemake
    # wants the same wildcards in every output of a rule, and the trailer's name has no {suffix}.
    input:
        product=lambda wc: plan.svm.product(wc.hapname).file,
    output:
        "results/svm/{name}/{hapname}_trl.txt",
    params:
        summary=lambda wc: plan.svm.trailer_summary(wc.hapname, plan.params(wc.hapname)),
        cr_rejection=lambda wc: plan.cr_rejection(wc.hapname),
        product_log=lambda wc: plan.svm.product(wc.hapname).product_log,
    wildcard_constraints:
        hapname=r"hst_[^/]+",
    threads: 1
    resources:
        mem_mb=100,
        runtime=2,
    log:
        "logs/{name}/svm_trailer/{hapname}.log",
    benchmark:
        "logs/{name}/svm_trailer/{hapname}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_trailer.py"


rule svm_manifest:
    input:
        # HAP's order: per detector filter product, its trailer, its exposure products each with
        # its trailer, the total and its trailer (plan.manifest_products); then the catalogs
        lambda wc: plan.svm.manifest_products(wc.name) + plan.svm.catalogs.visit_catalogs(wc.name),
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


# ---- SVM alignment (snakedrizzle/hap/align, SPEC-HAP H6): per-exposure source lists, the
# visit's reference catalog (a file target: refcat, else the Gaia archive once), one fit per
# visit and detector (fit table + aligned WCSs) and a headerlet per exposure, which every drizzle
# stage of the visit's products and the meta-WCS read.


rule svm_align_sources:
    input:
        exposure=lambda wc: plan.svm.align.exposure(wc),
    output:
        "results/svm/{name}/align/{root}_sources.ecsv",
    params:
        pars=lambda wc: plan.svm.align.source_pars(wc),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(2, base=250),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/svm_align_sources/{root}.log",
    benchmark:
        "logs/{name}/svm_align_sources/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/hap_align_sources.py"


rule svm_align_refcat:
    # One catalog of the list (refcat/refcat_name, SPEC-HAP H6.6): its local file, else its
    # service (Gaia archive; GSC242 and 2MASS from VizieR), asked once.
    input:
        exposures=lambda wc: plan.svm.align.visit_exposures(wc),
        refcat=lambda wc: plan.svm.align.user_refcat(wc),
    output:
        "results/svm/{name}/align/{name}_{refname}_ref_cat.ecsv",
    params:
        catalog=lambda wc: wc.refname,
    wildcard_constraints:
        refname=r"[A-Za-z0-9]+",
    threads: 1
    resources:
        mem_mb=400,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/svm_align_refcat/{refname}.log",
    benchmark:
        "logs/{name}/svm_align_refcat/{refname}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/hap_align_refcat.py"


rule svm_align_fit:
    # Catalogs outer, methods inner: the first good fit wins (H6.6); reads every catalog of the
    # list, so the DAG is known before any catalog is (catalogs are cheap cached files).
    input:
        exposures=lambda wc: plan.svm.align.group(wc),
        sources=lambda wc: plan.svm.align.sources(wc),
        refcat=lambda wc: plan.svm.align.refcat_of(wc),
    output:
        table="results/svm/{name}/align/{detkey}_fit.ecsv",
        wcs="results/svm/{name}/align/{detkey}_fit_wcs.ecsv",
    params:
        pars=lambda wc: plan.svm.align.pars(wc),
        catalog=lambda wc: plan.svm.align.catalog_names(),
    wildcard_constraints:
        detkey=r"[a-z0-9]+_[a-z0-9]+",
    threads: 1
    resources:
        mem_mb=600,
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/svm_align_fit/{detkey}.log",
    benchmark:
        "logs/{name}/svm_align_fit/{detkey}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_align_fit.py"


rule svm_align_headerlet:
    input:
        unpack(lambda wc: plan.svm.align.fit_files(wc)),
    output:
        "results/svm/{name}/align/{root}_hlet.fits",
    params:
        catalog=lambda wc: plan.svm.refcat_name,
    threads: 1
    resources:
        mem_mb=300,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/svm_align_headerlet/{root}.log",
    benchmark:
        "logs/{name}/svm_align_headerlet/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_align_headerlet.py"


# ---- SVM catalogs (snakedrizzle/hap/catalogs, SPEC-HAP H7): detection once per total image
# (point sources; segmentation map with the total's background), then a point and a segment
# catalog per filter product measured on its own image, then the total catalogs that join the
# filter catalogs. Only these rules read the catalog parameters.


rule svm_detection:
    input:
        total=lambda wc: plan.svm.product(wc.total).file,
    output:
        point="results/svm/{name}/{total}_point-sources.ecsv",
        segments="results/svm/{name}/{total}_segment-map.fits",
    params:
        pars=lambda wc: plan.svm.catalogs.pars(wc.total),
    wildcard_constraints:
        total=r"hst_[^/]+_total_[a-z0-9]+",
    threads: 1
    resources:
        # measured: 0.82 GB on the 28 Mpixel ACS/WFC total of benchmarks/compare_runsinglehap.py
        mem_mb=sdresources.mem_for(2.5, base=250),
        runtime=sdresources.minutes_for(30),
    log:
        "logs/{name}/svm_detection/{total}.log",
    benchmark:
        "logs/{name}/svm_detection/{total}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_detection.py"


rule svm_point_catalog:
    input:
        unpack(lambda wc: plan.svm.catalogs.inputs(wc.hapname, "point")),
    output:
        "results/svm/{name}/{hapname}_point-cat.ecsv",
    params:
        pars=lambda wc: plan.svm.catalogs.pars(wc.hapname),
        level=lambda wc: plan.svm.catalogs.level(wc.hapname),
    wildcard_constraints:
        hapname=r"hst_[^/]+",
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1, base=250),  # measured: 0.29 GB on a 6 Mpixel HRC product
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/svm_point_catalog/{hapname}.log",
    benchmark:
        "logs/{name}/svm_point_catalog/{hapname}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_catalog.py"


rule svm_segment_catalog:
    input:
        unpack(lambda wc: plan.svm.catalogs.inputs(wc.hapname, "segment")),
    output:
        "results/svm/{name}/{hapname}_segment-cat.ecsv",
    params:
        pars=lambda wc: plan.svm.catalogs.pars(wc.hapname),
        level=lambda wc: plan.svm.catalogs.level(wc.hapname),
    wildcard_constraints:
        hapname=r"hst_[^/]+",
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.5, base=250),  # measured: 0.51 GB on a 6 Mpixel HRC visit
        runtime=sdresources.minutes_for(20),
    log:
        "logs/{name}/svm_segment_catalog/{hapname}.log",
    benchmark:
        "logs/{name}/svm_segment_catalog/{hapname}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/svm_catalog.py"
