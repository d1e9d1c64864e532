#!/usr/bin/env bash
# The strong preset's runs quoted in README ("What the strong preset reaches"): trains each one,
# prints its training wall time and its held-out result. Run it alone: the wall time is a result.
#   bash experiments/strong.sh [OUT_DIR]       (default runs/strong; existing runs are refused)
set -euo pipefail
out=${1:-runs/strong}
bin=${BILATERAL:-.venv/bin/bilateral}
export MUJOCO_GL=${MUJOCO_GL:-egl}
mkdir -p "$out"
for spec in "reach bi" "hold uni-dom" "hold bi"; do
    set -- $spec
    start=$(date +%s)
    "$bin" train --task "$1" --variant "$2" --preset strong --out "$out/$1-$2" --quiet
    echo "$1 $2: training wall time $(( $(date +%s) - start )) s"
    "$bin" evaluate "$out/$1-$2" --trials 256 --json
done
