# TweakReg (SPEC §3) as rules: per-chip source catalogs, the reference catalog, a fit per
# exposure (its aligned WCS as a headerlet, always written), and the gathered shifts table.
# Every rule gets exactly its stage's parameters (snakedrizzle.workflow.params.ALIGN_STAGES), so only an
# alignment parameter reruns alignment.
#   snakemake --cores 2 results/NAME/align/NAME_shifts.ecsv --config input=... output=NAME

A = "results/{name}/align/"


def align_chips_of(wc, root):
    return [A.format(name=wc.name) + f"{root}_sci{c}_xy_catalog.ecsv" for c in exposure(wc.name, root).chips]


@functools.lru_cache(maxsize=None)
def align_order(name):
    """Rootnames in the order they are aligned: the input order, or by overlap when the
    reference catalog grows (expand_refcat) and enforce_user_order is off."""
    p = product_params(name)
    if p["expand_refcat"] and not p["enforce_user_order"]:
        from snakedrizzle.align.order import overlap_order

        return tuple(overlap_order(exposures(name)))
    return tuple(roots(name))


def align_reference_is_first(name):
    p = product_params(name)
    return not p["refimage"] and not p["refcat"]


def align_refcat_of(wc):
    """The catalog exposure ``root`` is fitted to: the reference catalog, or (expand_refcat) the
    one grown by the exposures aligned before it, which makes the fits a chain."""
    order = align_order(wc.name)
    k = order.index(wc.root)
    if not product_params(wc.name)["expand_refcat"] or k == 0:
        return A.format(name=wc.name) + f"{wc.name}_refcat.ecsv"
    return A.format(name=wc.name) + f"{order[k - 1]}_cumulative_refcat.ecsv"


def align_user_file(wc, key):
    """The chip's own file in the catfile/exclusions list (or ''): it is the chip's input and
    parameter, so editing one chip's entry or file reruns only that chip's catalog."""
    from snakedrizzle.align.chipfiles import chip_file

    listfile = product_params(wc.name)[key]
    e = exposure(wc.name, wc.root)
    return chip_file(listfile, e.path, e.chips.index(int(wc.chip))) or ""


def align_catalog_pars(wc):
    p = sdparams.stage_params("align_catalog", product_params(wc.name))
    return {k: v for k, v in p.items() if k not in ("catfile", "exclusions")}


def align_refcat_pars(wc):
    """refimagefindpars only matter when sources are found on a reference image."""
    p = sdparams.stage_params("align_refcat", product_params(wc.name))
    if not p["refimage"] or p["refcat"]:
        p = {k: v for k, v in p.items() if not k.startswith(sdparams.REF_PREFIX)}
    return p


def align_reference_files(wc):
    """The reference's own file(s): refimage and/or refcat, else the first exposure's catalogs."""
    from snakedrizzle.io.extspec import parse_extension

    p = product_params(wc.name)
    files = [parse_extension(p["refimage"])[0]] if p["refimage"] else []
    files += [p["refcat"]] if p["refcat"] else []
    return files or align_chips_of(wc, align_order(wc.name)[0])


rule align_catalog:
    input:
        exposure=exposure_path,
        user_files=lambda wc: [f for f in (align_user_file(wc, "catfile"), align_user_file(wc, "exclusions")) if f],
    output:
        ecsv=A + "{root}_sci{chip}_xy_catalog.ecsv",
        coo=A + "{root}_sci{chip}_xy_catalog.coo",
        reg=A + "{root}_sci{chip}_xy_catalog.reg",
    params:
        pars=align_catalog_pars,
        usercat=lambda wc: align_user_file(wc, "catfile"),
        region=lambda wc: align_user_file(wc, "exclusions"),
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
        first=lambda wc: exposure(wc.name, align_order(wc.name)[0]).path,
        reference=align_reference_files,
    output:
        ecsv=A + "{name}_refcat.ecsv",
        wcs=A + "{name}_shifts_wcs.fits",
    params:
        pars=align_refcat_pars,
        first_catalogs=lambda wc: align_chips_of(wc, align_order(wc.name)[0]) if align_reference_is_first(wc.name) else [],
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
        refcat=align_refcat_of,
        refwcs=A + "{name}_shifts_wcs.fits",
        history=lambda wc: [h for h in [product_params(wc.name)["history"]] if h],
    output:
        hlet=A + "{root}_hlet.fits",
        fit=A + "{root}_fit.json",
        match=A + "{root}_catalog_fit.match",
    params:
        pars=pars("align_fit"),
        is_reference=lambda wc: align_reference_is_first(wc.name) and wc.root == align_order(wc.name)[0],
    threads: 1
    resources:
        mem_mb=mem_for(2),
        runtime=minutes_for(10),
    log:
        "logs/{name}/align/fit/{root}.log",
    script:
        "../scripts/align_fit.py"


rule align_expand:
    input:
        previous=align_refcat_of,
        exposure=exposure_path,
        catalogs=lambda wc: align_chips_of(wc, wc.root),
        hlet=A + "{root}_hlet.fits",
        refwcs=A + "{name}_shifts_wcs.fits",
    output:
        A + "{root}_cumulative_refcat.ecsv",
    params:
        pars=pars("align_expand"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=minutes_for(5),
    log:
        "logs/{name}/align/expand/{root}.log",
    script:
        "../scripts/align_expand.py"


rule align_cumulative_refcat:
    input:
        lambda wc: A.format(name=wc.name) + f"{align_order(wc.name)[-1]}_cumulative_refcat.ecsv",
    output:
        A + "cumulative_sky_refcat_{name}.coo",
    threads: 1
    resources:
        mem_mb=300,
        runtime=minutes_for(5),
    log:
        "logs/{name}/align/cumulative_refcat.log",
    script:
        "../scripts/align_cumulative_refcat.py"


rule align_shifts:
    input:
        fits=lambda wc: [A.format(name=wc.name) + f"{r}_fit.json" for r in roots(wc.name)],
        matches=lambda wc: [A.format(name=wc.name) + f"{r}_catalog_fit.match" for r in roots(wc.name)],
        refwcs=A + "{name}_shifts_wcs.fits",
        cumulative=lambda wc: [A.format(name=wc.name) + f"cumulative_sky_refcat_{wc.name}.coo"]
        if product_params(wc.name)["expand_refcat"] else [],
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
