#!/usr/bin/env bash
# Whole strong-preset runs of the cases benchmarks/competence.py times (README, "What the strong
# preset reaches"): trains each for the preset's 1200 batches, prints its training wall time and its
# held-out result. Run it alone: the wall time is a result. `--cell gru` trains recurrent hemispheres.
#   bash experiments/strong.sh [OUT_DIR [TRAIN OPTION ...]]   (default runs/strong; existing runs are refused)
# Options after OUT_DIR go to every `bilateral train` (e.g. --seed 1); TRIALS sets the test trials (256).
set -euo pipefail
out=${1:-runs/strong}
shift || true
bin=${BILATERAL:-.venv/bin/bilateral}
export MUJOCO_GL=${MUJOCO_GL:-egl}
mkdir -p "$out"
for spec in "reach bi" "hold uni-dom" "hold bi"; do
    read -r task variant <<< "$spec"
    start=$(date +%s)
    "$bin" train --task "$task" --variant "$variant" --preset strong --out "$out/$task-$variant" --quiet "$@"
    echo "$task $variant: training wall time $(( $(date +%s) - start )) s"
    "$bin" evaluate "$out/$task-$variant" --trials "${TRIALS:-256}" --json
done
