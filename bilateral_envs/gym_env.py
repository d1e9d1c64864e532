"""Gymnasium environments for the random reach and hold position tasks.

Both run an ``ArmBatch`` of one arm, so an environment and a batch of arms given the same trial
(and, with observation noise, a noise generator in the same state) produce the same observations
step for step.
"""

from __future__ import annotations

import collections
import os
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.batch import N_OBS, ArmBatch
from bilateral_envs.rendering import ArmRenderer, ArmViewer
from bilateral_envs.tasks import DT, HoldPosition, RandomReach, Task
from bilateral_envs.terms import NON_SPECIALISED, compute_terms, reward_weights, weighted_sum

DEFAULT_TRIAL_STEPS = 50
TRAIL_STEPS = 40  # the hand's trail in rendered frames: its last 0.4 s, fading


def has_display() -> bool:
    """Whether a window can be opened here (``render_mode="human"``)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class ArmEnv(gym.Env):
    """Base class: one arm, one task, fixed-length trials. See ``RandomReachEnv`` and ``HoldPositionEnv``."""

    # "human" is offered where a window can open (Gymnasium's check_env makes every mode offered)
    metadata: ClassVar[dict] = {
        "render_modes": ["rgb_array", *(["human"] if has_display() else [])],
        "render_fps": round(1 / DT),
    }

    def __init__(
        self,
        task: Task,
        *,
        position_l1_weight: float = NON_SPECIALISED["position_l1"],
        position_mse10_weight: float = NON_SPECIALISED["position_mse10"],
        excitation_weight: float = NON_SPECIALISED["excitation"],
        hand_speed_weight: float = 0.0,
        hand_acceleration_weight: float = 0.0,
        proprioception_noise: float = 0.0,
        vision_noise: float = 0.0,
        proprioception_delay: int = 0,
        vision_delay: int = 0,
        trial_steps: int | None = None,
        render_mode: str | None = None,
        width: int = 640,
        height: int = 480,
    ) -> None:
        if render_mode == "human" and not has_display():
            raise ValueError(
                "render_mode='human' opens a window, and there is no display here (DISPLAY and WAYLAND_DISPLAY "
                "are not set); render off-screen with render_mode='rgb_array'"
            )
        if render_mode is not None and render_mode not in ("rgb_array", "human"):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.task = task
        self.weights = reward_weights(
            position_l1_weight, position_mse10_weight, excitation_weight, hand_speed_weight, hand_acceleration_weight
        )
        self._trial_steps = trial_steps
        self.batch = ArmBatch(
            task,
            1,
            proprioception_delay=proprioception_delay,
            vision_delay=vision_delay,
            proprioception_noise=proprioception_noise,
            vision_noise=vision_noise,
        )
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(N_OBS,), dtype=np.float32)
        self.action_space = spaces.Box(0.0, 1.0, shape=(N_MUSCLES,), dtype=np.float32)
        self.render_mode = render_mode
        self.width, self.height = width, height
        self._renderer: ArmRenderer | ArmViewer | None = None

    @property
    def trial_steps(self) -> int:
        """Steps per trial: the ``trial_steps`` argument, else the registered ``max_episode_steps``."""
        if self._trial_steps is not None:
            return self._trial_steps
        if self.spec is not None and self.spec.max_episode_steps is not None:
            return self.spec.max_episode_steps
        return DEFAULT_TRIAL_STEPS

    # -- Gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a trial drawn from the task with this environment's generator.

        ``options`` may fix parts of the trial: ``start_qpos`` (shoulder, elbow) rad, ``target``
        (x, y) m, ``load`` (x, y) N, ``pushes`` (steps, 2) N; the rest is drawn as usual.
        """
        super().reset(seed=seed)
        trials = self.task.draw(self.np_random, 1, self.trial_steps)
        if options:
            unknown = set(options) - {"start_qpos", "target", "load", "pushes"}
            if unknown:
                raise ValueError(f"unknown reset options {sorted(unknown)}")
            trials = self.task.override(trials, **options)
        obs = self.batch.reset(trials, self.np_random)
        if self.render_mode == "human":
            self.render()
        return obs[0].astype(np.float32), self._info()

    def step(self, action):
        batch = self.batch
        if batch.trials is None:
            raise RuntimeError("step() before reset(): call env.reset() to start a trial first")
        push = self._push[min(int(batch.steps[0]), len(self._push) - 1)]  # acting during this step
        obs = batch.step(action)[0]
        hand = batch.hand[0].copy()
        self._trail.append(hand)
        terms = {
            k: float(v)
            for k, v in compute_terms(
                hand, self._target, batch.excitation[0], batch.hand_before(1)[0], batch.hand_before(2)[0]
            ).items()
        }
        reward = -float(weighted_sum(terms, self.weights))
        info = {  # new arrays every call: users keep what they are given (Gymnasium's convention)
            "terms": terms,
            "hand": hand,
            "target": self._target.copy(),
            "load": self._load.copy(),
            "push": push.copy(),
            "qpos": batch.data[0].qpos.copy(),
        }
        if self.render_mode == "human":
            self.render()
        return obs.astype(np.float32), reward, False, False, info

    def _info(self) -> dict:
        """The info of ``reset``: the trial, and zero terms (nothing has happened yet)."""
        batch = self.batch
        trials = batch.trials
        self._target, self._load = trials.target[0].copy(), trials.load[0].copy()
        self._push = np.concatenate([trials.pushes[0], np.zeros((1, 2))])  # and none after the trial
        self._trail = collections.deque([batch.hand[0].copy()], maxlen=TRAIL_STEPS)
        return {
            "terms": dict.fromkeys(self.weights, 0.0),
            "hand": batch.hand[0].copy(),
            "target": self._target.copy(),
            "load": self._load.copy(),
            "push": self._push[0].copy(),
            "qpos": batch.data[0].qpos.copy(),
        }

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        data = self.batch.data[0]
        if self.render_mode == "human":
            if self._renderer is None:
                self._renderer = ArmViewer(self.batch.model, data)
            self._renderer.render()
            return None
        if self._renderer is None:
            self._renderer = ArmRenderer(self.batch.model, self.width, self.height)
        # the forces of the step that led to this state (before any step: those of the first one)
        force = self.batch.applied_force[0] if self.batch.trials is not None else None
        load = self.batch.trials.load[0] if self.batch.trials is not None else None
        push = None if force is None else force - load
        trail = list(self._trail) if self.batch.trials is not None else []
        return self._renderer.render(data, load=load, push=push, trail=trail)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.batch.close()
        super().close()


