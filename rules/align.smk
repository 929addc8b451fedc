# TweakReg (SPEC §3) as rules: per-chip source catalogs, the reference catalog, a fit per
# exposure (its aligned WCS as a headerlet, always written), and the gathered shifts table.
# Every rule gets exactly its stage's parameters (snakedrizzle.workflow.params.ALIGN_STAGES), so only an
# alignment parameter reruns alignment. What each rule reads comes from `plan` (dag.py).
#   snakemake --cores 2 results/NAME/align/NAME_shifts.ecsv --config input=... output=NAME


rule align_catalog:
    input:
        exposure=plan.exposure_path,
        user_files=plan.align_user_files,
    output:
        ecsv="results/{name}/align/{root}_sci{chip}_xy_catalog.ecsv",
        coo="results/{name}/align/{root}_sci{chip}_xy_catalog.coo",
        reg="results/{name}/align/{root}_sci{chip}_xy_catalog.reg",
    params:
        pars=plan.align_catalog_pars,
        usercat=plan.align_usercat,
        region=plan.align_region,
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.5, base=250),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/align_catalog/{root}_sci{chip}.log",
    benchmark:
        "logs/{name}/align_catalog/{root}_sci{chip}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_catalog.py"


rule align_refcat:
    input:
        first=plan.align_first_exposure,
        reference=plan.align_reference_files,
    output:
        ecsv="results/{name}/align/{name}_refcat.ecsv",
        wcs="results/{name}/align/{name}_shifts_wcs.fits",
    params:
        pars=plan.align_refcat_pars,
        first_catalogs=plan.align_first_catalogs,
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(0.8, base=200),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/align_refcat/align_refcat.log",
    benchmark:
        "logs/{name}/align_refcat/align_refcat.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_refcat.py"


rule align_fit:
    input:
        exposure=plan.exposure_path,
        catalogs=plan.align_catalogs_of,
        refcat=plan.align_refcat_of,
        refwcs="results/{name}/align/{name}_shifts_wcs.fits",
        history=plan.align_history,
    output:
        hlet="results/{name}/align/{root}_hlet.fits",
        fit="results/{name}/align/{root}_fit.json",
        match="results/{name}/align/{root}_catalog_fit.match",
    params:
        pars=plan.pars("align_fit"),
        is_reference=plan.align_is_reference,
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.1, base=220),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/align_fit/{root}.log",
    benchmark:
        "logs/{name}/align_fit/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_fit.py"


rule align_expand:
    input:
        previous=plan.align_refcat_of,
        exposure=plan.exposure_path,
        catalogs=plan.align_catalogs_of,
        hlet="results/{name}/align/{root}_hlet.fits",
        refwcs="results/{name}/align/{name}_shifts_wcs.fits",
    output:
        "results/{name}/align/{root}_cumulative_refcat.ecsv",
    params:
        pars=plan.pars("align_expand"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/align_expand/{root}.log",
    benchmark:
        "logs/{name}/align_expand/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_expand.py"


rule align_cumulative_refcat:
    input:
        plan.align_last_cumulative,
    output:
        "results/{name}/align/cumulative_sky_refcat_{name}.coo",
    threads: 1
    resources:
        mem_mb=300,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/align_cumulative_refcat/align_cumulative_refcat.log",
    benchmark:
        "logs/{name}/align_cumulative_refcat/align_cumulative_refcat.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_cumulative_refcat.py"


rule align_shifts:
    input:
        fits=plan.align_fits,
        matches=plan.align_matches,
        refwcs="results/{name}/align/{name}_shifts_wcs.fits",
        cumulative=plan.align_cumulative,
    output:
        ecsv=report(
            "results/{name}/align/{name}_shifts.ecsv",
            caption="../report/shifts.rst",
            category="Alignment",
        ),
        txt="results/{name}/align/{name}_shifts.txt",
        residuals=report(
            "results/{name}/align/{name}_residuals.png",
            caption="../report/residuals.rst",
            category="Alignment",
        ),
        vectors=report(
            "results/{name}/align/{name}_vectors.png",
            caption="../report/vectors.rst",
            category="Alignment",
        ),
    params:
        pars=plan.pars("align_shifts"),
    threads: 1
    resources:
        mem_mb=250,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/align_shifts/align_shifts.log",
    benchmark:
        "logs/{name}/align_shifts/align_shifts.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/align_shifts.py"
