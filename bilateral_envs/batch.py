"""Batch stepping: N independent arms (N ``MjData`` on one ``MjModel``) running the same task.

This is the one implementation of a trial's observations, delays, noise, loads and pushes. The
Gymnasium environments run an ``ArmBatch`` of one arm; evaluation and validation run many side by
side. The distal teacher steps the arms with its own MuJoCo batch (``bilateral.differentiable``),
which takes its start from ``integration_state`` and hands every new state back through ``record``,
so that its observations are built here too.

Timing convention (t = 0 .. n_steps - 1), as MotorNet's code behaves: the controller sees
observation ``o_t``, sends excitations ``u_t``, and MuJoCo steps the state ``x_t -> x_{t+1}``.
``o_t`` is built from the sensors ``s_k = h(x_k)`` of ``delay`` steps before, ``k = t - delay``:
delay 0 is the current state (the default, and what MotorNet's default ``delay = dt`` amounts to:
its one-entry feedback buffer is refilled with the sensors of the state after each step before the
controller reads it); before the trial's first state the first one is seen (``s_k = s_0`` for
``k < 0``, see ``delayed``). Proprioception and vision have their own delays.

``step`` is ``mj_step2`` (forces from ``u_t``, integrate) then ``mj_step1`` (kinematics and sensors
of ``x_{t+1}``): one ``mj_step``'s work, after which ``sensordata`` belongs to the new state.

Each arm keeps its own step count (``steps``), so that some arms can start new trials while the others
go on (``reset_arms``: a vector environment's resets). The sensors of the last few states are kept in a
ring buffer shared by all arms (``HISTORY`` deep at least, as deep as the longer delay needs): an arm
that starts a trial fills its whole history with its first state, which is what a delay shows before
the first state, so one slot of the buffer serves every arm's delayed observation.
"""

from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np

from bilateral_envs.arm import N_MUSCLES, compiled_model, sensor_slices
from bilateral_envs.tasks import Task, Trials

N_OBS = 16
N_STATE = 2 + 2 + N_MUSCLES  # qpos (2), qvel (2), muscle activation: the state the controller's actions change
_SENSORS = sensor_slices(compiled_model())
N_SENSORS = compiled_model().nsensordata  # muscle lengths (6), muscle velocities (6), hand position (3)
MUSCLE_LENGTHS, MUSCLE_VELOCITIES = _SENSORS["muscle_lengths"], _SENSORS["muscle_velocities"]  # sensor entries
PROPRIOCEPTIVE = slice(MUSCLE_LENGTHS.start, MUSCLE_VELOCITIES.stop)  # sensor entries proprioception reads
STATE_SPEC = mujoco.mjtState.mjSTATE_QPOS | mujoco.mjtState.mjSTATE_QVEL | mujoco.mjtState.mjSTATE_ACT
INTEGRATION_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION  # everything a step depends on (controls, forces, ...)
PROPRIOCEPTION = slice(0, 12)  # observation entries from proprioception
VISION = slice(12, 14)  # observation entries from vision (hand x, y)
HAND = slice(_SENSORS["hand"].start, _SENSORS["hand"].start + 2)  # sensor entries of the hand's x, y (m)
HISTORY = 3  # states of sensors kept at least: the motion terms read the hand's last three positions


def delayed(t: int, delay: int) -> int:
    """Index of the sensors seen at step ``t`` through a delay of ``delay`` steps (``s_0`` before 0)."""
    return t - delay if t > delay else 0


def check_delay(name: str, delay) -> int:
    """``delay`` as a whole number of steps >= 0, or a ValueError naming the argument ``name``."""
    if isinstance(delay, bool) or not isinstance(delay, numbers.Integral) or delay < 0:
        raise ValueError(f"{name} must be a whole number of steps >= 0 (0 = the current state), got {delay!r}")
    return int(delay)


