"""runastrodriz: the HST pipeline's drizzle with its astrometry cascade (SPEC-HAP H9) as DAG
targets. ``snakedrizzle.pipeline.runastrodriz(input, ...)`` (module ``run``) runs it from Python,
``runastrodriz INPUT`` from the shell; ``plan`` makes the DAG's products, ``stages``/``product``
are the rules' file stages, ``solutions``/``wcsnames`` the WCSs a stage can use, ``verify`` the
checks of a stage's drizzle, ``cascade`` the choice between stages."""


def runastrodriz(input, **kwargs):
    """See :func:`snakedrizzle.pipeline.run.runastrodriz`."""
    from snakedrizzle.pipeline.run import runastrodriz as run

    return run(input, **kwargs)


__all__ = ["runastrodriz"]
