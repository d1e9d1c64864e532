"""Training through the arm: whole trials of a controller on MuJoCo arms, differentiated.

MuJoCo is not written for automatic differentiation. This module runs a controller in closed loop
on a batch of arms, keeps MuJoCo's Jacobians of every step, and turns losses on the trajectory into
the gradient of the controller's weights through the arm's dynamics and the controller's own
observations (backpropagation through time, DESIGN §5). It is the one home of the differentiable
step; ``bilateral_envs.ArmBatch`` only builds observations (delays, noise) and keeps the trials.

Contract
--------
State ``x = (qpos, qvel, act)`` (10 values: rad, rad/s, muscle activation), sensors ``s = h(x)``
(15: muscle lengths m, muscle velocities m/s, hand position m), excitations ``u`` (6, in [0, 1]).
At control step t = 0 .. T-1 the controller sees ``o_t`` (``bilateral_envs.ArmBatch``: sensors of ``delay``
steps before, 0 = the current state ``x_t``), sends ``u_t``, and the arm steps ``x_t -> x_{t+1}``.
Every step yields ``A_t = dx_{t+1}/dx_t``, ``B_t = dx_{t+1}/du_t`` and ``C_t = ds_t/dx_t`` at the state
stepped from; ``C_{t+1}`` (the sensors the next observation is built from) is therefore the next
step's ``C``, and only the last state's is computed on its own. Only their nonzero blocks are kept
(``TrialJacobians``): ``A = [[pv, pa], [0, diag(aa)]]``, ``B = [[0], [diag(au)]]``, ``C = [sensors, 0]``
over (qpos and qvel, activation).

How the Jacobians are had (``JacobianStepper``). With MuJoCo's Euler integrator, muscle actuators
(no ``actearly``, no bias: force = gain(length, velocity) x activation), no damping and no active
constraint, all but the qpos columns are known in closed form from what MuJoCo computes anyway:

- excitation reaches only the next activation: ``d act'/d u`` and ``d act'/d act`` are diagonal,
  from the activation dynamics (``activation_derivatives``, MuJoCo's ``mju_muscleDynamics``), and
  zero where the activation limit clamps;
- activation reaches ``qvel'`` through the muscle force, which is linear in it:
  ``d qvel'/d act_i = dt M^-1 r_i gain_i`` (r_i the moment arm of muscle i, gain = force /
  activation), and ``d qpos'/d act = dt d qvel'/d act`` (semi-implicit Euler);
- velocity reaches ``qvel'`` through the muscle forces' force-velocity curve and through the
  Coriolis and centripetal forces c(q, v): ``d qvel'/d v = I + dt M^-1 (R^T diag(act dgain/dvel) R -
  dc/dv)``, with MuJoCo's force-velocity curve (``force_velocity``) and ``dc/dv`` from the Christoffel
  symbols of the mass matrix, whose derivatives come with the qpos differences below;
- sensors do not depend on activation, and of velocity only the muscle velocities do: ``R v``.

Only the qpos columns are finite differences: every arm is simulated three times in one
multi-threaded call of ``mujoco.batch`` -- as it is, and with qpos 0 and qpos 1 moved by ``eps`` --
and the differences of the next states, of the sensors and of the mass matrix give those columns
(and ``dM/dq``). Each step only records what MuJoCo computed; the Jacobians of a whole trial are
assembled at once afterwards (``JacobianStepper.jacobians``). Where a constraint is active (a joint
at or beyond its limit: ``nefc > 0`` in any of an arm's simulations) the closed form of the
activation and velocity columns does not hold, and the soft limit's force bends sharply with the
joint angle: all such trial-steps get six more simulations, in one more batched MuJoCo call, which
make the qpos columns centred differences and the velocity columns and those of an applied joint
force forward ones, the activation columns following from the latter through the moment arms
(``_constrained_differences``). Where an arm's state sits within ``eps`` of a limit its
differences straddle the constraint's switch (some of its simulations have the constraint, some not)
and give absurd entries (DESIGN §5): its Jacobians are then MuJoCo's full finite differences
(``mjd_transitionFD``), taken a few ``eps`` to the side of the limit the joint is on. Both are
counted (``TrialJacobians.fallback``, ``nudged``).

The gradient (``ClosedLoop``). A trial is one autograd graph: at each control step the controller's
own torch operations (a recurrent controller's state carried from step to step), then the arm's
step as a node of its own (``_ArmStep``: MuJoCo forward, ``A_t``, ``B_t`` and ``C_{t+1}`` backward)
and the next observation as another (``_Observe``: the affine map of the delayed sensors,
``sensor_map``). The Jacobians are assembled once the trial has run, before any backward pass needs
them. A loss of the trajectory's tensors (``hand``, ``excitation``, ``layers``) is then differentiated
as any torch loss -- ``backward``, or routed per loss (``bilateral.routing``) -- and its gradient runs
through the whole closed loop: the controller's steps, the observations, delays and the arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
import torch
from mujoco.batch import Batch

from bilateral.rollout import Trajectory, layer_activity
from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.batch import (
    HAND,
    INTEGRATION_SPEC,
    MUSCLE_VELOCITIES,
    N_SENSORS,
    N_STATE,
    ArmBatch,
    check_excitation,
    delayed,
    sensor_map,
)
from bilateral_envs.tasks import Trials

PERTURBED = 2  # finite-difference columns: qpos 0, qpos 1
STATE = slice(1, 11)  # x = (qpos, qvel, act) inside an mjSTATE_INTEGRATION row (after time)
POSITION_VELOCITY = slice(1, 5)
QVEL, ACT, CTRL = slice(3, 5), slice(5, 11), slice(13, 19)  # inside an mjSTATE_INTEGRATION row
QPOS, QFRC_APPLIED = slice(1, 3), slice(19, 21)  # joint angles; applied joint forces (N m)


def _sigmoid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MuJoCo's quintic ``mju_sigmoid`` on [0, 1] and its derivative."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (3 * x * (2 * x - 5) + 10), 30 * x * x * (x - 1) ** 2


def activation_derivatives(
    excitation: np.ndarray, activation: np.ndarray, dynprm: np.ndarray, actrange: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(d act'/d u, d act'/d act)``, each (N, 6), of one Euler step of MuJoCo's muscle activation.

    ``act' = clip(act + dt * (c - act) / tau, actrange)`` with ``c = clip(u, 0, 1)`` and the time constant
    ``tau`` of ``mju_muscleDynamics``: ``tau_act = p0 (0.5 + 1.5 act)``, ``tau_deact = p1 / (0.5 + 1.5 act)``,
    blended by a quintic sigmoid of ``(c - act) / p2 + 0.5`` (p = the actuators' ``dynprm``, s). At
    its kinks (activation exactly 1, excitation on a bound, the next activation exactly on a limit)
    the derivative is the one from inside the ranges.
    """
    u, a = excitation, activation
    p0, p1, width = dynprm[:, 0], dynprm[:, 1], dynprm[:, 2]
    c = np.clip(u, 0.0, 1.0)
    a_clamped = np.clip(a, 0.0, 1.0)
    grow = 0.5 + 1.5 * a_clamped
    tau_act, tau_deact = p0 * grow, p1 / grow
    dtau_act, dtau_deact = 1.5 * p0, -1.5 * p1 / grow**2
    diff = c - a
    s, ds = _sigmoid(diff / width + 0.5)
    tau = tau_deact + (tau_act - tau_deact) * s
    dtau_dc = (tau_act - tau_deact) * ds / width
    dtau_da = dtau_deact + (dtau_act - dtau_deact) * s - (tau_act - tau_deact) * ds / width
    rate = diff / tau
    inside = (a + dt * rate >= actrange[:, 0]) & (a + dt * rate <= actrange[:, 1])  # not clamped (from inside)
    d_du = (
        dt * (tau - diff * dtau_dc) / tau**2 * ((u >= 0) & (u <= 1))
    )  # one-sided from inside at the bounds, as MuJoCo
    d_da = 1 + dt * (-tau - diff * dtau_da) / tau**2
    return d_du * inside, d_da * inside


