# AstroDrizzle's stages (SPEC §1) as rules. Per-exposure stages ({root}) and per-chip stages
# ({root}, {chip}) are separate jobs; static mask, median and final drizzle gather.
# Every rule gets exactly the parameters of its stage through params, so a changed parameter
# reruns exactly the stages that use it. What each rule reads comes from `plan`
# (rules/common.smk, snakedrizzle/workflow/dag.py).


rule prepare:
    # One pass over an exposure's pixels: static mask and sky statistics (and, for localmin,
    # its sky values), so each exposure is read once before the drizzling starts.
    input:
        exposure=plan.exposure_path,
        skyfile=plan.skyfile,
        skymask=plan.skymask_files,
    output:
        static="results/{name}/{root}_static.fits",
        stats="results/{name}/{root}_skystats.json",
    params:
        pars=plan.pars("prepare"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.6, base=150),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/prepare/{root}.log",
    benchmark:
        "logs/{name}/prepare/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/prepare.py"


rule static_mask:
    input:
        exposures=plan.exposure_paths,
        masks=plan.per_exposure("results/{name}/{root}_static.fits"),
    output:
        "results/{name}/{name}_staticMask.fits",
    params:
        pars=plan.pars("static"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1, base=150, of="masks"),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/static_mask/static_mask.log",
    benchmark:
        "logs/{name}/static_mask/static_mask.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/static_mask.py"


