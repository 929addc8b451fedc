"""``AstroDrizzle(input, output=..., **params)``: the workflow's DAG run from Python through the
Snakemake API, so the Python entry point and the command line can never drift apart."""
import os
from pathlib import Path

from snakedrizzle.workflow import params as sdparams
from snakedrizzle.errors import InputError

SNAKEFILE = Path(__file__).resolve().parent.parent / "Snakefile"


def AstroDrizzle(input, output="final", workdir=".", cores=1, dryrun=False, **params):
    """Drizzle ``input`` (glob, comma list, ``@file`` or ``_asn.fits``) with AstroDrizzle's
    parameters (DrizzlePac names and defaults) into ``<workdir>/results/<output>/``.

    Only stale stages run, as with ``snakemake``. Returns the path of the ``_drz``/``_drc``
    product. Unknown parameter names raise InputError before anything runs.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings,
                                          ResourceSettings, ExecutionSettings)

    unknown = set(params) - set(sdparams.DEFAULTS)
    if unknown:
        raise InputError("AstroDrizzle", f"unknown parameter(s): {', '.join(sorted(unknown))}")
    if isinstance(input, (list, tuple)):
        input = ",".join(os.path.abspath(p) for p in input)
    config = {"input": str(input), "output": output, **params}
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with SnakemakeApi(OutputSettings(dryrun=dryrun, quiet=None)) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=cores),
            config_settings=ConfigSettings(config=config),
            snakefile=SNAKEFILE, workdir=workdir)
        dag = workflow.dag(DAGSettings())
        dag.execute_workflow(executor="dryrun" if dryrun else "local",
                             execution_settings=ExecutionSettings())
    products = sorted((workdir / "results" / output).glob(f"{output}_dr[zc].fits"))
    return str(products[0]) if products else None