def sensor_map(arm) -> tuple[np.ndarray, np.ndarray]:
    """The observations as an affine map of the sensors: ``(P, V)``, (15, 16) each, with
    ``o = s_p P + s_v V + b``, ``s_p``/``s_v`` the sensor rows proprioception/vision are delayed to and
    ``b`` the normalisation offsets and the target (``observation_offset``).

    Layout: 0-5 fibre length / optimal fibre length, 6-11 fibre velocity / max contraction velocity
    (10 optimal lengths/s), 12-13 hand x, y (m), 14-15 target x, y (m). ``d o / d s`` is therefore
    ``arm.proprioception_scale`` on 0-11 and 1 on the hand (what the differentiable step
    backpropagates through). A product by these maps is exact: each column has one nonzero entry.
    """
    P, V = np.zeros((N_SENSORS, N_OBS)), np.zeros((N_SENSORS, N_OBS))
    P[np.arange(PROPRIOCEPTIVE.start, PROPRIOCEPTIVE.stop), np.arange(PROPRIOCEPTION.start, PROPRIOCEPTION.stop)] = (
        arm.proprioception_scale
    )
    V[HAND, VISION] = np.eye(2)
    return P, V


def observation_offset(arm, target: np.ndarray) -> np.ndarray:
    """``b`` of ``sensor_map``, (N, 16): the fibre-length offsets and the targets (m)."""
    offset = np.zeros((len(target), N_OBS))
    offset[:, :12] = arm.proprioception_offset
    offset[:, 14:] = target
    return offset


def check_excitation(excitation, n: int) -> np.ndarray:
    """Excitations as a new float array of shape (n, 6), clipped to [0, 1]; NaN or inf raise ValueError."""
    u = np.array(excitation, dtype=np.float64)
    if u.size != n * N_MUSCLES:
        raise ValueError(f"excitation must hold {n} x {N_MUSCLES} values (one per muscle), got shape {u.shape}")
    u = u.reshape(n, N_MUSCLES)
    # one sum: NaN and inf propagate into it (for a few values Python's sum is cheaper than NumPy's)
    if not math.isfinite(sum(u.flat) if n == 1 else u.sum()):
        bad = np.argwhere(~np.isfinite(u))[0]
        index = f"[{bad[1]}]" if n == 1 else f"[{bad[0]}, {bad[1]}]"
        raise ValueError(f"excitation{index} is {u[tuple(bad)]}: excitations must be finite, in [0, 1]")
    return np.minimum(np.maximum(u, 0.0, out=u), 1.0, out=u)