_OBSERVATION_DOC = """
    ## Observation Space
    `Box(-inf, inf, (16,), float32)`, of the current state by default: proprioception (0-11) and
    vision (12-13) show the sensors of `proprioception_delay` / `vision_delay` steps before (default 0,
    MotorNet's default, whose one-entry feedback buffer is refilled after each step before the
    controller reads it) and carry optional Gaussian noise.

    | index | observation | unit |
    |-------|-------------|------|
    | 0-5   | fibre length / optimal fibre length of pectoralis, deltoid, brachioradialis, triceps lateral, biceps, triceps long | - |
    | 6-11  | fibre velocity / max contraction velocity (10 optimal lengths/s), same order | - |
    | 12-13 | hand x, y | m |
    | 14-15 | target x, y | m |

    ## Action Space
    `Box(0, 1, (6,), float32)`: muscle excitations, same muscle order. Values outside [0, 1] are
    clipped; NaN or infinite values raise `ValueError` naming the element.
"""

_COMMON_ARGS_DOC = """
    | argument | default | meaning |
    |----------|---------|---------|
    | `position_l1_weight` | 2.5 | weight of `position_l1` in the reward |
    | `position_mse10_weight` | 2.5 | weight of `position_mse10` |
    | `excitation_weight` | 1.0 | weight of `excitation` |
    | `hand_speed_weight` | 0 | weight of `hand_speed` |
    | `hand_acceleration_weight` | 0 | weight of `hand_acceleration` |
    | `proprioception_noise` | 0 | std of noise on observations 0-11 (normalised units) |
    | `vision_noise` | 0 | std of noise on observations 12-13 (m) |
    | `proprioception_delay`, `vision_delay` | 0 | delays in whole steps (>= 0; 0 = the current state, k = the state k steps before) |
    | `trial_steps` | registered `max_episode_steps` (50) | steps per trial: pushes are drawn for this many; pass the same value as `max_episode_steps` when changing it |
    | `render_mode` | None | `"rgb_array"` or `"human"` |
    | `width`, `height` | 640, 480 | frame size (pixels) |
"""

