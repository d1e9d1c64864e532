"""Evaluating trained controllers on a fixed, seeded test set: per-trial metric tables and traces.

The test set of a task depends only on ``TEST_SEED``, the task and its size, never on the run's
seed, so every variant, seed and method is measured on the same trials; it is saved beside the
results (``Trials.save``) so it can be replayed. Hold runs meet a second test set: the same trials
with two pushes each (``PUSH_TEST``), for stability under perturbation beside the steady load.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bilateral import metrics
from bilateral.controllers import Bilateral
from bilateral.rollout import ControllerPolicy, run_policy
from bilateral_envs.arm import ANTAGONIST_PAIRS
from bilateral_envs.tasks import DT, PushSchedule, Trials, make_task

TEST_SEED = 20240125
# bumped whenever a metric's definition changes: grids re-evaluate (not retrain) older runs
EVALUATION_VERSION = 4
TEST_NOISE_STREAM, PUSH_STREAM = 1, 2
FS = 1.0 / DT  # Hz
PUSH_TEST = PushSchedule(magnitude=20.0, duration=0.05, count=2, earliest=0.1, settle=0.1)
PUSH_WINDOW = (-5, 25)  # steps around a push's onset kept for the deviation-over-time figure

# the metrics of each task (DESIGN §6), as per-trial table columns; the first is the headline
REACH_METRICS = (
    "endpoint_error_m",
    "time_to_target_s",
    "movement_time_s",
    "path_length_ratio",
    "peak_speed_m_s",
    "sparc",
    "log_dimensionless_jerk",
    "effort",
    "cocontraction",
)
HOLD_METRICS = (
    "rms_deviation_m",
    "drift_mean_m",
    "drift_max_m",
    "settling_time_s",
    "jitter_m",
    "effort",
    "cocontraction",
    "push_peak_deviation_m",  # under PUSH_TEST
    "push_recovery_time_s",
    "push_end_deviation_m",
)
TASK_METRICS = {"reach": REACH_METRICS, "hold": HOLD_METRICS}
HEADLINE = {"reach": "endpoint_error_m", "hold": "rms_deviation_m"}
HIGHER_IS_BETTER = {"sparc", "log_dimensionless_jerk"}


def make_test_set(task: str, n: int, steps: int) -> Trials:
    """The fixed test set: ``n`` trials of ``steps`` steps of ``task``."""
    return make_task(task).draw(np.random.default_rng([TEST_SEED, zlib.crc32(task.encode())]), n, steps)


def make_push_test_set(n: int, steps: int, schedule: PushSchedule = PUSH_TEST) -> Trials:
    """The hold test set's trials with ``schedule``'s pushes (seeded apart from the trials)."""
    trials = make_test_set("hold", n, steps)
    trials.pushes = schedule.draw(np.random.default_rng([TEST_SEED, PUSH_STREAM]), n, steps)
    return trials


def trial_metrics(task: str, hand: np.ndarray, target: np.ndarray, excitation: np.ndarray) -> dict[str, float]:
    """The task's metrics of one trial: hand (T+1, 2) m from the start state on, target (2,) m,
    excitations (T, 6). Smoothness is measured on the movement itself (onset to offset at 10 % of
    peak speed); deviations while holding on the states the controller produced (after the start)."""
    if task == "reach":
        v = metrics.speed(hand, FS)
        movement = v[metrics.movement_segment(v)]
        return {
            "endpoint_error_m": metrics.endpoint_error(hand, target),
            "time_to_target_s": metrics.time_to_target(hand, target, FS),
            "movement_time_s": metrics.movement_time(hand, FS),
            "path_length_ratio": metrics.path_length_ratio(hand, target),
            "peak_speed_m_s": float(v.max()),
            "sparc": metrics.sparc(movement, FS),
            "log_dimensionless_jerk": metrics.log_dimensionless_jerk(movement, FS)
            if len(movement) > 2
            else float("nan"),
            "effort": metrics.effort(excitation),
            "cocontraction": metrics.cocontraction(excitation, ANTAGONIST_PAIRS),
        }
    held = hand[1:]
    return {
        "rms_deviation_m": metrics.rms_deviation(held, target),
        "drift_mean_m": metrics.hold_drift(held, target, "mean"),
        "drift_max_m": metrics.hold_drift(held, target, "max"),
        "settling_time_s": metrics.settling_time(hand, target, FS),
        "jitter_m": metrics.jitter(held, FS),
        "effort": metrics.effort(excitation),
        "cocontraction": metrics.cocontraction(excitation, ANTAGONIST_PAIRS),
    }


def lesions_of(model) -> list[str | None]:
    """The intact model first, then every lesion it supports (none for unilateral or RL policies)."""
    if isinstance(model, Bilateral):
        return [None, *model.supported_lesions]
    return [None]


@dataclass
class Evaluation:
    """Per-trial metrics (one row per trial and lesion) and traces of the intact model for figures."""

    table: pd.DataFrame
    traces: dict[str, np.ndarray]


def evaluate(
    model,
    config,
    trials: Trials,
    *,
    push_trials: Trials | None = None,
    lesions: list[str | None] | None = None,
    act: Callable[[np.ndarray], np.ndarray] | None = None,
    method: str = "distal",
    examples: int = 8,
    loss: str = "",
) -> Evaluation:
    """Run ``model`` on ``trials`` intact and under each of ``lesions`` (default: all it supports), and
    on ``push_trials`` (hold: the same trials with pushes, ``make_push_test_set``) if given.

    ``act`` overrides how the model maps observations to excitations (RL policies); by default a
    torch controller is run without gradients. The table's columns: method, task, variant, the axes
    beyond the paper's (cell, nondominant, sizing, and ``loss``: the run's loss grid label, if any), seed,
    lesion ("none" for intact), trial, and the task's metrics (the ``push_*`` ones with ``push_trials``).
    """
    lesions = (lesions_of(model) if act is None else [None]) if lesions is None else lesions
    arms = config.make_arms(len(trials))
    rows, traces = [], {}

    def run(test: Trials) -> tuple[np.ndarray, np.ndarray]:
        policy = act or ControllerPolicy(model)
        return run_policy(policy, arms, test, np.random.default_rng([TEST_SEED, TEST_NOISE_STREAM]))

    try:
        for lesion in lesions:
            with model.lesioned(lesion) if lesion is not None else nullcontext():
                hand, excitation = run(trials)
                pushed = run(push_trials) if push_trials is not None else None
            for i in range(len(trials)):
                row = trial_metrics(config.task, hand[:, i], trials.target[i], excitation[:, i])
                if pushed is not None:
                    recovery = metrics.push_recovery(pushed[0][:, i], push_trials.target[i], push_trials.pushes[i], FS)
                    row.update({f"push_{name}": value for name, value in recovery.items()})
                rows.append(
                    {
                        "method": method,
                        "task": config.task,
                        "variant": config.variant,
                        "cell": config.cell,
                        "nondominant": config.nondominant,
                        "sizing": config.sizing,
                        "loss": loss,
                        "seed": config.seed,
                        "lesion": lesion or "none",
                        "trial": i,
                        **row,
                    }
                )
            if lesion is None:
                traces = _traces(hand, trials, examples)
                if pushed is not None:
                    traces["push_distance_mean"] = _around_first_push(pushed[0], push_trials)
    finally:
        arms.close()
    return Evaluation(pd.DataFrame(rows), traces)


def _traces(hand: np.ndarray, trials: Trials, examples: int) -> dict[str, np.ndarray]:
    """Hand paths of the first test trials, and the distance to the target over time (all trials)."""
    distance = np.linalg.norm(hand - trials.target[None], axis=-1)  # (T+1, N)
    k = min(examples, hand.shape[1])
    return {
        "hand": hand[:, :k].transpose(1, 0, 2),  # (k, T+1, 2)
        "target": trials.target[:k],
        "distance_mean": distance.mean(axis=1),
    }


def _around_first_push(hand: np.ndarray, trials: Trials) -> np.ndarray:
    """Mean distance (m) from the target over the steps ``PUSH_WINDOW`` around each trial's first
    push onset (the state at the onset is index ``-PUSH_WINDOW[0]``)."""
    distance = np.linalg.norm(hand - trials.target[None], axis=-1)  # (T+1, N)
    onset = np.argmax(np.linalg.norm(trials.pushes, axis=-1) > 0, axis=1)
    offsets = np.arange(PUSH_WINDOW[0], PUSH_WINDOW[1] + 1)
    index = np.clip(onset[:, None] + offsets, 0, len(distance) - 1)
    return distance[index, np.arange(len(onset))[:, None]].mean(axis=0)


def headline(model, config, n_trials: int = 256, steps: int | None = None, act=None) -> dict:
    """The study's main number on the test set: mean final endpoint error (reach) or mean RMS
    deviation from the target (hold), in metres. ``act`` as in ``evaluate``."""
    steps = steps or config.trial_steps
    result = evaluate(model, config, make_test_set(config.task, n_trials, steps), lesions=[None], act=act)
    metric = HEADLINE[config.task]
    return {
        "task": config.task,
        "variant": config.variant,
        "seed": config.seed,
        "trials": n_trials,
        "steps": steps,
        metric: float(result.table[metric].mean()),
    }
