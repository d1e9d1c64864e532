"""The differentiable step: its Jacobians against MuJoCo's finite differences, and the gradient of
whole closed-loop trials against central differences of the same loss."""

import mujoco
import numpy as np
import pytest
import torch

from bilateral.controllers import Bilateral, Unilateral
from bilateral.differentiable import (
    JacobianStepper,
    activation_derivatives,
    force_velocity,
    run_closed_loop,
)
from bilateral.rollout import run_policy
from bilateral_envs import ArmBatch, HoldPosition, RandomReach

FULL = mujoco.mjtState.mjSTATE_INTEGRATION
# two float64 computations of one quantity on one machine (different orders of the same sums): equal to
# a few hundred units of rounding; never numbers written down elsewhere
ROUND_OFF = 1e3 * np.finfo(np.float64).eps


def stepper_for(task, n, **kwargs):
    return JacobianStepper(task.arm.model, n, hand_body=task.arm.hand_body, **kwargs)


def mujoco_differences(model, row, u, force, hand_body, centred, nudge=None):
    """MuJoCo's own finite-difference (A, B, C) at integration state ``row`` with controls ``u``."""
    d = mujoco.MjData(model)
    mujoco.mj_setState(model, d, row, FULL)
    d.ctrl[:] = u
    d.xfrc_applied[hand_body, :2] = force
    if nudge is not None:
        d.qpos[:] += nudge
    A, B, C = np.zeros((10, 10)), np.zeros((10, 6)), np.zeros((15, 10))
    mujoco.mjd_transitionFD(model, d, 1e-6, centred, A, B, C, None)
    return A, B, C


def relative(ours, reference):
    return np.abs(ours - reference).max() / np.abs(reference).max()


def test_jacobians_match_mujoco_finite_differences():
    """The assembled A, B, C at many random states and excitations (inside the ranges, at their bounds,
    at and beyond the joint limits) against MuJoCo's ``mjd_transitionFD``."""
    task, n = HoldPosition(), 64
    arm, rng = task.arm, np.random.default_rng(0)
    trials = task.draw(rng, n, 1)
    low, high = arm.joint_range[:, 0], arm.joint_range[:, 1]
    # on a limit, within eps of it, inside: differences from inside a lower limit stay inside it, those
    # at an upper one straddle it
    trials.start_qpos[:5, 1] = low[1] + np.array([0.0, 1e-7, 5e-7, 1e-3, 1e-2])
    trials.start_qpos[5, 1] = high[1] - 5e-7
    trials.start_qpos[6:10, 0] = high[0] - np.array([0.0, 1e-7, 1e-3, 0.2])
    arms = ArmBatch(task, n)
    arms.reset(trials)
    rows = arms.integration_state()
    rows[:, 3:5] = rng.normal(0, 2, (n, 2))  # joint velocities, rad/s
    rows[:10, 3:5] = 0.0
    rows[10:14, 3] = [-40.0, 40.0, -80.0, 80.0]  # fast enough to leave the force-velocity curve's middle
    rows[:, 5:11] = rng.uniform(0.001, 1, (n, 6))
    rows[14, 5:11] = [0.001, 0.999, 0.001, 0.999, 0.5, 0.5]  # activation at (beside) its limits
    u = rng.uniform(0, 1, (n, 6))
    u[14:16] = [[0, 0.9, 0, 0.9, 0.5, 0.5], [0, 1, 0, 1, 1, 0]]  # excitation at its bounds, activation clamped
    # two constraint violations to come back from: beyond the limits; and two inside the soft limit's
    # transition zone (the first 1 mrad beyond it), where its force bends sharply with the angle
    rows[16, 1:3], rows[17, 1:3] = [low[0] - 0.01, 1.0], [1.0, high[1] + 0.02]
    rows[18, 1:3], rows[19, 1:3] = [low[0] - 2e-4, 1.0], [1.0, high[1] + 5e-4]
    stepper = stepper_for(task, n, threads=2)
    stepper.load(rows, 1)
    stepper.step(u, arms.force)
    jac = stepper.jacobians()
    A, B, C = jac.full(0)
    assert np.flatnonzero(jac.nudged[0]).tolist() == [5, 6, 7]
    assert np.flatnonzero(jac.fallback[0]).tolist() == [5, 6, 7, 16, 17, 18, 19]
    for i in range(n):
        args = (arm.model, rows[i], u[i], arms.force[i], arm.hand_body)
        if jac.nudged[0, i]:  # beside a limit: MuJoCo's full differences, taken a few eps beside it
            q = rows[i, 1:3]
            near = (np.abs(q - low) < 2e-6) | (np.abs(q - high) < 2e-6)
            side = np.sign(np.where(np.abs(q - low) < np.abs(q - high), q - low, q - high))
            side[side == 0] = 1.0  # exactly on the limit: from beyond it
            reference = mujoco_differences(*args, centred=False, nudge=np.where(near, 4e-6 * side, 0.0))
            for ours, ref in zip((A[i], B[i], C[i]), reference, strict=True):
                np.testing.assert_array_equal(ours, ref)
        elif jac.fallback[0, i]:  # a constraint holds throughout: against MuJoCo's centred differences
            for ours, ref in zip((A[i], B[i], C[i]), mujoco_differences(*args, centred=True), strict=True):
                assert relative(ours, ref) < 1e-5, i
        else:  # closed form and our own differences, against MuJoCo's (more accurate) centred ones
            for ours, ref in zip((A[i], B[i], C[i]), mujoco_differences(*args, centred=True), strict=True):
                assert relative(ours, ref) < 1e-5, i
    # the next states are MuJoCo's steps
    plain = mujoco.MjData(arm.model)
    mujoco.mj_setState(arm.model, plain, rows[20], FULL)
    plain.ctrl[:], plain.xfrc_applied[arm.hand_body, :2] = u[20], arms.force[20]
    mujoco.mj_step(arm.model, plain)
    np.testing.assert_array_equal(stepper.state[20], np.concatenate([plain.qpos, plain.qvel, plain.act]))


