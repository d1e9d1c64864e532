"""Batch stepping: N independent arms (N ``MjData`` on one ``MjModel``) running the same task.

This is the one implementation of a trial's dynamics, observations, delays, noise, loads and pushes.
The Gymnasium environments run an ``ArmBatch`` of one arm; the distal-teacher trainer runs 64 side
by side and asks it for MuJoCo's transition and sensor Jacobians on the way (``Jacobians``).

Timing convention (t = 0 .. n_steps - 1): the controller sees observation ``o_t``, sends
excitations ``u_t``, and MuJoCo steps the state ``x_t -> x_{t+1}``. ``o_t`` is built from the
sensors ``s_k = h(x_k)`` of ``delay`` steps before (``s_k = s_0`` for ``k < 0``, see
``delayed``) and the target (``observation``).

``step`` is ``mj_step2`` (forces from ``u_t``, integrate) then ``mj_step1`` (kinematics and sensors
of ``x_{t+1}``): one ``mj_step``'s work, after which ``sensordata`` and the hand site belong to the
new state. ``step_differentiable`` also takes MuJoCo's Jacobians at ``x_t`` and then runs
``mj_step``, whose sensors are those of ``x_t``; it leaves building observations to its caller.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import mujoco
import numpy as np

from envs.tasks import Task, Trials

N_OBS = 16
N_STATE = 10  # qpos (2), qvel (2), muscle activation (6): MuJoCo's state for mjd_transitionFD
N_SENSORS = 15  # muscle lengths (6), muscle velocities (6), hand position (3)
STATE_SPEC = mujoco.mjtState.mjSTATE_QPOS | mujoco.mjtState.mjSTATE_QVEL | mujoco.mjtState.mjSTATE_ACT
PROPRIOCEPTION = slice(0, 12)  # observation entries from proprioception
VISION = slice(12, 14)  # observation entries from vision (hand x, y)


def delayed(t: int, delay: int) -> int:
    """Index of the sensors seen at step ``t`` through a delay of ``delay`` steps (``s_0`` before 0)."""
    return t - delay if t > delay else 0


def _concatenate(parts):
    """Concatenate along the last axis, for NumPy arrays or torch tensors."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=-1)
    return sys.modules["torch"].cat(parts, dim=-1)


_TENSOR_CACHE: dict = {}


def _as_tensors(arm, like):
    key = (id(arm), like.dtype, like.device)
    cached = _TENSOR_CACHE.get(key)
    if cached is None or cached[0] is not arm:  # the arm is kept in the entry, so its id is not reused
        cached = _TENSOR_CACHE[key] = (
            arm,
            like.new_tensor(arm.proprioception_scale),
            like.new_tensor(arm.proprioception_offset),
        )
    return cached[1], cached[2]


def observation(arm, proprioceptive_sensors, visual_sensors, target):
    """The 16 observations from (delayed) sensor readings and the target.

    ``proprioceptive_sensors`` and ``visual_sensors``: (..., 15) sensor rows (muscle lengths in m,
    muscle velocities in m/s, hand position in m), from the steps each modality is delayed to;
    ``target``: (..., 2) m. Works on NumPy arrays and torch tensors (the trainer differentiates it).

    Layout: 0-5 fibre length / optimal fibre length, 6-11 fibre velocity / max contraction
    velocity (10 optimal lengths/s), 12-13 hand x, y (m), 14-15 target x, y (m).
    """
    scale, offset = arm.proprioception_scale, arm.proprioception_offset
    if not isinstance(proprioceptive_sensors, np.ndarray):  # torch: NumPy arrays multiply tensors too,
        scale, offset = _as_tensors(arm, proprioceptive_sensors)  # but cost a conversion each time
    head = proprioceptive_sensors[..., :12] * scale + offset
    return _concatenate([head, visual_sensors[..., 12:14], target])


