"""What the rule scripts share: logging to the rule's log file and one clear error line."""
import logging
import sys
import warnings

from .errors import InputError


def run_stage(snakemake, stage, *args, **kwargs):
    """Call ``stage(*args)`` with the library's log going to the rule's log file; bad input ends
    the job with a single line naming the file and the problem."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0]))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return stage(*args, **kwargs)
    except InputError as exc:
        logging.getLogger("snakedrizzle").error("bad input: %s", exc)
        sys.exit(f"snakedrizzle: bad input: {exc}")
