"""Videos of a grid: chosen variants side by side on the same test trials."""

from __future__ import annotations

from pathlib import Path

from bilateral.grid import test_set_path
from bilateral.report.figures import runs_by_variant

PANEL = (640, 480)  # px of each variant's panel: the whole workspace at a readable size


def side_by_side_video(
    root: Path,
    task: str,
    method: str,
    path: Path,
    variants: list[str],
    trials: int = 2,
    width: int = PANEL[0],
    height: int = PANEL[1],
) -> Path | None:
    """The chosen variants (seed 0) on the same first test trials, side by side, one trial after
    another; each panel's overlay names its variant, the task and the trial's time and distance."""
    from bilateral.methods import load_trained
    from bilateral.video import caption_of, render_trained, side_by_side, write_video
    from bilateral_envs.tasks import Trials

    runs = runs_by_variant(root, method, task)
    variants = [v for v in variants if v in runs and (runs[v] / "model.pt").exists()]
    if not variants:
        return None
    test = Trials.from_file(test_set_path(root, task))
    per_variant = []
    for variant in variants:
        trained = load_trained(runs[variant])
        captions = [f"{caption_of(variant, task)} · trial {k}" for k in range(trials)]
        per_variant.append(
            [
                render_trained(trained, test[k : k + 1], 1, task=task, width=width, height=height, caption=text)[0]
                for k, text in enumerate(captions)
            ]
        )
    frames = []
    for k in range(len(per_variant[0])):
        frames += side_by_side([rollouts[k].frames for rollouts in per_variant])
    return write_video(path, frames)
