# TweakReg (SPEC §3) as rules: per-chip source catalogs, the reference catalog, a fit per
# exposure (its aligned WCS as a headerlet, always written), and the gathered shifts table.
# Every rule gets exactly its stage's parameters (snakedrizzle.params.ALIGN_STAGES), so only an
# alignment parameter reruns alignment.
#   snakemake --cores 2 results/NAME/align/NAME_shifts.ecsv --config input=... output=NAME

A = "results/{name}/align/"


def align_chips_of(wc, root):
    return [A.format(name=wc.name) + f"{root}_sci{c}_xy_catalog.ecsv" for c in exposure(wc.name, root).chips]


def align_reference_is_first(name):
    p = product_params(name)
    return not p["refimage"] and not p["refcat"]


def align_refcat_pars(wc):
    """refimagefindpars only matter when there is a reference image."""
    p = sdparams.stage_params("align_refcat", product_params(wc.name))
    if not p["refimage"]:
        p = {k: v for k, v in p.items() if not k.startswith(sdparams.REF_PREFIX)}
    return p


def align_reference_files(wc):
    """The reference's own file(s): the first exposure's catalogs, or refimage/refcat."""
    p = product_params(wc.name)
    if p["refimage"]:
        from snakedrizzle.io.extspec import parse_extension

        return [parse_extension(p["refimage"])[0]]
    if p["refcat"]:
        return [p["refcat"]]
    return align_chips_of(wc, roots(wc.name)[0])


rule align_catalog:
    input:
        exposure=exposure_path,
    output:
        ecsv=A + "{root}_sci{chip}_xy_catalog.ecsv",
        coo=A + "{root}_sci{chip}_xy_catalog.coo",
        reg=A + "{root}_sci{chip}_xy_catalog.reg",
    params:
        pars=pars("align_catalog"),
    threads: 1
    resources:
        mem_mb=mem_for(3),
        runtime=minutes_for(10),
    log:
        "logs/{name}/align/catalog/{root}_sci{chip}.log",
    script:
        "../scripts/align_catalog.py"


rule align_refcat:
    input:
        first=lambda wc: exposures(wc.name)[0].path,
        reference=align_reference_files,
    output:
        ecsv=A + "{name}_refcat.ecsv",
        wcs=A + "{name}_shifts_wcs.fits",
    params:
        pars=align_refcat_pars,
        first_catalogs=lambda wc: align_chips_of(wc, roots(wc.name)[0]) if align_reference_is_first(wc.name) else [],
    threads: 1
    resources:
        mem_mb=mem_for(3),
        runtime=minutes_for(10),
    log:
        "logs/{name}/align/refcat.log",
    script:
        "../scripts/align_refcat.py"


rule align_fit:
    input:
        exposure=exposure_path,
        catalogs=lambda wc: align_chips_of(wc, wc.root),
        refcat=A + "{name}_refcat.ecsv",
        refwcs=A + "{name}_shifts_wcs.fits",
    output:
        hlet=A + "{root}_hlet.fits",
        fit=A + "{root}_fit.json",
        match=A + "{root}_catalog_fit.match",
    params:
        pars=pars("align_fit"),
        is_reference=lambda wc: align_reference_is_first(wc.name) and wc.root == roots(wc.name)[0],
    threads: 1
    resources:
        mem_mb=mem_for(2),
        runtime=minutes_for(10),
    log:
        "logs/{name}/align/fit/{root}.log",
    script:
        "../scripts/align_fit.py"


rule align_shifts:
    input:
        fits=lambda wc: [A.format(name=wc.name) + f"{r}_fit.json" for r in roots(wc.name)],
        matches=lambda wc: [A.format(name=wc.name) + f"{r}_catalog_fit.match" for r in roots(wc.name)],
        refwcs=A + "{name}_shifts_wcs.fits",
    output:
        ecsv=A + "{name}_shifts.ecsv",
        txt=A + "{name}_shifts.txt",
        residuals=A + "{name}_residuals.png",
        vectors=A + "{name}_vectors.png",
    params:
        pars=pars("align_shifts"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=minutes_for(5),
    log:
        "logs/{name}/align/shifts.log",
    script:
        "../scripts/align_shifts.py"
