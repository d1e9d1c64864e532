#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job on a small default.
#   bash setup.sh            (re-running is safe: it reuses .venv)
# PYTHON=python3.11 picks the interpreter; MAIN_JOB=0 skips the main job.
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# torch is named in the same pip call, pinned to the CPU build that lies on this machine's disk (--no-compile:
# modules are compiled when first imported, not all of torch and ray at install time, 40 s less);
# left to choose freely, pip would fetch a multi-GB CUDA build.
.venv/bin/python -m pip install --disable-pip-version-check --quiet --no-compile "torch==2.13.0" -e ".[dev]"

if [ "${MAIN_JOB:-1}" != "0" ]; then
    export MUJOCO_GL=${MUJOCO_GL:-egl}  # off-screen rendering without a display
    # the main job: the experiment grid on its quick budget (a few minutes on 2 cores), then
    # its report: runs/quick/{summary.csv,claims.md,figures/,videos/}. Re-running resumes it.
    .venv/bin/bilateral grid --budget quick --seeds 1 --out runs/quick  # --seeds 2 or more for intervals
fi