rule sky_pair:
    # Sky matching (match, globalmin+match): each exposure's sky inside the overlap of two
    # exposures whose footprints can overlap; one job per pair (rootnames in sorted order), so a
    # new exposure adds only its own pairs.
    input:
        exposures=plan.sky_pair_exposures,
        static=plan.sky_pair_static,
        hlets=plan.sky_pair_headerlets,
        skymask=plan.skymask_files,
    output:
        "results/{name}/skypair/{root}/{other}_skypair.json",
    wildcard_constraints:
        other=ROOTNAME_PATTERN,
    params:
        pars=plan.pars("sky_pair"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(2.5, base=200),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/sky_pair/{root}/{other}.log",
    benchmark:
        "logs/{name}/sky_pair/{root}/{other}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/sky_pair.py"


rule sky_match:
    # The least-squares solve of every exposure's sky from all pair files (small; seconds).
    input:
        pairs=plan.sky_pair_files,
        stats=plan.per_exposure("results/{name}/{root}_skystats.json"),
    output:
        "results/{name}/{name}_skymatch.json",
    params:
        pars=plan.pars("sky_match"),
    threads: 1
    resources:
        mem_mb=200,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/sky_match/sky_match.log",
    benchmark:
        "logs/{name}/sky_match/sky_match.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/sky_match.py"


rule sky:
    # Only for the methods that compare exposures (globalmin, match): MDRIZSKY per chip from
    # every exposure's statistics (globalmin) or from the sky-matching solve.
    input:
        exposure=plan.exposure_path,
        stats=plan.stats_for_sky,
        solve=plan.sky_solve,
    output:
        "results/{name}/{root}_sky.json",
    params:
        pars=plan.pars("sky"),
    threads: 1
    resources:
        mem_mb=200,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/sky/{root}.log",
    benchmark:
        "logs/{name}/sky/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/sky.py"


rule separate_frame:
    # The plane the separate drizzle and the median work in: DrizzlePac's default frame of all
    # exposures (so intermediates match DrizzlePac's pixel grid), pinned once made. It has no
    # exposure among its inputs and reads them from the config, so adding exposures to a glob
    # (or naming the same files differently) neither moves the grid nor re-drizzles the others;
    # delete the file (or change a driz_sep_* parameter) to recompute it.
    input:
        anchor=ancient(plan.frame_anchor),
        hlets=plan.headerlets,
    output:
        "results/{name}/{name}_sep_frame.fits",
    params:
        pars=plan.pars("separate_frame"),
    threads: 1
    resources:
        mem_mb=150,
        runtime=sdresources.minutes_for(5),
    log:
        "logs/{name}/separate_frame/separate_frame.log",
    benchmark:
        "logs/{name}/separate_frame/separate_frame.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/separate_frame.py"


rule driz_separate:
    input:
        exposure=plan.exposure_path,
        static="results/{name}/{root}_static.fits",
        sky=plan.sky_of,
        frame="results/{name}/{name}_sep_frame.fits",
        hlets=plan.headerlet,
    output:
        sci="results/{name}/{root}_single_sci.fits",
        wht="results/{name}/{root}_single_wht.fits",
    params:
        pars=plan.pars("driz_separate"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(2.5, base=150),
        runtime=sdresources.minutes_for(20),
    log:
        "logs/{name}/driz_separate/{root}.log",
    benchmark:
        "logs/{name}/driz_separate/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/driz_separate.py"


rule median:
    input:
        exposures=plan.exposure_paths,
        sci=plan.per_exposure("results/{name}/{root}_single_sci.fits"),
        wht=plan.per_exposure("results/{name}/{root}_single_wht.fits"),
        sky=plan.sky_of_all,
    output:
        "results/{name}/{name}_med.fits",
    params:
        pars=plan.pars("median"),
    threads: plan.threads
    resources:
        mem_mb=sdresources.median_mem(plan),
        runtime=sdresources.minutes_for(30),
    log:
        "logs/{name}/median/median.log",
    benchmark:
        "logs/{name}/median/median.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/median.py"


rule blot:
    input:
        exposure=plan.exposure_path,
        median="results/{name}/{name}_med.fits",
        sky=plan.sky_of,
        hlets=plan.headerlet,
    output:
        "results/{name}/{root}_sci{chip}_blt.fits",
    params:
        pars=plan.pars("blot"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.5, base=150),
        runtime=sdresources.minutes_for(20),
    log:
        "logs/{name}/blot/{root}_sci{chip}.log",
    benchmark:
        "logs/{name}/blot/{root}_sci{chip}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/blot.py"


rule driz_cr:
    input:
        exposure=plan.exposure_path,
        blot="results/{name}/{root}_sci{chip}_blt.fits",
        sky=plan.sky_of,
    output:
        "results/{name}/{root}_sci{chip}_crmask.fits",
    params:
        pars=plan.pars("driz_cr"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(1.8, base=150),
        runtime=sdresources.minutes_for(20),
    log:
        "logs/{name}/driz_cr/{root}_sci{chip}.log",
    benchmark:
        "logs/{name}/driz_cr/{root}_sci{chip}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/driz_cr.py"


rule crclean:
    input:
        exposure=plan.exposure_path,
        masks=plan.per_chip("results/{name}/{root}_sci{chip}_crmask.fits"),
        blots=plan.per_chip("results/{name}/{root}_sci{chip}_blt.fits"),
    output:
        "results/{name}/{root}_crclean.fits",
    params:
        pars=plan.pars("crclean"),
    threads: 1
    resources:
        mem_mb=sdresources.mem_for(3),
        runtime=sdresources.minutes_for(10),
    log:
        "logs/{name}/crclean/{root}.log",
    benchmark:
        "logs/{name}/crclean/{root}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/crclean.py"


rule final_drizzle:
    input:
        exposures=plan.exposure_paths,
        static="results/{name}/{name}_staticMask.fits",
        sky=plan.sky_of_all,
        crmasks=plan.crmasks,
        refimage=plan.final_refimage,
        hlets=plan.headerlets,
        ivm=plan.ivm_files,
    output:
        "results/{name}/{name}_{suffix}.fits",
    params:
        pars=plan.pars("final_drizzle"),
        ivm=plan.ivm_sources,
    threads: plan.threads
    resources:
        mem_mb=sdresources.final_drizzle_mem(plan),
        runtime=sdresources.minutes_for(30),
    log:
        "logs/{name}/final_drizzle/final_drizzle_{suffix}.log",
    benchmark:
        "logs/{name}/final_drizzle/final_drizzle_{suffix}.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/final_drizzle.py"
