"""Rendered rollouts: frames of an environment driven by a controller, written as video and figures.

A frame shows the whole workspace (``bilateral_envs.rendering``); with a ``caption`` (what is shown: variant,
task, lesion) it carries an overlay in its top-left corner with the caption, the time in the trial
and the hand's distance to the target, so that a video reads without its own caption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np

import bilateral_envs
from bilateral import metrics
from bilateral.io import atomic_path
from bilateral.plotting import save, subplots


@dataclass
class Rollout:
    """What one rendered trial produced: frames (T+1, H, W, 3) and the hand path (T+1, 2) m."""

    frames: list[np.ndarray] = field(default_factory=list)
    hand: list[np.ndarray] = field(default_factory=list)
    excitation: list[np.ndarray] = field(default_factory=list)
    target: np.ndarray | None = None
    load: np.ndarray | None = None
    total_reward: float = 0.0


def render_rollout(
    task: str,
    act: Callable[[np.ndarray], np.ndarray],
    *,
    seed: int = 0,
    options: dict | None = None,
    steps: int = bilateral_envs.DEFAULT_TRIAL_STEPS,
    width: int = 640,
    height: int = 480,
    env_kwargs: dict | None = None,
    caption: str | None = None,
    bar=None,
) -> Rollout:
    """Run one trial of ``task`` (``reach`` or ``hold``) with ``act(observation) -> excitations``;
    with a ``caption``, each frame carries the overlay (``overlay``); ``bar`` (a tqdm bar) counts the
    frames."""
    env = gym.make(
        bilateral_envs.ENV_IDS[task],
        render_mode="rgb_array",
        width=width,
        height=height,
        max_episode_steps=steps,
        trial_steps=steps,
        **(env_kwargs or {}),
    )
    try:
        obs, info = env.reset(seed=seed, options=options)
        out = Rollout(target=info["target"], load=info["load"])

        def frame(step: int) -> np.ndarray:
            image = env.render()
            if bar is not None:
                bar.update()
            if caption is None:
                return image
            distance = np.linalg.norm(info["hand"] - info["target"]) * 100
            return overlay(
                image, [caption, f"t = {step * bilateral_envs.DT:.2f} s   distance to target {distance:.1f} cm"]
            )

        out.frames.append(frame(0))
        out.hand.append(info["hand"])
        for step in range(1, steps + 1):
            u = np.asarray(act(obs), dtype=np.float32)
            obs, reward, terminated, truncated, info = env.step(u)
            out.frames.append(frame(step))
            out.hand.append(info["hand"])
            out.excitation.append(u)
            out.total_reward += reward
            if terminated or truncated:
                break
    finally:
        env.close()
    return out


def overlay_box(shape: tuple[int, ...], lines: list[str]) -> tuple[int, int, int, int]:
    """The region (left, top, right, bottom) px that ``overlay`` covers on a frame of ``shape``."""
    from PIL import Image, ImageDraw

    font = _font(shape[0])
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(draw.textlength(line, font=font) for line in lines)
    return (0, 0, int(width) + 2 * _PAD, len(lines) * (font.size + _PAD) + _PAD)


_PAD = 6  # px around and between the overlay's lines


def _font(frame_height: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=max(12, frame_height // 26))


def overlay(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """``frame`` with ``lines`` of dark text on a light box in its top-left corner (``overlay_box``)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image, "RGBA")
    font = _font(frame.shape[0])
    draw.rectangle(overlay_box(frame.shape, lines), fill=(255, 255, 255, 215))
    for k, line in enumerate(lines):
        draw.text((_PAD, _PAD + k * (font.size + _PAD)), line, fill=(25, 25, 25), font=font)
    return np.asarray(image)


def caption_of(variant: str, task: str, lesion: str | None = None) -> str:
    """What a video panel shows, in one line: ``bi-spec-cc · hold · intact``."""
    return f"{variant} · {task} · {'lesion ' + lesion if lesion else 'intact'}"


def trial_options(trials, k: int) -> dict:
    """``reset(options=...)`` that replays trial ``k`` of ``trials`` exactly."""
    return {
        "start_qpos": trials.start_qpos[k],
        "target": trials.target[k],
        "load": trials.load[k],
        "pushes": trials.pushes[k],
    }


