# AstroDrizzle's stages (SPEC §1) as rules. Per-exposure stages ({root}) and per-chip stages
# ({root}, {chip}) are separate jobs; static mask, median and final drizzle gather.
# Every rule gets exactly the parameters of its stage through params, so a changed parameter
# reruns exactly the stages that use it.

R = "results/{name}/"


def exposure_path(wc):
    return exposure(wc.name, wc.root).path


def all_of(pattern):
    """Input function: ``pattern`` expanded over the product's exposures."""
    return lambda wc: [pattern.format(name=wc.name, root=r) for r in roots(wc.name)]


def chips_of(pattern):
    return lambda wc: [pattern.format(name=wc.name, root=wc.root, chip=c)
                       for c in exposure(wc.name, wc.root).chips]


rule prepare:
    # One pass over an exposure's pixels: static mask and sky statistics (and, for localmin,
    # its sky values), so each exposure is read once before the drizzling starts.
    input:
        exposure=exposure_path,
        skyfile=lambda wc: product_params(wc.name)["skyfile"] or [],  # its contents matter too
    output:
        static=R + "{root}_static.fits",
        stats=R + "{root}_skystats.json",
    params:
        pars=pars("prepare"),
    threads: 1
    resources:
        mem_mb=mem_for(3),
        runtime=minutes_for(10),
    log:
        "logs/{name}/prepare/{root}.log",
    script:
        "../scripts/prepare.py"


rule static_mask:
    input:
        exposures=lambda wc: [e.path for e in exposures(wc.name)],
        masks=all_of(R + "{root}_static.fits"),
    output:
        R + "{name}_staticMask.fits",
    params:
        pars=pars("static"),
    threads: 1
    resources:
        mem_mb=mem_for(2),
        runtime=minutes_for(10),
    log:
        "logs/{name}/static_mask.log",
    script:
        "../scripts/static_mask.py"


def sky_values(name, root):
    """The file with an exposure's MDRIZSKY values: its own statistics file when its sky depends
    on it alone (localmin, skyfile, skyuser, skysub=false), else the gathered sky file."""
    if local_sky(product_params(name)):
        return R.format(name=name) + f"{root}_skystats.json"
    return R.format(name=name) + f"{root}_sky.json"


def sky_of(wc):
    return sky_values(wc.name, wc.root)


def sky_of_all(wc):
    return [sky_values(wc.name, r) for r in roots(wc.name)]


rule sky:
    # Only for the methods that compare exposures (globalmin, match).
    input:
        exposure=exposure_path,
        stats=lambda wc: [R.format(name=wc.name) + f"{r}_skystats.json"
                          for r in [wc.root] + [r for r in roots(wc.name) if r != wc.root]],
    output:
        R + "{root}_sky.json",
    params:
        pars=pars("sky"),
    threads: 1
    resources:
        mem_mb=200,
        runtime=minutes_for(5),
    log:
        "logs/{name}/sky/{root}.log",
    script:
        "../scripts/sky.py"


def input_spec(wc):
    """The product's input as given (a glob stays a glob), or the demo's folder as a glob."""
    spec = products()[wc.name]["input"]
    return spec if spec is not None else f"results/{wc.name}/inputs/*_fl[tc].fits"


rule separate_frame:
    # The plane the separate drizzle and the median work in: DrizzlePac's default frame of all
    # exposures (so intermediates match DrizzlePac's pixel grid), pinned once made. Its only
    # file input is the first exposure and it sees the others through the input spec, so adding
    # exposures to a glob does not move the grid and does not re-drizzle the others; delete the
    # file (or change a driz_sep_* parameter) to recompute it.
    input:
        first=ancient(lambda wc: exposures(wc.name)[0].path),
        hlets=lambda wc: headerlets(wc.name, roots(wc.name)),
    output:
        R + "{name}_sep_frame.fits",
    params:
        pars=pars("separate_frame"),
        inputs=input_spec,
    threads: 1
    resources:
        mem_mb=300,
        runtime=minutes_for(5),
    log:
        "logs/{name}/separate_frame.log",
    script:
        "../scripts/separate_frame.py"