class ArmBatch:
    """N arms stepped side by side on one task.

    Args:
        task: the task (draws and defines the trials).
        n: number of arms.
        proprioception_delay: steps (>= 0) by which muscle lengths and velocities are delayed;
            0 = the current state.
        vision_delay: steps (>= 0) by which the observed hand position is delayed; 0 = current.
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
        proprioception_delay: int = 0,
        vision_delay: int = 0,
        proprioception_noise: float = 0.0,
        vision_noise: float = 0.0,
        threads: int = 1,
    ) -> None:
        if n < 1:
            raise ValueError(f"an ArmBatch needs at least one arm, got n={n}")
        self.proprioception_delay = check_delay("proprioception_delay", proprioception_delay)
        self.vision_delay = check_delay("vision_delay", vision_delay)
        if not proprioception_noise >= 0 or not vision_noise >= 0:
            raise ValueError("noise standard deviations must be >= 0")
        self.task = task
        self.arm = task.arm
        self.model = self.arm.model
        self.n = n
        self.data = [mujoco.MjData(self.model) for _ in range(n)]
        self.noise_std = np.zeros(14)
        self.noise_std[PROPRIOCEPTION] = proprioception_noise
        self.noise_std[VISION] = vision_noise
        self.noisy = bool(self.noise_std.any())
        self.threads = max(1, min(int(threads), n))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._chunks = list(np.array_split(np.arange(n), self.threads))
        self.trials: Trials | None = None
        self.rng: np.random.Generator | list[np.random.Generator] | None = None
        self.steps = np.zeros(n, dtype=np.int64)  # each arm's step in its trial: t of its state x_t
        self._last = 0  # index of the last step in _force
        self._force = np.zeros((n, 1, 2))  # load + pushes at every step of the trials, N
        self._pushes = False
        self.sensors = np.zeros((n, N_SENSORS))  # s_t = h(x_t) of the current state
        self.excitation = np.zeros((n, N_MUSCLES))  # last excitations applied (clipped)
        self.noise = np.zeros((n, 14))  # last observation noise drawn
        # the sensors of the last states: slot _slot is the current state's, slot _slot - k (mod depth) the
        # state k steps before (or the trial's first state, if the trial is younger)
        self._history = np.zeros((max(HISTORY, self.proprioception_delay + 1, self.vision_delay + 1), n, N_SENSORS))
        self._slot = 0
        self._mjdata_current = True  # False once another stepper has moved the arms on (record)
        self._proprioception_map, self._vision_map = sensor_map(self.arm)
        self._one_map = self._proprioception_map + self._vision_map  # when both delays are equal
        self._offset = np.zeros((n, N_OBS))

    # -- trials ---------------------------------------------------------------------------------
    def reset(self, trials: Trials, rng: np.random.Generator | list | None = None) -> np.ndarray:
        """Start ``trials`` (one per arm); returns the first observations, (N, 16) float64.

        ``rng`` draws the observation noise (required only when there is noise): one generator for the
        whole batch, or a list of one per arm (each arm's noise then comes from its own).
        """
        if len(trials) != self.n:
            raise ValueError(f"{len(trials)} trials for {self.n} arms")
        self._check_rng(rng)
        self.trials, self.rng = trials, rng
        # the force on the hand at each step, and the load alone for steps past the trials' length
        self._force = np.concatenate([trials.load[:, None] + trials.pushes, trials.load[:, None]], axis=1)
        self._last = self._force.shape[1] - 1
        self._pushes = bool(trials.pushes.any())  # else the force is constant: set once, at t = 0
        self.sensors = np.empty((self.n, N_SENSORS))
        self._start(np.arange(self.n))
        self.excitation = np.zeros((self.n, N_MUSCLES))
        self._mjdata_current = True
        self._offset = observation_offset(self.arm, trials.target)
        return self._observe()

    def reset_arms(self, arms, trials: Trials) -> np.ndarray:
        """Start new ``trials`` on the arms ``arms`` (indices, one trial each; the others go on), with the
        noise generators given to ``reset``. Returns the first observations of those arms, (k, 16)."""
        self._check_started()
        if not self._mjdata_current:
            raise RuntimeError("these arms were moved on by another stepper (record): reset them all")
        arms = np.asarray(arms, dtype=np.int64).reshape(-1)
        if len(np.unique(arms)) != len(arms) or arms.min() < 0 or arms.max() >= self.n:
            raise ValueError(f"arms must be distinct indices below {self.n}, got {arms.tolist()}")
        if len(trials) != len(arms) or trials.n_steps != self.trials.n_steps:
            raise ValueError(f"{len(arms)} arms need {len(arms)} trials of {self.trials.n_steps} steps")
        if isinstance(self.rng, np.random.Generator) and self.noisy:
            raise ValueError("resetting some arms needs a noise generator per arm (reset with a list)")
        parts = self.trials.to_dict()
        for name, value in trials.to_dict().items():
            parts[name] = parts[name].copy()
            parts[name][arms] = value
        self.trials = Trials(**parts)
        self._force[arms] = np.concatenate([trials.load[:, None] + trials.pushes, trials.load[:, None]], axis=1)
        self._pushes = bool(self.trials.pushes.any())
        self._start(arms)
        self.excitation[arms] = 0.0
        self._offset[arms] = observation_offset(self.arm, trials.target)
        return self._observe(arms)

    def _start(self, arms: np.ndarray) -> None:
        """Put ``arms`` at their trials' start: posture, minimum activation, target marker, load; their
        sensors fill their whole history; their step counts restart."""
        m, trials = self.model, self.trials
        for i in arms:
            d = self.data[i]
            mujoco.mj_resetData(m, d)
            d.qpos[:] = trials.start_qpos[i]
            d.act[:] = m.actuator_actrange[:, 0]  # minimum activation
            d.mocap_pos[self.arm.target_mocap, :2] = trials.target[i]
            d.xfrc_applied[self.arm.hand_body, :2] = self._force[i, 0]
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_0, ready for mj_step2
            self.sensors[i] = d.sensordata
        self._history[:, arms] = self.sensors[arms]
        self.steps[arms] = 0

    def _check_rng(self, rng) -> None:
        if not self.noisy:
            return
        if rng is None:
            raise ValueError("observation noise is on: reset needs an rng")
        if isinstance(rng, list | tuple) and len(rng) != self.n:
            raise ValueError(f"{len(rng)} noise generators for {self.n} arms")

    def draw_noise(self, arms=None) -> np.ndarray | None:
        """Observation noise for the next observation of ``arms`` (default: all), (k, 14), from the
        batch's generator or each arm's own (None if noise is off); ``noise`` keeps every arm's last."""
        if not self.noisy:
            return None
        if isinstance(self.rng, np.random.Generator):
            if arms is not None:
                raise ValueError("observation noise for some arms needs a noise generator per arm (reset with a list)")
            self.noise = self.rng.standard_normal((self.n, 14)) * self.noise_std
            return self.noise
        which = range(self.n) if arms is None else arms
        for i in which:
            self.noise[i] = self.rng[i].standard_normal(14) * self.noise_std
        return self.noise if arms is None else self.noise[arms]

    def seen(self, delay: int) -> np.ndarray:
        """The sensors of ``delay`` steps before each arm's current state (its trial's first state when
        the trial is younger), (N, 15)."""
        return self._history[(self._slot - delay) % len(self._history)]

    def _observe(self, arms=None) -> np.ndarray:
        """The observation of each arm (or of ``arms``) at its current step (a new array), with fresh noise."""
        dp, dv = self.proprioception_delay, self.vision_delay
        proprioceptive, visual = self.seen(dp), self.seen(dv)
        if arms is not None:
            proprioceptive, visual = proprioceptive[arms], visual[arms]
        if dp == dv:
            obs = np.matmul(proprioceptive, self._one_map)
        else:
            obs = np.matmul(proprioceptive, self._proprioception_map)
            obs += np.matmul(visual, self._vision_map)
        obs += self._offset if arms is None else self._offset[arms]
        if self.noisy:
            obs[:, :14] += self.draw_noise(arms)
        return obs

    # -- stepping -------------------------------------------------------------------------------
    def step(self, excitation, arms=None) -> np.ndarray:
        """Apply excitations (N, 6) in [0, 1] for one step; returns the next observations (N, 16).

        With ``arms`` (indices), only those arms step (``excitation`` has a row per arm of the batch;
        the others' rows are ignored) and only their observations are returned, (k, 16): the others,
        which a vector environment has just started on new trials, stay at their first state. Values
        outside [0, 1] are clipped; NaN or infinite values raise ``ValueError``.
        """
        if not self._mjdata_current or self.trials is None:
            self._check_started()
            raise RuntimeError("these arms were moved on by another stepper (record): reset them before stepping")
        self.excitation = check_excitation(excitation, self.n)
        if arms is None:
            self.sensors = np.empty((self.n, N_SENSORS))
            if self._pool is None:
                self._step_arms(self._chunks[0])
            else:
                self._run(self._step_arms)
            return self._advance()
        arms = np.asarray(arms, dtype=np.int64).reshape(-1)
        resting = np.setdiff1d(np.arange(self.n), arms)
        self.sensors = self.sensors.copy()
        self._step_arms(arms)
        self.excitation[resting] = 0.0
        self.steps[resting] -= 1  # _advance counts every arm; the resting ones stay at their first state
        self._advance(observe=False)
        return self._observe(arms)

    def record(self, sensors: np.ndarray, excitation: np.ndarray) -> np.ndarray:
        """Take one step made by another stepper: the excitations (N, 6) it applied and the sensors
        (N, 15) of the states it reached. Returns the next observations (N, 16), built and noised
        exactly as ``step`` builds them. The ``MjData`` are left behind: ``step`` refuses until the
        next ``reset`` (``integration_state`` hands a stepper the arms' start)."""
        self._check_started()
        self._mjdata_current = False
        self.excitation = np.asarray(excitation, dtype=np.float64)
        self.sensors = np.array(sensors, dtype=np.float64)
        return self._advance()

    def _advance(self, observe: bool = True) -> np.ndarray | None:
        self.steps += 1
        self._slot = (self._slot + 1) % len(self._history)
        self._history[self._slot] = self.sensors
        return self._observe() if observe else None

    def integration_state(self) -> np.ndarray:
        """Each arm's complete integration state (``mjSTATE_INTEGRATION``: time, qpos, qvel,
        activation, controls, applied forces, target marker...), (N, size): another stepper's start."""
        m = self.model
        rows = np.empty((self.n, mujoco.mj_stateSize(m, INTEGRATION_SPEC)))
        for i, d in enumerate(self.data):
            mujoco.mj_getState(m, d, rows[i], INTEGRATION_SPEC)
        return rows

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
    def force(self) -> np.ndarray:
        """Force on each hand during the next step (load plus push), (N, 2) N."""
        return self._force[np.arange(self.n), np.minimum(self.steps, self._last)]

    @property
    def applied_force(self) -> np.ndarray:
        """Force on each hand during the step just taken (the next one's before any step), (N, 2) N."""
        return self._force[np.arange(self.n), np.minimum(np.maximum(self.steps - 1, 0), self._last)]

    def _step_arms(self, indices) -> None:
        m, hand_body, u, sensors = self.model, self.arm.hand_body, self.excitation, self.sensors
        force = self.force if self._pushes else None  # a constant load was set at reset
        for i in indices:
            d = self.data[i]
            d.ctrl[:] = u[i]
            if force is not None:
                d.xfrc_applied[hand_body, :2] = force[i]
            mujoco.mj_step2(m, d)  # forces from u_t, integrate to x_{t+1}
            mujoco.mj_step1(m, d)  # kinematics and sensors of x_{t+1}
            sensors[i] = d.sensordata

    # -- read-outs ------------------------------------------------------------------------------
    @property
    def hand(self) -> np.ndarray:
        """Hand position (m) of the current states, (N, 2)."""
        return self.sensors[:, HAND]

    def hand_before(self, steps: int) -> np.ndarray:
        """Hand positions (m) ``steps`` states before the current ones (at most ``HISTORY - 1``; the
        trial's start when it is younger), (N, 2)."""
        if not 0 <= steps < len(self._history):
            raise ValueError(f"the batch keeps {len(self._history)} states, not {steps + 1}")
        return self.seen(steps)[:, HAND]

    @property
    def state(self) -> np.ndarray:
        """The current states x_t (N, 10): qpos (rad), qvel (rad/s), muscle activation."""
        self._check_started()
        if not self._mjdata_current:
            raise RuntimeError("these arms were moved on by another stepper (record): it holds their state")
        m = self.model
        state = np.empty((self.n, N_STATE))
        for i, d in enumerate(self.data):
            mujoco.mj_getState(m, d, state[i], STATE_SPEC)
        return state

    @property
    def qpos(self) -> np.ndarray:
        """Joint angles (rad), (N, 2)."""
        return self.state[:, :2]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