def render_trials(
    task: str,
    act: Callable[[np.ndarray], np.ndarray],
    trials,
    count: int,
    *,
    width: int = 640,
    height: int = 480,
    env_kwargs: dict | None = None,
    caption: str | None = None,
    progress: bool = False,
) -> list[Rollout]:
    """Rendered rollouts of the first ``count`` of ``trials`` with a batch policy ``act(obs (N, 16))``
    (one with memory, a ``reset()``, starts afresh each trial); ``caption`` as in ``render_rollout``;
    ``progress`` shows a bar of the frames rendered."""
    from tqdm.auto import tqdm

    def one(obs):
        return act(obs[None])[0]

    def start(k: int) -> dict:
        if hasattr(act, "reset"):
            act.reset()
        return trial_options(trials, k)

    count = min(count, len(trials))
    with tqdm(total=count * (trials.n_steps + 1), unit="frame", desc="rendering", disable=not progress) as bar:
        return [
            render_rollout(
                task,
                one,
                options=start(k),
                steps=trials.n_steps,
                width=width,
                height=height,
                env_kwargs=env_kwargs,
                caption=caption,
                bar=bar,
            )
            for k in range(count)
        ]


def render_trained(
    trained,
    trials,
    count: int,
    *,
    task: str | None = None,
    width: int = 640,
    height: int = 480,
    caption: str | bool = True,
    progress: bool = False,
) -> list[Rollout]:
    """Rendered rollouts of a trained run (``bilateral.methods.Trained``: a controller acts itself,
    lesions included) on the first ``count`` of ``trials`` of ``task`` (default: the one it learnt),
    with the sensory delays and noise it was trained with. Frames carry the overlay: ``caption``
    True says the variant, task and lesion (``caption_of``); a string says that; False, no overlay."""
    from bilateral.rollout import ControllerPolicy
    from bilateral.senses import Senses

    config = trained.config
    task = task or config.task
    env_kwargs = {f.name: getattr(config, f.name) for f in dataclasses.fields(Senses)}
    if caption is True:
        caption = caption_of(config.variant, task, getattr(trained.model, "lesion", None))
    return render_trials(
        task,
        trained.act or ControllerPolicy(trained.model),
        trials,
        count,
        width=width,
        height=height,
        env_kwargs=env_kwargs,
        caption=caption or None,
        progress=progress,
    )


def side_by_side(frame_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Frames of several rollouts placed left to right (shorter ones hold their last frame)."""
    n = max(len(f) for f in frame_lists)
    return [np.concatenate([f[min(i, len(f) - 1)] for f in frame_lists], axis=1) for i in range(n)]


def write_video(path: str | Path, frames: list[np.ndarray], fps: int = 50) -> Path:
    """Write frames as an MP4 (H.264 via ffmpeg) or GIF, by ``path``'s suffix, atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"videos are written as .mp4 or .gif, not {path.suffix!r}")
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            imageio.mimsave(tmp, frames, duration=1000 / fps, loop=0)
        else:
            # macro_block_size=1 keeps odd frame sizes; yuv420p plays everywhere
            imageio.mimsave(tmp, frames, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv420p")
    return path


def rollout_figure(path: str | Path, rollout: Rollout, title: str) -> Path:
    """A PNG: the last frame beside the hand path and the hand speed over the trial."""
    hand = np.array(rollout.hand)
    speed = metrics.speed(hand, 1 / bilateral_envs.DT)
    fig, axes = subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [1.33, 1, 1]})
    axes[0].imshow(rollout.frames[-1])
    axes[0].set_axis_off()
    axes[0].set_title(title)
    axes[1].plot(hand[:, 0], hand[:, 1], "-", color="tab:blue", label="hand")
    axes[1].plot(*hand[0], "o", color="tab:blue", label="start")
    axes[1].plot(*rollout.target, "*", color="tab:green", markersize=12, label="target")
    axes[1].set_aspect("equal", adjustable="datalim")
    axes[1].set_xlabel("x (m)")
    axes[1].set_ylabel("y (m)")
    axes[1].legend(loc="best", fontsize=8)
    axes[1].set_title("hand path")
    axes[2].plot(np.arange(len(hand)) * bilateral_envs.DT, speed, color="tab:blue")
    axes[2].set_xlabel("time (s)")
    axes[2].set_ylabel("hand speed (m/s)")
    axes[2].set_title("hand speed")
    fig.tight_layout()
    return save(fig, path, dpi=100)
