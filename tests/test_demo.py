"""The main job of the foundation: a rendered random rollout of each task."""

import imageio.v2 as imageio
import numpy as np

from bilateral.cli import main


def test_demo_writes_a_video_and_a_png_per_task(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--steps", "8"]) == 0
    for task in ("reach", "hold"):
        frames = imageio.mimread(tmp_path / f"{task}_random.mp4")
        assert len(frames) == 9 and frames[0].shape == (480, 640, 3)
        assert np.std(frames[-1]) > 5
        png = imageio.imread(tmp_path / f"{task}_random.png")
        assert png.ndim == 3 and png.std() > 5
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind
