# The built-in demo: a small synthetic dithered set (stars, galaxies, sky, noise, cosmic rays,
# SIP distortion) with its truth, made by snakedrizzle.simulate. A checkpoint, because the
# exposures it makes decide the per-exposure jobs that follow.


checkpoint demo_data:
    output:
        directory("results/{name}/inputs"),
    resources:
        mem_mb=200,
        runtime=5,
    log:
        "logs/{name}/demo_data/demo_data.log",
    benchmark:
        "logs/{name}/demo_data/demo_data.benchmark.tsv"
    conda:
        "../envs/snakedrizzle.yaml"
    script:
        "../scripts/demo_data.py"