def test_closed_forms_match_mujocos_muscle_functions():
    model = RandomReach().arm.model
    prm = model.actuator_dynprm[:, :3].copy()
    rng = np.random.default_rng(1)
    u, act, h = rng.uniform(0, 1, (200, 6)), rng.uniform(0.002, 0.999, (200, 6)), 1e-7
    d_du, d_da = activation_derivatives(u, act, prm, np.array([[-10.0, 10.0]] * 6), 0.01)

    def next_act(uu, aa):
        return aa + 0.01 * np.vectorize(lambda c, a, i: mujoco.mju_muscleDynamics(c, a, prm[int(i)]))(
            uu, aa, np.arange(6)[None] + 0 * uu
        )

    np.testing.assert_allclose(d_du, (next_act(u + h, act) - next_act(u - h, act)) / (2 * h), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d_da, (next_act(u, act + h) - next_act(u, act - h)) / (2 * h), rtol=1e-5, atol=1e-7)
    i = 2
    gain, lengthrange = model.actuator_gainprm[i, :9].copy(), model.actuator_lengthrange[i].copy()
    optimal = (lengthrange[1] - lengthrange[0]) / (gain[1] - gain[0])
    V = np.linspace(-1.4, 0.6, 41)
    fv, slope = force_velocity(V, gain[8])
    mujoco_gain = [mujoco.mju_muscleGain(lengthrange.mean(), v * optimal * gain[6], lengthrange, 0.0, gain) for v in V]
    np.testing.assert_allclose(np.array(mujoco_gain) / mujoco_gain[-1], fv / fv[-1], rtol=ROUND_OFF, atol=ROUND_OFF)
    smooth = np.min(np.abs(V[:, None] - [-1.0, 0.0, gain[8] - 1]), axis=1) > 1e-3  # away from the kinks
    numeric = (force_velocity(V + 1e-6, gain[8])[0] - force_velocity(V - 1e-6, gain[8])[0]) / 2e-6
    np.testing.assert_allclose(slope[smooth], numeric[smooth], atol=1e-6)


