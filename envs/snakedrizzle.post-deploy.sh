#!/usr/bin/env bash
# Run by Snakemake once in a new conda environment (--use-conda): install the snakedrizzle
# package of the checkout this workflow belongs to (without dependencies: the environment file
# pins them). A workflow run from the installed wheel has no pyproject.toml here and needs
# nothing: Snakemake's own site-packages, where the wheel is, is on the scripts' path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$root/pyproject.toml" ]; then
    python -m pip install --no-deps "$root"
fi