rule driz_separate:
    input:
        exposure=exposure_path,
        static=R + "{root}_static.fits",
        sky=sky_of,
        frame=R + "{name}_sep_frame.fits",
        hlets=lambda wc: headerlets(wc.name, [wc.root]),
    output:
        sci=R + "{root}_single_sci.fits",
        wht=R + "{root}_single_wht.fits",
    params:
        pars=pars("driz_separate"),
    threads: 1
    resources:
        mem_mb=mem_for(6),
        runtime=minutes_for(20),
    log:
        "logs/{name}/driz_separate/{root}.log",
    script:
        "../scripts/driz_separate.py"


rule median:
    input:
        exposures=lambda wc: [e.path for e in exposures(wc.name)],
        sci=all_of(R + "{root}_single_sci.fits"),
        wht=all_of(R + "{root}_single_wht.fits"),
        sky=sky_of_all,
    output:
        R + "{name}_med.fits",
    params:
        pars=pars("median"),
    threads: parallel_threads
    resources:
        mem_mb=lambda wc, input: 1200,
        runtime=minutes_for(30),
    log:
        "logs/{name}/median.log",
    script:
        "../scripts/median.py"


rule blot:
    input:
        exposure=exposure_path,
        median=R + "{name}_med.fits",
        sky=sky_of,
        hlets=lambda wc: headerlets(wc.name, [wc.root]),
    output:
        R + "{root}_sci{chip}_blt.fits",
    params:
        pars=pars("blot"),
    threads: 1
    resources:
        mem_mb=mem_for(2),
        runtime=minutes_for(20),
    log:
        "logs/{name}/blot/{root}_sci{chip}.log",
    script:
        "../scripts/blot.py"


rule driz_cr:
    input:
        exposure=exposure_path,
        blot=R + "{root}_sci{chip}_blt.fits",
        sky=sky_of,
    output:
        R + "{root}_sci{chip}_crmask.fits",
    params:
        pars=pars("driz_cr"),
    threads: 1
    resources:
        mem_mb=mem_for(3),
        runtime=minutes_for(20),
    log:
        "logs/{name}/driz_cr/{root}_sci{chip}.log",
    script:
        "../scripts/driz_cr.py"


rule crclean:
    input:
        exposure=exposure_path,
        masks=chips_of(R + "{root}_sci{chip}_crmask.fits"),
        blots=chips_of(R + "{root}_sci{chip}_blt.fits"),
    output:
        R + "{root}_crclean.fits",
    params:
        pars=pars("crclean"),
    threads: 1
    resources:
        mem_mb=mem_for(3),
        runtime=minutes_for(10),
    log:
        "logs/{name}/crclean/{root}.log",
    script:
        "../scripts/crclean.py"


def reference_image(name, prefix):
    """The file behind final_refimage/driz_sep_refimage (``file.fits[ext]``), when it is used."""
    p = product_params(name)
    return [p[prefix + "refimage"].split("[")[0]] if p[prefix + "wcs"] and p[prefix + "refimage"] else []


def crmask_inputs(wc):
    if not cr_rejection(wc.name):
        return []
    return [R.format(name=wc.name) + f"{e.rootname}_sci{c}_crmask.fits"
            for e in exposures(wc.name) for c in e.chips]


rule final_drizzle:
    input:
        exposures=lambda wc: [e.path for e in exposures(wc.name)],
        static=R + "{name}_staticMask.fits",
        sky=sky_of_all,
        crmasks=crmask_inputs,
        refimage=lambda wc: reference_image(wc.name, "final_"),
        hlets=lambda wc: headerlets(wc.name, roots(wc.name)),
    output:
        R + "{name}_{suffix}.fits",
    wildcard_constraints:
        suffix="drz|drc",
    params:
        pars=pars("final_drizzle"),
    threads: parallel_threads
    resources:
        mem_mb=mem_for(1.5, base=1000),
        runtime=minutes_for(30),
    log:
        "logs/{name}/final_drizzle_{suffix}.log",
    script:
        "../scripts/final_drizzle.py"
