"""Evaluating trained controllers on fixed, seeded test trials.

The test set of a task depends only on ``TEST_SEED``, the task and the number of trials, never on the
run's seed, so every variant and seed is measured on the same trials.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from bilateral.controllers import Controller
from bilateral.distal import TrainConfig, make_batch
from bilateral.rollout import Trajectory, run_trials
from envs.tasks import Trials, make_task

TEST_SEED = 20240125
TEST_NOISE_STREAM = 1


def test_trials(task: str, n: int, steps: int) -> Trials:
    """The fixed test set: ``n`` trials of ``steps`` steps of ``task``."""
    return make_task(task).draw(np.random.default_rng([TEST_SEED, zlib.crc32(task.encode())]), n, steps)


def final_endpoint_error(traj: Trajectory) -> np.ndarray:
    """Distance (m) from the hand to the target at the end of each trial, (B,)."""
    return torch.linalg.vector_norm(traj.hand[-1] - traj.target, dim=-1).numpy()


def rms_deviation(traj: Trajectory) -> np.ndarray:
    """Root-mean-square distance (m) of the hand from the target over each trial's steps, (B,)."""
    distance = torch.linalg.vector_norm(traj.hand[1:] - traj.target, dim=-1)
    return torch.sqrt((distance**2).mean(dim=0)).numpy()


def rollout_test_set(model: Controller, config: TrainConfig, trials: Trials, lesion: str | None = None) -> Trajectory:
    """Run ``model`` (optionally lesioned) on ``trials`` with ``config``'s sensory noise."""
    batch = make_batch(config, len(trials))
    try:
        with model.lesioned(lesion):
            return run_trials(model, batch, trials, rng=np.random.default_rng([TEST_SEED, TEST_NOISE_STREAM]))
    finally:
        batch.close()


def headline(model: Controller, config: TrainConfig, n_trials: int = 256, steps: int | None = None) -> dict:
    """The study's main number on the test set: mean final endpoint error (reach) or mean RMS
    deviation from the target (hold), in metres."""
    steps = steps or config.trial_steps
    traj = rollout_test_set(model, config, test_trials(config.task, n_trials, steps))
    result = {"task": config.task, "variant": config.variant, "seed": config.seed, "trials": n_trials, "steps": steps}
    if config.task == "reach":
        result["endpoint_error_m"] = float(final_endpoint_error(traj).mean())
    else:
        result["rms_deviation_m"] = float(rms_deviation(traj).mean())
    return result
