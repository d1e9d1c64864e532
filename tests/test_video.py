"""Videos people can read: the whole workspace in view, an overlay that says what is shown."""

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pytest

import bilateral_envs
from bilateral.video import overlay_box, render_rollout, side_by_side, write_video


def green(frame: np.ndarray) -> np.ndarray:
    """Pixels of the target's green."""
    r, g, b = (frame[..., k].astype(int) for k in range(3))
    return (g > r + 50) & (g > b + 50)


@pytest.mark.parametrize("size", [(640, 480), (480, 480)])
@pytest.mark.parametrize("target", [(0.63, 0.0), (-0.54, 0.3), (0.0, 0.63), (0.3, -0.1)])
def test_a_target_anywhere_in_the_workspace_is_in_the_frame(size, target):
    env = gym.make(bilateral_envs.ENV_IDS["reach"], render_mode="rgb_array", width=size[0], height=size[1])
    env.reset(seed=0, options={"target": np.array(target)})
    frame = env.render()
    env.close()
    ys, xs = np.nonzero(green(frame))
    assert len(xs) > 20, "the target is out of the frame"
    # inside, not clipped by an edge, and where a top-down view with x right and y up puts it
    assert 2 < xs.min() and xs.max() < size[0] - 3 and 2 < ys.min() and ys.max() < size[1] - 3
    assert (xs.mean() > size[0] / 2) == (target[0] > 0.045)
    assert (ys.mean() < size[1] / 2) == (target[1] > 0.265)


def test_the_overlay_says_what_is_shown_and_frames_move_on(tmp_path):
    def random(seed):
        rng = np.random.default_rng(seed)
        return lambda obs: rng.uniform(0, 1, 6)

    caption = "bi-spec-cc · hold · intact"
    with_text = render_rollout("hold", random(0), seed=1, steps=6, width=480, height=480, caption=caption)
    plain = render_rollout("hold", random(0), seed=1, steps=6, width=480, height=480)
    frame, bare = with_text.frames[-1], plain.frames[-1]
    left, top, right, bottom = overlay_box(frame.shape, [caption, "t = 0.06 s   distance to target 10.0 cm"])
    assert 0 < right < 480 and 0 < bottom < 160
    box, bare_box = frame[top:bottom, left:right], bare[top:bottom, left:right]
    assert (box.min(axis=-1) < 90).mean() > 0.02  # dark text ...
    assert (box.min(axis=-1) > 200).mean() > 0.5  # ... on a light box
    assert np.abs(box.astype(int) - bare_box).mean() > 5
    np.testing.assert_array_equal(frame[bottom + 1 :], bare[bottom + 1 :])  # the scene itself is untouched
    # the time in the overlay and the arm move on: no two frames alike
    for a, b in zip(with_text.frames, with_text.frames[1:], strict=False):
        assert np.abs(a[top:bottom, left:right].astype(int) - b[top:bottom, left:right]).sum() > 0
        assert np.abs(a.astype(int) - b).sum() > 0
    video = write_video(tmp_path / "clip.mp4", side_by_side([with_text.frames, plain.frames]))
    frames = imageio.mimread(video)
    assert len(frames) == 7 and frames[0].shape == (480, 960, 3)


def test_rendering_many_frames_shows_a_progress_bar(capsys):
    from bilateral.video import render_trials
    from bilateral_envs import make_task

    trials = make_task("reach").draw(np.random.default_rng(0), 2, 4)
    rollouts = render_trials(
        "reach", lambda obs: np.zeros((len(obs), 6)), trials, 2, width=64, height=48, progress=True
    )
    assert [len(r.frames) for r in rollouts] == [5, 5]
    err = capsys.readouterr().err
    assert "rendering" in err and "10/10" in err  # every frame counted