_REWARD_DOC = """
    ## Rewards
    `reward = -sum_k weight_k term_k` over the per-step loss terms of DESIGN §4 on the hand position
    after the step, p (m), the target p* (m) and the excitations u: `position_l1 = mean|p - p*|`,
    `position_mse10 = mean((10 (p - p*))^2) / 10`, `excitation = mean(u^2)`, and the impedance loss's
    motion terms `hand_speed = mean(((p - p') / dt)^2)` ((m/s)^2) and `hand_acceleration =
    mean(((p - 2 p' + p'') / dt^2)^2)` ((m/s^2)^2), with p', p'' the hand's earlier positions (the
    start position before the trial). Each term is in `info["terms"]`. The default weights are the
    non-specialised preset's (no motion terms).
"""


class RandomReachEnv(ArmEnv):
    __doc__ = f"""Reach from a random posture to a random target with a six-muscle MuJoCo arm.

    ## Description
    A planar two-joint arm (shoulder, elbow) driven by six muscles (MotorNet's RigidTendonArm26
    in MuJoCo, 10 ms Euler steps). Each trial starts at a posture drawn uniformly within the joint
    ranges; the target is the hand position of another uniformly drawn posture.
    {_OBSERVATION_DOC}{_REWARD_DOC}
    ## Starting State
    Joint angles uniform in [0, 135] deg (shoulder) and [0, 155] deg (elbow), velocities zero,
    muscle activations at their minimum (0.001). `reset(options=...)` can fix `start_qpos`
    and `target`.

    ## Episode End
    Never terminates; truncated after `max_episode_steps` (50 = 0.5 s by default).

    ## Arguments
    `gymnasium.make("bilateral/RandomReach-v1", **kwargs)` with:
    {_COMMON_ARGS_DOC}
    ## Info
    `terms` (reward terms), `hand`, `target` (m), `load`, `push` (N, zero here), `qpos` (rad).

    ## Version History
    * v1: observations of the current state (sensory delays 0, as MotorNet's default and the paper).
    * v0: initial version: observations one step old (delays 1); still registered, to replay results.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(RandomReach(), **kwargs)


class HoldPositionEnv(ArmEnv):
    __doc__ = f"""Hold the hand still against an endpoint load (and optional pushes) with a six-muscle arm.

    ## Description
    The arm of `RandomReachEnv`. Each trial starts at a posture drawn uniformly within the joint
    ranges and the target is where the hand starts. A constant force drawn uniformly in
    `endpoint_load_bounds` per axis acts on the hand for the whole trial. Optional pushes (off by
    default) add brief force pulses at seeded random times.
    {_OBSERVATION_DOC}{_REWARD_DOC}
    ## Starting State
    As `RandomReachEnv`, with target = start hand position. `reset(options=...)` can fix
    `start_qpos`, `target`, `load` and `pushes`.

    ## Episode End
    Never terminates; truncated after `max_episode_steps` (50 = 0.5 s by default).

    ## Arguments
    `gymnasium.make("bilateral/HoldPosition-v1", **kwargs)` with:
    {_COMMON_ARGS_DOC}    | `endpoint_load_bounds` | (-10, 10) | range (N) of each axis of the load |
    | `push_magnitude` | 0 | force of a push (N); 0 turns pushes off |
    | `push_duration` | 0.05 | duration of a push (s) |
    | `push_rate` | 0 | pushes per second (a push starts at a step with probability rate x 0.01) |

    ## Info
    `terms`, `hand`, `target` (m), `load` (N, constant), `push` (N, the pushes acting during the
    step), `qpos` (rad).

    ## Version History
    * v1: observations of the current state (sensory delays 0, as MotorNet's default and the paper).
    * v0: initial version: observations one step old (delays 1); still registered, to replay results.
    """

    def __init__(
        self,
        *,
        endpoint_load_bounds: tuple[float, float] = (-10.0, 10.0),
        push_magnitude: float = 0.0,
        push_duration: float = 0.05,
        push_rate: float = 0.0,
        **kwargs,
    ) -> None:
        task = HoldPosition(
            endpoint_load_bounds=tuple(endpoint_load_bounds),
            push_magnitude=push_magnitude,
            push_duration=push_duration,
            push_rate=push_rate,
        )
        super().__init__(task, **kwargs)
