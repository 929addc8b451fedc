"""The HAP layer: Hubble Advanced Products built on top of the AstroDrizzle stages.

A single-visit mosaic (SVM) turns one poller (a list of calibrated FLT/FLC exposures) into a
product tree: per instrument/detector a total (detection) product, per filter a filter product,
per exposure an exposure product, all with HAP names. The modules here are plain libraries:

- :mod:`snakedrizzle.hap.poller`: read a poller (CSV of 8 columns, one column, a glob or a list)
- :mod:`snakedrizzle.hap.exclusions`: which exposures HAP uses, and why the others are not
- :mod:`snakedrizzle.hap.tree`: the visit tree (Visit, TotalProduct, FilterProduct, ExposureProduct)
- :mod:`snakedrizzle.hap.names`: HAP names, normalised filter names, the results folder layout

Nothing is imported here, so ``import snakedrizzle.hap`` stays cheap for the DAG; the entry point
``snakedrizzle.hap.runsinglehap`` (:mod:`snakedrizzle.hap.svm`) is imported when first used.
"""


def __getattr__(name):
    if name == "runsinglehap":
        from snakedrizzle.hap.svm import runsinglehap

        return runsinglehap
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
