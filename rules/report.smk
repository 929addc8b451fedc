# Figures for `snakemake --report report.html` (report/workflow.rst explains the run): a preview
# of every product and, per exposure, where the cosmic-ray rejection flagged pixels. The
# alignment's residual and vector plots and shifts table are marked in rules/align.smk.


rule preview:
    input:
        "results/{name}/{name}_{suffix}.fits",
    output:
        report(
            "results/{name}/report/{name}_{suffix}.png",
            caption="../report/preview.rst",
            category="Products",
            labels={"product": "{name}", "file": "{name}_{suffix}.fits"},
        ),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(0.7, base=270),
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/preview/preview_{suffix}.log",
    benchmark:
        "logs/{name}/preview/preview_{suffix}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/preview.py"


rule crmask_preview:
    input:
        exposure=plan.exposure_path,
        masks=plan.per_chip("results/{name}/{root}_sci{chip}_crmask.fits"),
    output:
        report(
            "results/{name}/report/{root}_crmask.png",
            caption="../report/crmask.rst",
            category="Cosmic-ray masks",
            subcategory="{name}",
            labels={"product": "{name}", "exposure": "{root}"},
        ),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(0.5, base=220),
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/crmask_preview/{root}.log",
    benchmark:
        "logs/{name}/crmask_preview/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/crmask_preview.py"