def closed_loop_case(delay, noise, task=None, n=4, steps=10, seed=2):
    task = task or HoldPosition(push_magnitude=10.0, push_rate=5.0)
    rng = np.random.default_rng(seed)
    trials = task.draw(rng, n, steps)
    trials.start_qpos[:] = rng.uniform([0.4, 0.4], [1.9, 2.2], (n, 2))  # away from the joint limits
    kwargs = {
        "proprioception_delay": delay,
        "vision_delay": max(delay - 1, 0),
        "proprioception_noise": noise,
        "vision_noise": noise / 3,
    }
    return task, trials, kwargs


def trial_loss(hand, u, layers, target):
    error = hand[1:] - target
    hidden = sum((h**2).mean() for h in layers.values())
    return error.abs().mean() + 2.5 * (100 * error**2).mean() / 10 + (u**2).mean() + 0.01 * hidden


def plain_loss(model, task, trials, kwargs):
    """The same loss from a plain rollout (no Jacobians): what the gradient must be the gradient of."""
    arms, steps = ArmBatch(task, len(trials), **kwargs), []

    def act(obs):
        out = model(torch.from_numpy(obs), steps[-1].layers if steps and model.recurrent else None)
        steps.append(out)
        return out.excitation.numpy()

    with torch.no_grad():
        hand, u = run_policy(act, arms, trials, np.random.default_rng(9))
        layers = {f"{s}.{k}": torch.stack([o.layers[s][k] for o in steps]) for s in steps[0].layers for k in range(2)}
        return float(trial_loss(torch.from_numpy(hand), torch.from_numpy(u), layers, torch.from_numpy(trials.target)))


def unit(p: torch.Tensor, index: tuple) -> torch.Tensor:
    """The direction of one entry of ``p``."""
    d = torch.zeros_like(p)
    d[index] = 1.0
    return d


@pytest.mark.parametrize("cell", ["dense", "gru"])
@pytest.mark.parametrize("delay", [0, 1, 2])
@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_gradient_of_whole_trials_matches_central_differences(delay, noise, cell):
    """d(loss)/d(weights) of a 10-step closed-loop trial, every entry against central differences of
    the same loss: the controller in the loop (with memory, for GRU hemispheres), observations
    delayed and noisy, the arm in between.

    MuJoCo's Jacobians are (partly) forward differences with eps = 1e-6, good to ~1e-6 relative; the
    reference carries its own round-off. Measured: ~1e-6 relative to the largest entry at worst.
    A GRU model has three times the weights: it is checked along one random direction per weight
    tensor (each a sum over all its entries, so an error in any entry shows)."""
    task, trials, kwargs = closed_loop_case(delay, noise)
    torch.manual_seed(0)
    model = Bilateral(4, 2, "paper", output_bias=-0.5, cell=cell).double()
    run = run_closed_loop(
        model, ArmBatch(task, len(trials), **kwargs), stepper_for(task, len(trials)), trials, np.random.default_rng(9)
    )
    traj = run.trajectory
    loss = trial_loss(traj.hand, traj.excitation, traj.layers, traj.target)
    params = list(model.parameters())
    gradients = torch.autograd.grad(loss, params)
    if cell == "dense":  # every entry
        directions = [(p, unit(p, index)) for p in params for index in np.ndindex(*p.shape)]
    else:
        rng = torch.Generator().manual_seed(1)
        directions = [(p, torch.randn(p.shape, generator=rng, dtype=p.dtype)) for p in params]
    owner = {id(p): g for p, g in zip(params, gradients, strict=True)}
    analytic = torch.stack([(owner[id(p)] * d).sum() for p, d in directions])
    numeric, h = [], 1e-6
    with torch.no_grad():
        for p, d in directions:
            values = []
            for sign in (1, -1):
                p += sign * h * d
                values.append(plain_loss(model, task, trials, kwargs))
                p -= sign * h * d
            numeric.append((values[0] - values[1]) / (2 * h))
    numeric = torch.tensor(numeric, dtype=torch.float64)
    scale = numeric.abs().max()
    assert scale > 1e-3  # a real gradient
    assert (analytic - numeric).abs().max() / scale < 1e-4
    assert ((analytic - numeric).abs() / (numeric.abs() + 1e-3 * scale)).median() < 1e-5


