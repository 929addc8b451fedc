"""The parameters of every stage, carried from file to file to the product (issue 11 item 12).

Each rule gets only its own stage's parameters (``params.STAGES``), so that a changed parameter
reruns exactly the stages that use it. The product must still record all of them. Rather than
handing the final drizzle every parameter (which would rerun it for a parameter of a stage that
did not even run), each stage writes into its output what made it: its own parameters plus what
the files it read carry. The final drizzle then finds, in the files it reads anyway (static
mask, sky values, CR masks, whose chain reaches back through blot, median and separate drizzle
to the separate-drizzle frame), the parameters of exactly the stages that made the product, as
they were when those files were written; nothing new couples the rules.

A record is ``{stage: {parameter: value}}``; FITS files carry it as JSON in the ``SDPARAMS``
keyword of their first header (long strings continue over CONTINUE cards), JSON files in their
``params`` member. Records that disagree (files written by runs with different parameters)
keep every value, and the product says so.
"""
import json
import logging

from astropy.io import fits

from snakedrizzle.workflow.params import STAGES

KEYWORD = "SDPARAMS"
log = logging.getLogger("snakedrizzle")


def own(stage, pars):
    """The parameters of ``stage`` among ``pars`` (callers may pass a larger dict)."""
    names = STAGES.get(stage)
    return {k: _plain(v) for k, v in pars.items() if names is None or k in names}


def record(stage, pars, carried=()):
    """The record of a file made by ``stage`` with ``pars`` from inputs carrying ``carried``."""
    return merge(list(carried) + [{stage: own(stage, pars)}])


def stamp(header, stage, pars, carried=()):
    """Write the record into a FITS header (in place; returned for convenience)."""
    header[KEYWORD] = json.dumps(record(stage, pars, carried), sort_keys=True, separators=(",", ":"))
    return header


def read(path):
    """The record a file carries ({} if none): FITS header keyword or JSON member."""
    path = str(path)
    if path.endswith(".json"):
        with open(path) as f:
            return json.load(f).get("params", {})
    return of_header(fits.getheader(path, 0))


def of_header(header):
    """The record a FITS header carries ({} if none)."""
    value = header.get(KEYWORD)
    return json.loads(value) if value else {}


def gather(paths):
    """The records of several files, merged."""
    return merge(read(p) for p in paths)


def borrowed(record, source):
    """The record of files another product made (an SVM total or a later runastrodriz stage
    reads a product's CR masks): its stages named after that product, so that parameters
    which rightly differ between the two products are not reported as disagreeing."""
    return {f"{stage} ({source})": pars for stage, pars in record.items()}


def merge(records):
    """One record from many. A parameter with different values in different files (of one
    stage) keeps them all, as ``{"differs": [...]}``."""
    merged = {}
    for rec in records:
        for stage, pars in rec.items():
            into = merged.setdefault(stage, {})
            for key, value in pars.items():
                into[key] = _combine(into[key], value) if key in into else value
    return merged


def _combine(old, new):
    if old == new:
        return old
    values = old["differs"] if _differs(old) else [old]
    return {"differs": values + ([new] if new not in values else [])}


def _differs(value):
    return isinstance(value, dict) and set(value) == {"differs"}


def _plain(value):
    """JSON-safe value: tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _show(value):
    return " or ".join(map(repr, value["differs"])) if _differs(value) else repr(value)


def history(rec):
    """HISTORY lines for a product header: one ``param name = value`` per parameter (once when
    all stages agree; one line per stage, marked DIFFERS, when they do not), then one line per
    stage that made the product."""
    lines, values = [], {}
    borrowed_stages = {stage for stage in rec if stage.endswith(")") and " (" in stage}
    for stage in sorted(rec):
        for key, value in rec[stage].items():
            values.setdefault(key, []).append((stage, value))
    for key in sorted(values):
        distinct = []
        for _, value in values[key]:
            if value not in distinct:
                distinct.append(value)
        if len(distinct) == 1 and not _differs(distinct[0]):
            lines.append(f"param {key} = {distinct[0]!r}")
            continue
        shown = [(stage, _show(value)) for stage, value in values[key]]
        # intermediates borrowed from another product (a total's CR masks from its filter
        # products) were made with that product's parameters by design: recorded, not warned
        own = {repr(v) for s, v in values[key] if s not in borrowed_stages}
        if len(own) > 1 or any(_differs(v) for s, v in values[key] if s not in borrowed_stages):
            log.warning("parameter %s differs between the intermediates of this product: %s", key,
                        "; ".join(f"{v} (stage {s})" for s, v in shown))
        lines += [f"param {key} = {v} (stage {s}; DIFFERS)" for s, v in shown]
    lines += [f"stage {stage}: {len(rec[stage])} parameters" for stage in sorted(rec)]
    return lines