def force_velocity(V: np.ndarray, fvmax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MuJoCo's muscle force-velocity curve FV (``mju_muscleGain``) and its derivative, at normalised
    velocity ``V`` (fibre velocity / (optimal length x vmax)): 0 below -1, (V + 1)^2 up to 0, then a
    parabola rising to ``fvmax`` at ``V = fvmax - 1``."""
    y = fvmax - 1
    fv = np.where(V <= -1, 0.0, np.where(V <= 0, (V + 1) ** 2, np.where(V <= y, fvmax - (y - V) ** 2 / y, fvmax)))
    slope = np.where(V <= -1, 0.0, np.where(V <= 0, 2 * (V + 1), np.where(V <= y, 2 * (y - V) / y, 0.0)))
    return fv, slope


@dataclass
class TrialJacobians:
    """MuJoCo's Jacobians of every step of a trial of N arms, by their nonzero blocks (module docstring).

    For t = 0 .. T-1: ``pv`` (T, N, 4, 4) = d(qpos', qvel')/d(qpos, qvel), ``pa`` (T, N, 4, 6) =
    d(qpos', qvel')/d act, ``aa`` (T, N, 6) = d act'/d act and ``au`` (T, N, 6) = d act'/d u (both
    diagonal); ``sensors`` (T+1, N, 15, 4) = ds/d(qpos, qvel) at x_0 .. x_T. ``fallback`` (T, N) marks
    the trial-steps where a constraint was active (activation columns by finite differences too),
    ``nudged`` those whose state sat within ``eps`` of a joint limit (MuJoCo's full finite
    differences, taken beside it).
    """

    pv: np.ndarray
    pa: np.ndarray
    aa: np.ndarray
    au: np.ndarray
    sensors: np.ndarray
    fallback: np.ndarray
    nudged: np.ndarray

    def full(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole ``(A, B, C)`` of step t: (N, 10, 10), (N, 10, 6), (N, 15, 10)."""
        n = self.pv.shape[1]
        A, B, C = np.zeros((n, N_STATE, N_STATE)), np.zeros((n, N_STATE, N_MUSCLES)), np.zeros((n, N_SENSORS, N_STATE))
        index = np.arange(N_MUSCLES)
        A[:, :4, :4], A[:, :4, 4:], A[:, 4 + index, 4 + index] = self.pv[t], self.pa[t], self.aa[t]
        B[:, 4 + index, index] = self.au[t]
        C[:, :, :4] = self.sensors[t]
        return A, B, C


class JacobianStepper:
    """N arms stepped together on ``mujoco.batch``, with their Jacobians (module docstring).

    ``centre``: the N arms as they are, a persistent batch stepped with its position and velocity
    stages carried to the new state (so that the sensors of x_{t+1} are read without another call,
    and the next step starts from them). ``perturbed``: simulation ``k N + i`` is arm i with qpos k
    moved by ``eps``. ``threads``: MuJoCo's threads (the results do not depend on them). A trial is
    ``load``, then ``step`` and ``sense`` per control step, then ``jacobians``: a step only records
    what MuJoCo computed, and the Jacobians of all steps are assembled at once afterwards.
    """

    def __init__(self, model: mujoco.MjModel, n: int, *, hand_body: int, threads: int = 1, eps: float = 1e-6):
        if (
            model.opt.integrator != mujoco.mjtIntegrator.mjINT_EULER
            or model.actuator_actearly.any()
            or (model.actuator_biastype != mujoco.mjtBias.mjBIAS_NONE).any()
            or (model.actuator_gaintype != mujoco.mjtGain.mjGAIN_MUSCLE).any()
            or (model.actuator_dyntype != mujoco.mjtDyn.mjDYN_MUSCLE).any()
            or model.dof_damping.any()
            or model.tendon_damping.any()
            or model.nv != 2
            or list(model.M_colind) != [0, 0, 1]
        ):
            raise ValueError(
                "the closed-form Jacobians assume a two-joint arm, MuJoCo's Euler integrator without damping, "
                "and muscle actuators without actearly or bias (force = gain x activation)"
            )
        self.model, self.n, self.eps, self.hand_body = model, n, eps, hand_body
        self.threads = max(1, int(threads))
        self.dt = float(model.opt.timestep)
        self.centre = Batch(model, n, nthread=self.threads, persistent=True)
        self.perturbed = Batch(model, n * PERTURBED, nthread=self.threads)
        if self.centre.nstate != mujoco.mj_stateSize(model, INTEGRATION_SPEC):
            raise ValueError("unexpected state layout of mujoco.batch: rows are not mjSTATE_INTEGRATION")
        c, p = self.centre, self.perturbed
        self.rows = c.state  # (N, nstate), live
        self._ctrl, self._xfrc = c.bind("ctrl"), c.bind("xfrc_applied")
        self._sensors, self._force = c.bind("sensordata"), c.bind("actuator_force")
        self._moment, self._mass = c.bind("actuator_moment"), c.bind("M")
        self._nefc, self._moment_rownnz = c.bind("nefc"), c.bind("moment_rownnz")
        self._perturbed_sensors, self._perturbed_mass, self._perturbed_nefc = (
            p.bind("sensordata"),
            p.bind("M"),
            p.bind("nefc"),
        )
        # where each stored moment arm goes in the dense (muscle, joint) matrix
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        self._moment_pattern = np.broadcast_to(data.moment_rownnz.copy(), (n, model.nu))
        self._moment_nnz = int(data.moment_rownnz.sum())
        self._moment_rows = np.repeat(np.arange(model.nu), data.moment_rownnz)
        self._moment_cols = data.moment_colind[: self._moment_nnz].copy()
        self._dynprm = model.actuator_dynprm[:, :3].copy()
        self._actrange = model.actuator_actrange.copy()
        # the muscles' velocity normalisation (optimal fibre length x vmax, m/s) and fvmax
        gain = model.actuator_gainprm
        optimal = np.diff(model.actuator_lengthrange, axis=1)[:, 0] / (gain[:, 1] - gain[:, 0])
        self._velocity_scale, self._fvmax = optimal * gain[:, 6], gain[:, 8].copy()
        # the finite-difference perturbations, added to copies of the arms' rows
        self._perturbation = np.zeros((PERTURBED, 1, c.nstate))
        for k in range(PERTURBED):
            self._perturbation[k, 0, POSITION_VELOCITY.start + k] = eps
        self.joint_range = model.jnt_range[: model.nv].copy()
        self._difference_batch: Batch | None = None  # for the columns where a constraint is active
        self.t = 0
        self.simulations = 0  # MuJoCo steps simulated so far, of every kind (forward-only calls not counted)

    def load(self, rows: np.ndarray, steps: int) -> None:
        """Start a trial of ``steps`` steps from ``rows`` (N, nstate): the arms' integration states
        (``ArmBatch.integration_state``)."""
        n, total = self.n, self.n * (1 + PERTURBED)
        self.rows[:] = rows
        self.centre.forward(stage=mujoco.mjtStage.mjSTAGE_VEL)
        self.t = 0
        self._before = np.empty((steps, n, self.rows.shape[1]))  # the integration states stepped from
        self._moved = np.empty((steps, total, 4))  # next qpos, qvel: the arms', then the perturbed ones'
        self._sensed = np.empty((steps, total, N_SENSORS))  # sensors of the states stepped from
        self._mass_values = np.empty((steps, total, 3))  # the mass matrices' M00, M10, M11
        self._gain = np.empty((steps, n, self.model.nu))  # actuator force / activation
        self._moment_values = np.empty((steps, n, self._moment_nnz))
        self._moment_sparsity = np.empty((steps, n, self.model.nu), dtype=self._moment_pattern.dtype)
        self._constraints = np.empty((steps, 1 + PERTURBED, n), dtype=np.int64)  # nefc

    @property
    def state(self) -> np.ndarray:
        """The arms' current states x (N, 10)."""
        return self.rows[:, STATE].copy()

    def step(self, excitation: np.ndarray, force: np.ndarray) -> None:
        """Step every arm with ``excitation`` (N, 6) and hand force ``force`` (N, 2, newtons). Afterwards
        ``state`` is x_{t+1}; ``sense`` reads its sensors."""
        n, t = self.n, self.t
        if t >= len(self._before):
            raise RuntimeError(f"the trial loaded has {len(self._before)} steps")
        self._ctrl[:] = check_excitation(excitation, n)
        self._xfrc[:, self.hand_body, :2] = force
        before = self._before[t]
        before[:] = self.rows
        # what the centre's last call computed at x_t (position and velocity stages)
        self._sensed[t, :n] = self._sensors
        self._mass_values[t, :n] = self._mass
        self._moment_values[t] = self._moment[:, : self._moment_nnz]
        self._moment_sparsity[t] = self._moment_rownnz
        self._constraints[t, 0] = self._nefc
        np.add(before[None], self._perturbation, out=self.perturbed.state.reshape(PERTURBED, n, -1))
        self.centre.step(stage=mujoco.mjtStage.mjSTAGE_VEL)
        self.perturbed.step()
        self.simulations += n * (1 + PERTURBED)
        self._moved[t, :n] = self.rows[:, POSITION_VELOCITY]
        self._moved[t, n:] = self.perturbed.state[:, POSITION_VELOCITY]
        self._sensed[t, n:] = self._perturbed_sensors
        self._mass_values[t, n:] = self._perturbed_mass
        self._constraints[t, 1:] = self._perturbed_nefc.reshape(PERTURBED, n)
        np.divide(self._force, before[:, ACT], out=self._gain[t])  # force = gain x activation, at x_t
        self.t += 1

    def sense(self) -> np.ndarray:
        """Sensors (N, 15) of the arms' current states (computed by the step)."""
        return self._sensors.copy()

    def _moment_arms(self, values: np.ndarray) -> np.ndarray:
        """Dense moment arms R (..., 6, 2), m, from MuJoCo's sparse ``actuator_moment`` rows."""
        R = np.zeros((*values.shape[:-1], self.model.nu, 2))
        R[..., self._moment_rows, self._moment_cols] = values
        return R

    def jacobians(self) -> TrialJacobians:
        """The Jacobians of every step since ``load``, and ``sensors`` of the current (last) state."""
        n, T, eps, dt = self.n, self.t, self.eps, self.dt
        if not (self._moment_sparsity[:T] == self._moment_pattern).all():
            raise RuntimeError("the moment arms' sparsity changed with the posture: the closed form cannot place them")
        before = self._before[:T]
        velocity, activation = before[..., QVEL], before[..., ACT]
        R = self._moment_arms(self._moment_values[:T])  # (T, N, 6, 2)
        mass = np.zeros((T, 1 + PERTURBED, n, 2, 2))
        mass[..., 0, 0], mass[..., 1, 1] = (
            self._mass_values[:T, :, 0].reshape(T, -1, n),
            self._mass_values[:T, :, 2].reshape(T, -1, n),
        )
        mass[..., 0, 1] = mass[..., 1, 0] = self._mass_values[:T, :, 1].reshape(T, -1, n)
        inverse = np.empty((T, n, 2, 2))  # M^-1 at the states stepped from
        m00, m10, m11 = mass[:, 0, :, 0, 0], mass[:, 0, :, 1, 0], mass[:, 0, :, 1, 1]
        det = m00 * m11 - m10 * m10
        inverse[..., 0, 0], inverse[..., 1, 1] = m11 / det, m00 / det
        inverse[..., 0, 1] = inverse[..., 1, 0] = -m10 / det
        dmass = ((mass[:, 1:] - mass[:, :1]) / eps).transpose(0, 2, 1, 3, 4)  # dM_ij/dq_k as [t, n, k, i, j]
        pv = np.empty((T, n, 4, 4))
        moved = self._moved[:T].reshape(T, 1 + PERTURBED, n, 4)
        pv[..., :2] = ((moved[:, 1:] - moved[:, :1]) / eps).transpose(0, 2, 3, 1)
        # velocity columns: muscle forces' force-velocity curve, and Coriolis/centripetal forces
        V = (R @ velocity[..., None])[..., 0] / self._velocity_scale
        fv, slope = force_velocity(V, self._fvmax)
        with np.errstate(divide="ignore", invalid="ignore"):
            dgain = np.where(fv > 0, self._gain[:T] * slope / fv, 0.0) / self._velocity_scale  # per m/s of fibre
        stiffness = R.transpose(0, 1, 3, 2) @ ((activation * dgain)[..., None] * R)
        # d(bias force)_i/d(qvel)_m = sum_k (dM_im/dq_k + dM_ik/dq_m - dM_mk/dq_i) v_k (Christoffel symbols)
        turned = (dmass @ velocity[:, :, None, :, None])[..., 0]  # [t, n, k, i] = sum_j dM_ij/dq_k v_j
        coriolis = (dmass * velocity[..., None, None]).sum(axis=2) + turned.transpose(0, 1, 3, 2) - turned
        dvel = np.eye(2) + dt * inverse @ (stiffness - coriolis)
        pv[:, :, 2:4, 2:4], pv[:, :, 0:2, 2:4] = dvel, dt * dvel
        # activation columns: dt M^-1 r_i gain_i
        pa = np.empty((T, n, 4, N_MUSCLES))
        pa[:, :, 2:4] = dt * inverse @ (R * self._gain[:T, :, :, None]).transpose(0, 1, 3, 2)
        pa[:, :, 0:2] = dt * pa[:, :, 2:4]
        au, aa = activation_derivatives(before[..., CTRL], activation, self._dynprm, self._actrange, dt)
        sensors = np.zeros((T + 1, n, N_SENSORS, 4))
        sensed = self._sensed[:T].reshape(T, 1 + PERTURBED, n, N_SENSORS)
        sensors[:T, :, :, :2] = ((sensed[:, 1:] - sensed[:, :1]) / eps).transpose(0, 2, 3, 1)
        sensors[:T, :, MUSCLE_VELOCITIES, 2:4] = R  # muscle velocities = R qvel
        sensors[T] = self._sensor_jacobian()
        jac = TrialJacobians(pv, pa, aa, au, sensors, np.zeros((T, n), dtype=bool), np.zeros((T, n), dtype=bool))
        # where a constraint is active the closed form does not hold (module docstring)
        nefc = self._constraints[:T]
        jac.fallback[:] = (nefc > 0).any(axis=1)
        straddles = jac.fallback & (nefc != nefc[:, :1]).any(axis=1)
        for t, i in zip(*np.nonzero(straddles), strict=True):
            jac.nudged[t, i] = self._full_differences(jac, t, i)
        held = np.argwhere(jac.fallback & ~straddles)
        if len(held):
            self._constrained_differences(jac, held, moved[held[:, 0], :, held[:, 1]], R[held[:, 0], held[:, 1]])
        return jac

    def _constrained_differences(
        self, jac: TrialJacobians, where: np.ndarray, moved: np.ndarray, R: np.ndarray
    ) -> None:
        """The columns of (qpos', qvel') at the trial-steps ``where``, where a joint limit's constraint is
        active throughout their differences, in one batched MuJoCo call of six simulations each.

        ``moved`` (where, 1 + PERTURBED, 4) holds the next (qpos, qvel) of the step as it is and with each
        qpos moved by +eps (the step's own simulations); ``R`` (where, 6, 2) the moment arms. The qpos
        columns are centred differences (here simulated with qpos moved by -eps): inside the soft limit's
        transition zone the constraint force bends sharply with the joint angle, and a forward difference
        is off by up to 1e-2. The velocity columns are forward differences (the constraint's reference
        acceleration is linear in the velocity), and so are the columns of an applied joint force, from
        which the activation columns follow exactly (muscle force = gain x activation, through the
        moment arms: ``d/d act_i = d/d qfrc . R_i gain_i``). A trial-step whose -eps simulation leaves
        or enters the constraint gets MuJoCo's full differences beside the limit (``nudged``)."""
        columns = 3 * PERTURBED  # qpos 0, 1 by -eps; qvel 0, 1 by +eps; applied force 0, 1 by +eps
        count = len(where) * columns
        if self._difference_batch is None or self._difference_batch.nsim < count:
            size = max(count, 2 * (self._difference_batch.nsim if self._difference_batch else self.n * columns))
            self._difference_batch = Batch(self.model, size, nthread=self.threads)
        batch = self._difference_batch
        rows = batch.state[:count].reshape(len(where), columns, -1)
        rows[:] = self._before[where[:, 0], where[:, 1]][:, None]
        k = np.arange(PERTURBED)
        rows[:, k, QPOS.start + k] -= self.eps
        rows[:, PERTURBED + k, QVEL.start + k] += self.eps
        rows[:, 2 * PERTURBED + k, QFRC_APPLIED.start + k] += self.eps
        batch.step(ids=np.arange(count))
        self.simulations += count
        after = rows[:, :, POSITION_VELOCITY]  # (where, column, 4)
        centre, plus = moved[:, 0], moved[:, 1:]
        t, i = where[:, 0], where[:, 1]
        jac.pv[t, i, :, 0:2] = ((plus - after[:, :PERTURBED]) / (2 * self.eps)).transpose(0, 2, 1)
        jac.pv[t, i, :, 2:4] = ((after[:, PERTURBED : 2 * PERTURBED] - centre[:, None]) / self.eps).transpose(0, 2, 1)
        by_force = ((after[:, 2 * PERTURBED :] - centre[:, None]) / self.eps).transpose(0, 2, 1)  # (where, 4, 2)
        jac.pa[t, i] = by_force @ (R * self._gain[t, i][:, :, None]).transpose(0, 2, 1)
        # a -eps simulation that leaves or enters the limit straddles the constraint's switch (DESIGN §5);
        # judged from the angles (a fresh batch's first call reports nefc 0: seen with MuJoCo 4.0.1)
        start = self._before[t, i][:, QPOS]
        moved_back = start[:, None, :] - self.eps * np.eye(PERTURBED)[None]
        straddling = (self._beyond_limit(moved_back) != self._beyond_limit(start)[:, None]).any(axis=(1, 2))
        for step, arm in where[straddling]:
            jac.nudged[step, arm] = self._full_differences(jac, step, arm)

    def _beyond_limit(self, qpos: np.ndarray) -> np.ndarray:
        """Whether each joint's limit constraint acts at joint angles ``qpos`` (..., 2): an angle closer
        to a limit than the joint's margin, or beyond it; per joint (..., 2)."""
        low, high = self.joint_range[:, 0], self.joint_range[:, 1]
        margin = self.model.jnt_margin[: self.model.nv]
        return (qpos < low + margin) | (qpos > high - margin)

    def _full_differences(self, jac: TrialJacobians, t: int, i: int) -> bool:
        """MuJoCo's full finite differences of trial-step (t, i), into ``jac``, taken a few ``eps``
        beside a joint limit the state sits within ``eps`` of. Returns whether it did."""
        m, eps = self.model, self.eps
        d = mujoco.MjData(m)
        mujoco.mj_setState(m, d, self._before[t, i], INTEGRATION_SPEC)
        q = d.qpos.copy()
        low, high = self.joint_range[:, 0], self.joint_range[:, 1]
        near = (np.abs(q - low) < 2 * eps) | (np.abs(q - high) < 2 * eps)
        if near.any():
            side = np.sign(np.where(np.abs(q - low) < np.abs(q - high), q - low, q - high))
            side[side == 0] = 1.0
            d.qpos[:] = q + np.where(near, 4 * eps * side, 0.0)
        A, B, C = np.zeros((N_STATE, N_STATE)), np.zeros((N_STATE, N_MUSCLES)), np.zeros((N_SENSORS, N_STATE))
        mujoco.mjd_transitionFD(m, d, eps, False, A, B, C, None)
        self.simulations += 1 + 2 * m.nv + m.na + m.nu  # forward differences of every column, and the centre
        jac.pv[t, i], jac.pa[t, i] = A[:4, :4], A[:4, 4:]
        jac.aa[t, i], jac.au[t, i] = np.diag(A[4:, 4:]), np.diag(B[4:])
        jac.sensors[t, i] = C[:, :4]
        return bool(near.any())

    def _sensor_jacobian(self) -> np.ndarray:
        """ds/d(qpos, qvel) (N, 15, 4) at the arms' current states (differences over qpos)."""
        n = self.n
        np.add(self.rows[None], self._perturbation, out=self.perturbed.state.reshape(PERTURBED, n, -1))
        self.perturbed.forward(stage=mujoco.mjtStage.mjSTAGE_VEL)
        C = np.zeros((n, N_SENSORS, 4))
        moved = self._perturbed_sensors.reshape(PERTURBED, n, N_SENSORS) - self._sensors
        C[:, :, :2] = moved.transpose(1, 2, 0) / self.eps
        C[:, MUSCLE_VELOCITIES, 2:4] = self._moment_arms(self._moment[:, : self._moment_nnz])
        return C


class _ArmStep(torch.autograd.Function):
    """One control step of the arms as a node of the trial's autograd graph: ``(u_t, x_t) -> (x_{t+1},
    s_{t+1})``. Forward steps MuJoCo (``JacobianStepper.step``); backward applies the step's Jacobians,
    which ``ClosedLoop`` assembles once the trial has run (``ClosedLoop.jacobians``)."""

    @staticmethod
    def forward(ctx, excitation: torch.Tensor, state: torch.Tensor, sent: np.ndarray, t: int, run: ClosedLoop):
        run.stepper.step(sent, run.arms.force)  # sent: the excitations' values, as NumPy float64
        ctx.t, ctx.blocks = t, run.blocks  # filled once the trial has run (no reference back to the graph)
        return torch.from_numpy(run.stepper.state), torch.from_numpy(run.stepper.sense())

    @staticmethod
    def backward(ctx, g_state: torch.Tensor, g_sensors: torch.Tensor):
        jac, t = ctx.blocks, ctx.t
        # the adjoint of x_{t+1} = (qpos and qvel, activation), its sensors' share added
        g_pv = g_state[:, None, :4] + g_sensors[:, None] @ jac["sensors"][t + 1]  # (N, 1, 4)
        g_a = g_state[:, 4:]
        g_u = g_a * jac["au"][t]
        g_x = torch.cat([(g_pv @ jac["pv"][t])[:, 0], (g_pv @ jac["pa"][t])[:, 0] + g_a * jac["aa"][t]], dim=1)
        return g_u, g_x, None, None, None


class _Observe(torch.autograd.Function):
    """The observation ``o_t`` (``ArmBatch``'s, noise included) as a node of the graph: an affine map of
    the sensors proprioception and vision are delayed to (``sensor_map``: ``o = s_p P + s_v V + b``)."""

    @staticmethod
    def forward(ctx, observation: np.ndarray, proprioceptive: torch.Tensor, visual: torch.Tensor, run: ClosedLoop):
        ctx.maps = run.sensor_maps
        return torch.from_numpy(observation).to(run.dtype)  # in the controller's precision

    @staticmethod
    def backward(ctx, g_obs: torch.Tensor):
        P, V = ctx.maps
        g_obs = g_obs.to(P.dtype)
        return None, g_obs @ P.T, g_obs @ V.T, None


class ClosedLoop:
    """A controller run on ``trials`` through an ``ArmBatch`` and a ``JacobianStepper`` as one autograd
    graph (see the module docstring); ``trajectory`` holds what the losses read, in that graph, so
    that a loss's ``backward`` (or ``bilateral.routing``) gives its gradient through the whole loop.

    Each control step is the controller's own torch operations (its state carried from step to step,
    for a recurrent one), an ``_ArmStep`` and an ``_Observe`` node: the backward pass runs through
    the arm on MuJoCo's Jacobians and through the controller on autograd, in one sweep per loss.
    """

    def __init__(self, controller, arms: ArmBatch, stepper: JacobianStepper, trials: Trials, rng=None) -> None:
        self.controller, self.arms, self.stepper = controller, arms, stepper
        self.sensor_maps = tuple(torch.from_numpy(m) for m in sensor_map(arms.arm))
        self.blocks: dict[str, torch.Tensor] = {}
        self.dtype = next(controller.parameters()).dtype
        T, n = trials.n_steps, len(trials)
        obs = arms.reset(trials, rng)
        stepper.load(arms.integration_state(), T)
        simulated_before = stepper.simulations
        dp, dv = arms.proprioception_delay, arms.vision_delay
        sensors = [torch.from_numpy(stepper.sense())]  # s_0 .. s_T; s_0 depends on no weight
        state_x = torch.from_numpy(stepper.state)
        observations, excitation, layers, state = np.empty((T, n, obs.shape[1])), [], [], None
        recurrent = controller.recurrent
        for t in range(T):
            observations[t] = obs
            out = controller(_Observe.apply(obs, sensors[delayed(t, dp)], sensors[delayed(t, dv)], self), state)
            state = out.layers if recurrent else None
            sent = out.excitation.detach().to(torch.float64).numpy()
            state_x, sensed = _ArmStep.apply(out.excitation, state_x, sent, t, self)
            sensors.append(sensed)
            obs = arms.record(sensed.detach().numpy(), sent)
            excitation.append(out.excitation)
            layers.append(out.layers)
        self.jacobians = stepper.jacobians()
        self.simulations = stepper.simulations - simulated_before  # MuJoCo steps this trial took
        for name in ("pv", "pa", "aa", "au", "sensors"):
            self.blocks[name] = torch.from_numpy(getattr(self.jacobians, name))
        self.observations = observations  # (T, N, 16): what the controller saw
        self.trajectory = Trajectory(
            hand=torch.stack([s[:, HAND] for s in sensors]),
            excitation=torch.stack(excitation).to(torch.float64),
            target=torch.from_numpy(trials.target),
            layers=layer_activity(layers),
            fallback=int(self.jacobians.fallback.sum()),
            nudged=int(self.jacobians.nudged.sum()),
        )


def run_closed_loop(controller, arms: ArmBatch, stepper: JacobianStepper, trials: Trials, rng=None) -> ClosedLoop:
    """Run ``controller`` on ``trials`` as one differentiable graph; see ``ClosedLoop``."""
    return ClosedLoop(controller, arms, stepper, trials, rng)