def test_gradient_through_a_joint_limit():
    """Arms driven into their joint limits (the fallback differences): the gradient along a random
    direction still matches central differences."""
    task = RandomReach()
    rng = np.random.default_rng(5)
    trials = task.draw(rng, 4, 12)
    trials.start_qpos[:] = [[0.05, 0.05], [2.3, 2.6], [0.1, 2.6], [2.3, 0.05]]  # beside the limits
    torch.manual_seed(1)
    model = Unilateral(6, 2, output_bias=0.5).double()  # strong excitations: the joints hit their limits
    run = run_closed_loop(model, ArmBatch(task, 4), stepper_for(task, 4), trials)
    assert run.trajectory.fallback > 0
    # three MuJoCo steps a trial-step, six more at a limit, a full difference (17) beside one
    smooth = 3 * 4 * 12
    assert (
        run.simulations >= smooth + 6 * (run.trajectory.fallback - run.trajectory.nudged) + 17 * run.trajectory.nudged
    )
    loss = trial_loss(run.trajectory.hand, run.trajectory.excitation, run.trajectory.layers, run.trajectory.target)
    params = list(model.parameters())
    grads = torch.autograd.grad(loss, params)
    direction = [torch.randn_like(p) for p in params]
    analytic = float(sum((g * d).sum() for g, d in zip(grads, direction, strict=True)))
    h, values = 1e-6, []
    with torch.no_grad():
        for sign in (1, -1):
            for p, d in zip(params, direction, strict=True):
                p.add_(sign * h * d)
            values.append(plain_loss(model, task, trials, {}))
            for p, d in zip(params, direction, strict=True):
                p.sub_(sign * h * d)
    numeric = (values[0] - values[1]) / (2 * h)
    assert abs(analytic - numeric) / abs(numeric) < 1e-3


def test_closed_loop_sees_and_does_what_the_batch_stepper_shows():
    """Observations of the differentiable run equal ``ArmBatch.step``'s, noise and delays included, and
    its states are those plain stepping reaches (to round-off: ``mujoco.batch`` orders a few sums
    differently from ``mj_step2`` + ``mj_step1``)."""
    task = HoldPosition(push_magnitude=10.0, push_rate=5.0)
    trials = task.draw(np.random.default_rng(0), 6, 15)
    torch.manual_seed(0)
    model = Bilateral(10, 2, output_bias=-1.0).double()
    kwargs = {"proprioception_delay": 2, "vision_delay": 0, "proprioception_noise": 0.01, "vision_noise": 0.003}
    run = run_closed_loop(
        model, ArmBatch(task, 6, **kwargs), stepper_for(task, 6, threads=2), trials, np.random.default_rng(9)
    )
    plain = ArmBatch(task, 6, **kwargs)
    obs = plain.reset(trials, np.random.default_rng(9))
    for t in range(15):
        np.testing.assert_allclose(run.observations[t], obs, rtol=ROUND_OFF, atol=1e-15)
        obs = plain.step(run.trajectory.excitation[t].detach().numpy())
        np.testing.assert_allclose(run.trajectory.hand[t + 1].detach().numpy(), plain.hand, rtol=ROUND_OFF)
    np.testing.assert_allclose(plain.state, run.stepper.state, rtol=ROUND_OFF, atol=1e-15)


def test_threads_do_not_change_the_jacobians():
    task = RandomReach()
    trials = task.draw(np.random.default_rng(3), 8, 6)
    torch.manual_seed(0)
    model = Bilateral(10, 2, output_bias=0.0)
    runs = [run_closed_loop(model, ArmBatch(task, 8), stepper_for(task, 8, threads=k), trials) for k in (1, 2)]
    assert runs[0].trajectory.fallback == 0 and runs[0].simulations == 3 * 8 * 6  # smooth: three a trial-step
    for name in ("pv", "pa", "aa", "au", "sensors"):
        np.testing.assert_array_equal(getattr(runs[0].jacobians, name), getattr(runs[1].jacobians, name))
