"""Batch stepping: N independent arms (N ``MjData`` on one ``MjModel``) running the same task.

This is the one implementation of a trial's dynamics, observations, delays, noise, loads and pushes.
The Gymnasium environments run an ``ArmBatch`` of one arm; the distal-teacher trainer runs 64 side
by side and asks it for MuJoCo's transition and sensor Jacobians on the way (``Jacobians``).

Timing convention (t = 0 .. n_steps - 1): the controller sees observation ``o_t``, sends
excitations ``u_t``, and MuJoCo steps the state ``x_t -> x_{t+1}``. ``o_t`` is built from the
sensors ``s_k = h(x_k)`` of ``delay`` steps before (``s_k = s_0`` for ``k < 0``) and the target.
A step is ``mj_step2`` (forces from ``u_t``, integrate) then ``mj_step1`` (kinematics and sensors of
``x_{t+1}``): one ``mj_step``'s work, after which ``sensordata`` and the hand site belong to the new
state.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import mujoco
import numpy as np

from envs.tasks import Task, Trials

N_OBS = 16
N_STATE = 10  # qpos (2), qvel (2), muscle activation (6): MuJoCo's state for mjd_transitionFD
N_SENSORS = 15  # muscle lengths (6), muscle velocities (6), hand position (3)
PROPRIOCEPTION = slice(0, 12)  # observation entries from proprioception
VISION = slice(12, 14)  # observation entries from vision (hand x, y)


def _concatenate(parts):
    """Concatenate along the last axis, for NumPy arrays or torch tensors."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=-1)
    return sys.modules["torch"].cat(parts, dim=-1)


def observation(arm, proprioceptive_sensors, visual_sensors, target):
    """The 16 observations from (delayed) sensor readings and the target.

    ``proprioceptive_sensors`` and ``visual_sensors``: (..., 15) sensor rows (muscle lengths in m,
    muscle velocities in m/s, hand position in m), from the steps each modality is delayed to;
    ``target``: (..., 2) m. Works on NumPy arrays and torch tensors (the trainer differentiates it).

    Layout: 0-5 fibre length / optimal fibre length, 6-11 fibre velocity / max contraction
    velocity (10 optimal lengths/s), 12-13 hand x, y (m), 14-15 target x, y (m).
    """
    scale, offset = arm.proprioception_scale, arm.proprioception_offset
    if not isinstance(proprioceptive_sensors, np.ndarray):  # torch
        like = proprioceptive_sensors
        scale, offset = like.new_tensor(scale), like.new_tensor(offset)
    head = proprioceptive_sensors[..., :12] * scale + offset
    return _concatenate([head, visual_sensors[..., 12:14], target])


