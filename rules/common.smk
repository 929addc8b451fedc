# The configuration, validated, and the plan of the run: which products, exposures, files and
# parameters each rule gets (snakedrizzle/workflow/dag.py, tested in tests/test_dag.py).
import functools
import mimetypes

from snakedrizzle.workflow import config as sdconfig
from snakedrizzle.io.inputs import ROOTNAME_PATTERN
from snakedrizzle.workflow import dag
from snakedrizzle.workflow import resources as sdresources

config.update(sdconfig.workflow_config(config))  # one line per bad value, before any job


wildcard_constraints:
    name=r"[^/]+",
    root=ROOTNAME_PATTERN,
    chip=r"\d+",
    suffix=r"drz|drc",


# The report offers the alignment's ECSV shifts table as text.
mimetypes.add_type("text/plain", ".ecsv")

plan = dag.Plan(
    config,
    demo_inputs=lambda name: checkpoints.demo_data.get(name=name).output[0],
    cores=functools.partial(dag.local_cores, workflow),
)


def pipeline_fit_ok(wc):
    """Whether the a posteriori fit aligned every exposure (known once the fit has run)."""
    if wc.stage != "aposteriori":
        return True
    from snakedrizzle.pipeline.stages import fit_succeeded

    return fit_succeeded(checkpoints.pipeline_fit.get(name=wc.name).output.table)[0]
