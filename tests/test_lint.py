"""The workflow follows Snakemake's conventions: `snakemake --lint` reports nothing (on the demo
and on a real input config), and every rule logs to logs/{name}/<rule>/ with its benchmark file
beside the log and the pinned conda environment."""
import re
import subprocess
import sys

from conftest import REPO


def lint(workdir, *config):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--lint"]
    if config:
        cmd += ["--config", *config]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_lint_finds_problems_in_a_workflow_that_has_them(tmp_path):
    (tmp_path / "Snakefile").write_text('rule x:\n    output: "b"\n    shell: "touch b"\n')
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0 and "No log directive defined" in proc.stdout + proc.stderr


def test_demo_workflow_is_lint_clean(tmp_path):
    code, out = lint(tmp_path)
    assert code == 0 and "Lints for" not in out, out
    assert "Congratulations" in out


def test_workflow_with_input_and_alignment_is_lint_clean(small_set, tmp_path):
    code, out = lint(tmp_path, f"input={small_set['inputs']}/*_flt.fits", "output=small", "align=true")
    assert code == 0 and "Lints for" not in out, out


RULE = re.compile(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", re.M | re.S)


def directive(body, name):
    m = re.search(rf"^    {name}:\n\s+\"([^\"]+)\"", body, re.M)
    return m[1] if m else None


def rules():
    found = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        found.update({m[1]: m[2] for m in RULE.finditer(smk.read_text())})
    return found


def test_every_rule_logs_benchmarks_and_names_its_environment():
    found = rules()
    assert {"prepare", "final_drizzle", "align_fit", "preview", "crmask_preview", "demo_data"} <= set(found)
    for name, body in found.items():
        log = directive(body, "log")
        assert log and log.startswith(f"logs/{{name}}/{name}/") and log.endswith(".log"), (name, log)
        assert directive(body, "benchmark") == log[:-len(".log")] + ".benchmark.tsv", name
        assert directive(body, "conda") == "../envs/snakedrizzle.yaml", name
