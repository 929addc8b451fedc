"""Which WCS the final products get: the cascade's decision (SPEC-HAP H9 steps 5-8, H6.5).

Pure functions of the stages' verification results and the a posteriori fit table; the file
stages (snakedrizzle.pipeline.stages) read and write them.

The order is DrizzlePac's: start from the default (distortion-only) WCS; a verified a priori
stage replaces it; a verified a posteriori stage whose fit aligned every exposure replaces that.
A stage that fails its checks is reverted to the one before it, and the trailer says why.
Alignment quality recorded with the decision (H9): 0 verified, 3 failed the overlap/focus check,
+3 when the product no longer resembles the default product (similarity index > 1, which here
also rejects the stage: DrizzlePac only adds 3 and keeps it, SPEC-HAP H12.11).
"""

__all__ = ["decide", "fit_summary"]


def fit_summary(rows):
    """(ok, line) of an a posteriori fit table: ok when every exposure was aligned."""
    if not rows:
        return False, "no exposure in the fit table"
    failed = [r for r in rows if not r["aligned"]]
    method = next((r["method"] for r in rows if r["method"]), "")
    if failed:
        why = "; ".join(f"{r['rootname']}: {r['reason'] or 'not aligned'}" for r in failed)
        return False, f"fit failed ({why})"
    worst = max(int(r["quality"]) for r in rows)
    rms = max(float(r["fit_rms_mas"]) for r in rows)
    return True, (f"fit by {method}: {sum(int(r['nmatch']) for r in rows)} matches, RMS up to "
                  f"{rms:.2f} mas, quality {worst}, WCSNAME {rows[0]['wcsname']}")


def decide(stages, verdicts, fit=None):
    """The chosen stage and the story of the decision.

    ``stages``: the stages in the DAG, in order; ``verdicts``: {stage: verification dict (keys
    verified, quality, reason)}; ``fit``: (ok, line) of the a posteriori fit, when that stage ran.
    Returns {'chosen', 'stages': {stage: {'accepted', 'reason', 'quality'}}, 'lines'}."""
    chosen, story, lines = "default", {}, []
    for stage in stages:
        verdict = verdicts.get(stage) or {}
        accepted, reason = bool(verdict.get("verified", True)), str(verdict.get("reason", ""))
        if stage == "aposteriori" and fit is not None:
            ok, line = fit
            lines.append(f"a posteriori: {line}")
            if not ok:
                accepted, reason = False, line
        if stage == "default":
            accepted = True  # nothing to revert to: its verdict is reported, not acted on
        story[stage] = {"accepted": accepted, "reason": reason, "quality": verdict.get("quality")}
        state = "accepted" if accepted else f"rejected, {_previous(chosen)} kept"
        lines.append(f"{stage}: {state}" + (f" ({reason})" if reason else ""))
        if accepted:
            chosen = stage
    lines.append(f"chosen: {chosen}")
    return {"chosen": chosen, "stages": story, "lines": lines}


def _previous(stage):
    return {"default": "the default WCS", "apriori": "the a priori WCS"}.get(stage, stage)
