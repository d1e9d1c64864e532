"""Videos of a grid: chosen variants side by side on the same test trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bilateral.grid import test_set_path
from bilateral.report.figures import runs_by_variant


def _labelled(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    ImageDraw.Draw(image).text((10, 8), text, fill=(20, 20, 20))
    return np.asarray(image)


def side_by_side_video(
    root: Path,
    task: str,
    method: str,
    path: Path,
    variants: list[str],
    trials: int = 2,
    width: int = 320,
    height: int = 240,
) -> Path | None:
    """The chosen variants (seed 0) on the same first test trials, side by side, one after another."""
    from bilateral.methods import load_trained
    from bilateral.video import render_trained, side_by_side, write_video
    from envs.tasks import Trials

    runs = runs_by_variant(root, method, task)
    variants = [v for v in variants if v in runs and (runs[v] / "model.pt").exists()]
    if not variants:
        return None
    test = Trials.from_file(test_set_path(root, task))
    per_variant = []
    for variant in variants:
        rollouts = render_trained(load_trained(runs[variant]), test, trials, task=task, width=width, height=height)
        per_variant.append([[_labelled(f, f"{variant}  trial {k}") for f in r.frames] for k, r in enumerate(rollouts)])
    frames = []
    for k in range(len(per_variant[0])):
        frames += side_by_side([videos[k] for videos in per_variant])
    return write_video(path, frames)