@dataclass
class Jacobians:
    """Buffers for MuJoCo's finite-difference Jacobians of one step of every arm.

    ``A`` (N, 10, 10) = d x_{t+1} / d x_t, ``B`` (N, 10, 6) = d x_{t+1} / d u_t,
    ``C`` (N, 15, 10) = d s_t / d x_t (the sensors of the pre-step state; they do not depend on u_t).
    ``nudged`` (N,) marks arms whose state was within ``eps`` of a joint limit, where a difference
    would straddle the limit constraint's switch; their Jacobians are taken a few ``eps`` to the
    side of the limit the arm is on.
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    nudged: np.ndarray
    eps: float = 1e-6
    centred: bool = False

    @classmethod
    def empty(cls, n: int, eps: float = 1e-6, centred: bool = False) -> Jacobians:
        return cls(
            A=np.zeros((n, N_STATE, N_STATE)),
            B=np.zeros((n, N_STATE, 6)),
            C=np.zeros((n, N_SENSORS, N_STATE)),
            nudged=np.zeros(n, dtype=bool),
            eps=eps,
            centred=centred,
        )


def check_excitation(excitation, n: int) -> np.ndarray:
    """Excitations as a float array of shape (n, 6), clipped to [0, 1]; NaN or inf raise ValueError."""
    u = np.asarray(excitation, dtype=np.float64)
    if u.size != n * 6:
        raise ValueError(f"excitation must hold {n} x 6 values (one per muscle), got shape {u.shape}")
    u = u.reshape(n, 6)
    if not math.isfinite(u.sum()):  # one reduction; NaN and inf propagate into the sum
        bad = np.argwhere(~np.isfinite(u))[0]
        index = f"[{bad[1]}]" if n == 1 else f"[{bad[0]}, {bad[1]}]"
        raise ValueError(f"excitation{index} is {u[tuple(bad)]}: excitations must be finite, in [0, 1]")
    return u.clip(0.0, 1.0)


class ArmBatch:
    """N arms stepped side by side on one task.

    Args:
        task: the task (draws and defines the trials).
        n: number of arms.
        proprioception_delay: steps (>= 0) by which muscle lengths and velocities are delayed.
        vision_delay: steps (>= 0) by which the observed hand position is delayed.
        proprioception_noise: standard deviation of Gaussian noise on the normalised muscle lengths
            and velocities (dimensionless).
        vision_noise: standard deviation of Gaussian noise on the observed hand position (m).
        threads: worker threads for stepping (MuJoCo releases the GIL while it computes).
    """

    def __init__(
        self,
        task: Task,
        n: int,
        *,
        proprioception_delay: int = 1,
        vision_delay: int = 1,
        proprioception_noise: float = 0.0,
        vision_noise: float = 0.0,
        threads: int = 1,
    ) -> None:
        if n < 1:
            raise ValueError(f"an ArmBatch needs at least one arm, got n={n}")
        for name, delay in (("proprioception_delay", proprioception_delay), ("vision_delay", vision_delay)):
            if int(delay) != delay or delay < 0:
                raise ValueError(f"{name} must be a whole number of steps >= 0, got {delay}")
        if proprioception_noise < 0 or vision_noise < 0:
            raise ValueError("noise standard deviations must be >= 0")
        self.task = task
        self.arm = task.arm
        self.model = self.arm.model
        self.n = n
        self.data = [mujoco.MjData(self.model) for _ in range(n)]
        self.proprioception_delay = int(proprioception_delay)
        self.vision_delay = int(vision_delay)
        self.noise_std = np.zeros(14)
        self.noise_std[PROPRIOCEPTION] = proprioception_noise
        self.noise_std[VISION] = vision_noise
        self._noisy = bool(self.noise_std.any())
        self.threads = max(1, min(int(threads), n))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._chunks = [c for c in np.array_split(np.arange(n), self.threads)]
        self.trials: Trials | None = None
        self.rng: np.random.Generator | None = None
        self.t = 0
        self._last = 0  # index of the last step in _force
        self._force = np.zeros((n, 1, 2))  # load + pushes at every step of the trials, N
        self.sensors = np.zeros((n, N_SENSORS))  # s_t = h(x_t) of the current state
        self.hand = np.zeros((n, 2))  # hand position of the current state, m
        self.excitation = np.zeros((n, 6))  # last excitations applied (clipped)
        self.noise = np.zeros((n, 14))  # last observation noise drawn
        # s_{t-k} for k = 0 .. max delay, newest last
        self._history: deque[np.ndarray] = deque(maxlen=max(self.proprioception_delay, self.vision_delay) + 1)

    # -- trials ---------------------------------------------------------------------------------
    def reset(self, trials: Trials, rng: np.random.Generator | None = None) -> np.ndarray:
        """Start ``trials`` (one per arm); returns the first observations, (N, 16) float64.

        ``rng`` draws the observation noise (required only when there is noise).
        """
        if len(trials) != self.n:
            raise ValueError(f"{len(trials)} trials for {self.n} arms")
        if self._noisy and rng is None:
            raise ValueError("observation noise is on: reset needs an rng")
        self.trials, self.rng, self.t = trials, rng, 0
        # the force on the hand at each step, and the load alone for steps past the trials' length
        self._force = np.concatenate([trials.load[:, None] + trials.pushes, trials.load[:, None]], axis=1)
        self._last = self._force.shape[1] - 1
        m = self.model
        for i, d in enumerate(self.data):
            mujoco.mj_resetData(m, d)
            d.qpos[:] = trials.start_qpos[i]
            d.act[:] = m.actuator_actrange[:, 0]  # minimum activation
            d.mocap_pos[self.arm.target_mocap, :2] = trials.target[i]
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_0, ready for mj_step2
            self.sensors[i] = d.sensordata
            self.hand[i] = d.site_xpos[self.arm.hand_site, :2]
        self.excitation = np.zeros((self.n, 6))
        self._history.clear()
        self._history.extend([self.sensors.copy()] * self._history.maxlen)
        return self._observe()

    def _observe(self) -> np.ndarray:
        history = self._history
        obs = observation(
            self.arm, history[-1 - self.proprioception_delay], history[-1 - self.vision_delay], self.trials.target
        )
        if self._noisy:
            self.noise = self.rng.standard_normal((self.n, 14)) * self.noise_std
            obs[:, :14] += self.noise
        return obs

    # -- stepping -------------------------------------------------------------------------------
    def step(self, excitation, jacobians: Jacobians | None = None) -> np.ndarray:
        """Apply excitations (N, 6) in [0, 1] for one step; returns the next observations (N, 16).

        Values outside [0, 1] are clipped; NaN or infinite values raise ``ValueError``. With
        ``jacobians``, MuJoCo's transition and sensor Jacobians of this step are written into it.
        """
        if self.trials is None:
            raise RuntimeError("call reset(trials) before step()")
        self.excitation = check_excitation(excitation, self.n)
        if self._pool is None:
            self._step_arms(self._chunks[0], jacobians)
        else:
            list(self._pool.map(self._step_arms, self._chunks, [jacobians] * self.threads))
        self.t += 1
        self._history.append(self.sensors.copy())
        return self._observe()

    def _step_arms(self, indices, jac: Jacobians | None) -> None:
        m, hand_body, hand_site = self.model, self.arm.hand_body, self.arm.hand_site
        force = self.force
        for i in indices:
            d = self.data[i]
            d.ctrl[:] = self.excitation[i]
            d.xfrc_applied[hand_body, :2] = force[i]
            if jac is not None:
                self._jacobians(d, jac, i)
            mujoco.mj_step2(m, d)  # forces from u_t, integrate to x_{t+1}
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_{t+1}
            self.sensors[i] = d.sensordata
            self.hand[i] = d.site_xpos[hand_site, :2]

    def _jacobians(self, d: mujoco.MjData, jac: Jacobians, i: int) -> None:
        """MuJoCo's Jacobians at the arm's current state and controls (``d`` is left as it was)."""
        low, high = self.arm.joint_range[:, 0], self.arm.joint_range[:, 1]
        q = d.qpos.copy()
        near_low, near_high = np.abs(q - low) < 2 * jac.eps, np.abs(q - high) < 2 * jac.eps
        jac.nudged[i] = near_low.any() or near_high.any()
        if jac.nudged[i]:
            # move 4 eps further to the side of the limit the arm is on, so no difference straddles it
            side = np.sign(np.where(near_low, q - low, q - high))
            side[side == 0] = 1.0
            d.qpos[:] = q + np.where(near_low | near_high, 4 * jac.eps * side, 0.0)
        mujoco.mjd_transitionFD(self.model, d, jac.eps, jac.centred, jac.A[i], jac.B[i], jac.C[i], None)
        if jac.nudged[i]:
            d.qpos[:] = q
        mujoco.mj_step1(self.model, d)  # restore the kinematics of the current state for mj_step2

    # -- read-outs ------------------------------------------------------------------------------
    def state(self) -> np.ndarray:
        """The MuJoCo state of every arm, (N, 10): qpos (rad), qvel (rad/s), muscle activation."""
        return np.stack([np.concatenate([d.qpos, d.qvel, d.act]) for d in self.data])

    @property
    def qpos(self) -> np.ndarray:
        """Joint angles (rad), (N, 2)."""
        return np.stack([d.qpos for d in self.data])

    @property
    def force(self) -> np.ndarray:
        """Force on each hand during the next step (load plus push), (N, 2) N."""
        return self._force[:, self.t if self.t < self._last else self._last]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