@dataclass
class Jacobians:
    """Buffers for MuJoCo's finite-difference Jacobians of one step of every arm.

    ``A`` (N, 10, 10) = d x_{t+1} / d x_t, ``B`` (N, 10, 6) = d x_{t+1} / d u_t,
    ``C`` (N, 15, 10) = d s_t / d x_t (the sensors of the pre-step state; they do not depend on u_t).
    ``nudged`` (N,) marks arms whose state was within 2 ``eps`` of a joint limit, where a difference
    would straddle the limit constraint's switch; their Jacobians are taken 4 ``eps`` further to
    the side of the limit the joint is on (``near_limit`` (N, 2): which joints).
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    nudged: np.ndarray
    near_limit: np.ndarray
    eps: float = 1e-6  # finite-difference step (MuJoCo's forward differences)

    @classmethod
    def empty(cls, n: int, eps: float = 1e-6) -> Jacobians:
        return cls(
            A=np.zeros((n, N_STATE, N_STATE)),
            B=np.zeros((n, N_STATE, 6)),
            C=np.zeros((n, N_SENSORS, N_STATE)),
            nudged=np.zeros(n, dtype=bool),
            near_limit=np.zeros((n, 2), dtype=bool),
            eps=eps,
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
        self.noisy = bool(self.noise_std.any())
        self.threads = max(1, min(int(threads), n))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._chunks = list(np.array_split(np.arange(n), self.threads))
        self.trials: Trials | None = None
        self.rng: np.random.Generator | None = None
        self.t = 0
        self._last = 0  # index of the last step in _force
        self._force = np.zeros((n, 1, 2))  # load + pushes at every step of the trials, N
        self._pushes = False
        self.state = np.zeros((n, N_STATE))  # x_t: qpos (rad), qvel (rad/s), activation
        self.sensors = np.zeros((n, N_SENSORS))  # s_t = h(x_t) of the current state
        self.hand = np.zeros((n, 2))  # hand position of the current state, m
        self.excitation = np.zeros((n, 6))  # last excitations applied (clipped)
        self.noise = np.zeros((n, 14))  # last observation noise drawn
        self.sensed: list[np.ndarray] = []  # s_0 .. s_t of the running trials
        self._kinematics_current = True  # MjData holds mj_step1's results for the current state

    # -- trials ---------------------------------------------------------------------------------
    def reset(self, trials: Trials, rng: np.random.Generator | None = None) -> np.ndarray:
        """Start ``trials`` (one per arm); returns the first observations, (N, 16) float64.

        ``rng`` draws the observation noise (required only when there is noise).
        """
        if len(trials) != self.n:
            raise ValueError(f"{len(trials)} trials for {self.n} arms")
        if self.noisy and rng is None:
            raise ValueError("observation noise is on: reset needs an rng")
        self.trials, self.rng, self.t = trials, rng, 0
        # the force on the hand at each step, and the load alone for steps past the trials' length
        self._force = np.concatenate([trials.load[:, None] + trials.pushes, trials.load[:, None]], axis=1)
        self._last = self._force.shape[1] - 1
        self._pushes = bool(trials.pushes.any())  # else the force is constant: set once, at t = 0
        m = self.model
        for i, d in enumerate(self.data):
            mujoco.mj_resetData(m, d)
            d.qpos[:] = trials.start_qpos[i]
            d.act[:] = m.actuator_actrange[:, 0]  # minimum activation
            d.mocap_pos[self.arm.target_mocap, :2] = trials.target[i]
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_0, ready for mj_step2
            self._read(i, d)
        self.excitation = np.zeros((self.n, 6))
        self.sensed = [self.sensors.copy()]
        self._kinematics_current = True
        return self._observe()

    def _read(self, i: int, d: mujoco.MjData) -> None:
        mujoco.mj_getState(self.model, d, self.state[i], STATE_SPEC)
        self.sensors[i] = d.sensordata
        self.hand[i] = d.site_xpos[self.arm.hand_site, :2]

    def draw_noise(self) -> np.ndarray | None:
        """Observation noise for the next observation (N, 14), drawn from the trials' rng (None if off)."""
        if not self.noisy:
            return None
        self.noise = self.rng.standard_normal((self.n, 14)) * self.noise_std
        return self.noise

    def _observe(self) -> np.ndarray:
        t, sensed = self.t, self.sensed
        obs = observation(
            self.arm,
            sensed[delayed(t, self.proprioception_delay)],
            sensed[delayed(t, self.vision_delay)],
            self.trials.target,
        )
        noise = self.draw_noise()
        if noise is not None:
            obs[:, :14] += noise
        return obs

    # -- stepping -------------------------------------------------------------------------------
    def step(self, excitation) -> np.ndarray:
        """Apply excitations (N, 6) in [0, 1] for one step; returns the next observations (N, 16).

        Values outside [0, 1] are clipped; NaN or infinite values raise ``ValueError``.
        """
        self._check_started()
        self.excitation = check_excitation(excitation, self.n)
        if not self._kinematics_current:  # after step_differentiable: mj_step2 needs mj_step1 first
            self.sense()
        self._run(self._step_arms)
        self.t += 1
        self.sensed.append(self.sensors.copy())
        return self._observe()

    def step_differentiable(self, excitation, jac: Jacobians) -> np.ndarray:
        """Step like ``step``, writing MuJoCo's Jacobians at the states stepped from into ``jac``.

        Returns the sensors of those states, ``s_t`` (N, 15). Builds no observations: the caller
        (the differentiable rollout) builds them from the sensors it collects. Afterwards ``sensors``
        and ``hand`` are NaN until ``sense`` reads those of the new state.
        """
        self._check_started()
        self.excitation = check_excitation(excitation, self.n)
        self._mark_near_limits(jac)
        stepped_from = np.empty((self.n, N_SENSORS))
        self._run(self._step_arms_differentiable, jac, stepped_from)
        if len(self.sensed) == self.t:  # s_0 is known from reset; later ones arrive here
            self.sensed.append(stepped_from.copy())
        self._kinematics_current = False
        self.sensors[:] = np.nan
        self.hand[:] = np.nan
        self.t += 1
        return stepped_from

    def sense(self, jac: Jacobians | None = None) -> np.ndarray:
        """Sensors (N, 15) of the current states; with ``jac``, their Jacobians ``C`` too."""
        self._check_started()
        if jac is not None:
            self._mark_near_limits(jac)
        for i, d in enumerate(self.data):
            if jac is not None:
                self._jacobians(d, jac, i, jac.near_limit[i] if jac.nudged[i] else None, transition=False)
            mujoco.mj_forward(self.model, d)
            self._read(i, d)
        self._kinematics_current = True
        if len(self.sensed) == self.t:
            self.sensed.append(self.sensors.copy())
        return self.sensors.copy()

    def _mark_near_limits(self, jac: Jacobians) -> None:
        """Which joints are so close to a limit (2 ``eps``) that a difference could straddle it."""
        q = self.state[:, :2]
        low, high = self.arm.joint_range[:, 0], self.arm.joint_range[:, 1]
        jac.near_limit = (np.abs(q - low) < 2 * jac.eps) | (np.abs(q - high) < 2 * jac.eps)
        jac.nudged = jac.near_limit.any(axis=1)

    def _check_started(self) -> None:
        if self.trials is None:
            raise RuntimeError("no trial is running: reset the arms (or the environment) first")

    def _run(self, work, *args) -> None:
        """``work(indices, *args)`` over all arms, one chunk of arms per thread."""
        if self._pool is None:
            work(self._chunks[0], *args)
            return
        for future in [self._pool.submit(work, chunk, *args) for chunk in self._chunks]:
            future.result()

    @property
    def applied_force(self) -> np.ndarray:
        """Force on each hand during the step just taken (the next one's before any step), (N, 2) N."""
        t = max(self.t - 1, 0)
        return self._force[:, t if t < self._last else self._last]

    def _step_arms(self, indices) -> None:
        m, hand_body, force, u = self.model, self.arm.hand_body, self.force, self.excitation
        set_force = self._pushes or self.t == 0
        for i in indices:
            d = self.data[i]
            d.ctrl[:] = u[i]
            if set_force:
                d.xfrc_applied[hand_body, :2] = force[i]
            mujoco.mj_step2(m, d)  # forces from u_t, integrate to x_{t+1}
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_{t+1}
            self._read(i, d)

    def _step_arms_differentiable(self, indices, jac: Jacobians, stepped_from: np.ndarray) -> None:
        m, hand_body, force, u = self.model, self.arm.hand_body, self.force, self.excitation
        set_force = self._pushes or self.t == 0
        for i in indices:
            d = self.data[i]
            d.ctrl[:] = u[i]
            if set_force:
                d.xfrc_applied[hand_body, :2] = force[i]
            self._jacobians(d, jac, i, jac.near_limit[i] if jac.nudged[i] else None)
            mujoco.mj_step(m, d)  # forward at x_t (sensors s_t), integrate to x_{t+1}
            stepped_from[i] = d.sensordata
            mujoco.mj_getState(m, d, self.state[i], STATE_SPEC)

    def _jacobians(self, d: mujoco.MjData, jac: Jacobians, i: int, near_limit, transition: bool = True) -> None:
        """MuJoCo's Jacobians at the arm's current state and controls (the state is left as it was).

        ``near_limit`` (2,) marks joints within 2 ``eps`` of a limit (or is None): their angle is moved
        by 4 ``eps`` away from the limit's switch, on the side the joint is on, for the differences,
        so that none straddles the limit constraint's switch; the state itself is left unchanged.
        """
        if near_limit is not None:
            q = d.qpos.copy()
            low, high = self.arm.joint_range[:, 0], self.arm.joint_range[:, 1]
            side = np.sign(np.where(np.abs(q - low) < np.abs(q - high), q - low, q - high))
            side[side == 0] = 1.0
            d.qpos[:] = q + np.where(near_limit, 4 * jac.eps * side, 0.0)
        A, B = (jac.A[i], jac.B[i]) if transition else (None, None)
        mujoco.mjd_transitionFD(self.model, d, jac.eps, False, A, B, jac.C[i], None)
        if near_limit is not None:
            d.qpos[:] = q

    # -- read-outs ------------------------------------------------------------------------------
    @property
    def qpos(self) -> np.ndarray:
        """Joint angles (rad), (N, 2)."""
        return self.state[:, :2].copy()

    @property
    def force(self) -> np.ndarray:
        """Force on each hand during the next step (load plus push), (N, 2) N."""
        return self._force[:, self.t if self.t < self._last else self._last]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
