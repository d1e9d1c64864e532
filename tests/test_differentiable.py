"""The differentiable MuJoCo step against finite differences, and the differentiable rollout
against the batch stepper."""

import numpy as np
import pytest
import torch

from bilateral.controllers import Bilateral
from bilateral.differentiable import mujoco_sense, mujoco_step
from bilateral.rollout import run_trials
from envs import ArmBatch, HoldPosition, Jacobians, RandomReach


def mid_range_trials(task, n, steps, seed):
    rng = np.random.default_rng(seed)
    trials = task.draw(rng, n, steps)
    trials.start_qpos[:] = rng.uniform([0.4, 0.4], [1.9, 2.2], (n, 2))  # away from the joint limits
    return trials


def trial_loss(batch, trials, u, differentiable):
    """2.5 L1 + 2.5 MSE10 of the hand after each step + mean squared excitation, for excitations u (T, B, 6)."""
    batch.reset(trials)
    if differentiable:
        x, sensed = torch.from_numpy(batch.state.copy()), []
        for t in range(len(u)):
            x, s, _ = mujoco_step(x, u[t], batch)
            sensed.append(s)
        sensed.append(mujoco_sense(x, batch))
        hand = torch.stack([s[:, 12:14] for s in sensed[1:]])
    else:
        hands = []
        for t in range(len(u)):
            batch.step(u[t].numpy())
            hands.append(batch.hand.copy())
        hand = torch.from_numpy(np.array(hands))
    error = hand - torch.from_numpy(trials.target)
    return 2.5 * error.abs().mean() + 2.5 * (100 * error**2).mean() / 10 + (u**2).mean()


@pytest.mark.parametrize("task", [RandomReach(), HoldPosition()])
def test_gradient_of_a_whole_trial_matches_central_differences(task):
    """d(loss)/d(excitations) over a 10-step trial, every entry against central differences.

    MuJoCo's Jacobians are forward differences with eps = 1e-6, good to ~1e-6 relative; the reference
    (central differences of the whole loss, step 1e-5) carries its own round-off of ~1e-16/1e-5 per unit
    of loss. Entries are compared relative to the gradient's largest entry: measured ~1e-6 at worst.
    """
    steps, n = 10, 3
    trials = mid_range_trials(task, n, steps, seed=0)
    u0 = torch.from_numpy(np.random.default_rng(1).uniform(0.1, 0.9, (steps, n, 6)))
    batch = ArmBatch(task, n)
    u = u0.clone().requires_grad_(True)
    trial_loss(batch, trials, u, differentiable=True).backward()
    h = 1e-5
    reference = torch.zeros_like(u0)
    for index in np.ndindex(*u0.shape):
        plus, minus = u0.clone(), u0.clone()
        plus[index] += h
        minus[index] -= h
        reference[index] = (trial_loss(batch, trials, plus, False) - trial_loss(batch, trials, minus, False)) / (2 * h)
    scale = reference.abs().max()
    assert scale > 1e-3  # a real gradient
    assert (u.grad - reference).abs().max() / scale < 1e-4
    relative = (u.grad - reference).abs() / (reference.abs() + 1e-3 * scale)
    assert relative.median() < 1e-5


def test_closed_loop_gradient_matches_central_differences_along_a_direction():
    """The controller in the loop: d(loss)/d(weights) along a random direction, through observations,
    delays and the arm, against central differences of the same closed-loop loss."""
    task = RandomReach()
    trials = mid_range_trials(task, 4, 10, seed=2)
    torch.manual_seed(0)
    model = Bilateral(10, 2, "paper", output_bias=-0.5).double()
    batch = ArmBatch(task, 4, proprioception_delay=2)

    def loss(differentiable):
        traj = run_trials(model, batch, trials, differentiable=differentiable)
        error = traj.hand[1:] - traj.target
        return error.abs().mean() + (traj.excitation**2).mean()

    params = list(model.parameters())
    direction = [torch.randn_like(p) for p in params]
    grads = torch.autograd.grad(loss(True), params)
    analytic = sum((g * d).sum() for g, d in zip(grads, direction, strict=True))
    h = 1e-6
    with torch.no_grad():
        values = []
        for sign in (1, -1):
            for p, d in zip(params, direction, strict=True):
                p.add_(sign * h * d)
            values.append(float(loss(False)))
            for p, d in zip(params, direction, strict=True):
                p.sub_(sign * h * d)
    numeric = (values[0] - values[1]) / (2 * h)
    assert abs(float(analytic) - numeric) / abs(numeric) < 1e-4


def test_differentiable_rollout_sees_what_the_batch_stepper_shows():
    """Observations built in torch by the trainer equal the batch stepper's, noise and delays included."""
    task = HoldPosition(push_magnitude=10.0, push_rate=5.0)
    trials = task.draw(np.random.default_rng(0), 6, 15)
    torch.manual_seed(0)
    model = Bilateral(10, 2, output_bias=-1.0).double()
    kwargs = {"proprioception_delay": 2, "vision_delay": 1, "proprioception_noise": 0.01, "vision_noise": 0.003}
    seen = []
    original_forward = model.forward

    def recording_forward(x):
        seen.append(x.detach().clone())
        return original_forward(x)

    model.forward = recording_forward
    traj = run_trials(model, ArmBatch(task, 6, **kwargs), trials, differentiable=True, rng=np.random.default_rng(9))
    plain = ArmBatch(task, 6, **kwargs)
    obs = plain.reset(trials, np.random.default_rng(9))
    for t in range(15):
        np.testing.assert_allclose(seen[t].numpy(), obs, atol=1e-12)
        obs = plain.step(traj.excitation[t].detach().numpy())
    np.testing.assert_allclose(traj.hand[-1].detach().numpy(), plain.hand, atol=1e-12)


def test_stepping_with_jacobians_follows_the_same_trajectory():
    task = RandomReach()
    trials = task.draw(np.random.default_rng(3), 5, 20)
    u = np.random.default_rng(4).uniform(0, 1, (20, 5, 6))
    a, b = ArmBatch(task, 5), ArmBatch(task, 5, threads=2)
    a.reset(trials)
    b.reset(trials)
    for t in range(20):
        sensors_before = a.sensors.copy()
        a.step(u[t])
        s_t = b.step_differentiable(u[t], Jacobians.empty(5))
        np.testing.assert_array_equal(s_t, sensors_before)  # the sensors of the state stepped from
        np.testing.assert_array_equal(a.state, b.state)
        assert np.isnan(b.hand).all()  # not read yet: no stale values
    np.testing.assert_array_equal(b.sense(), a.sensors)
    a.step(u[0])  # a plain step after differentiable ones continues the same physics
    b.step(u[0])
    np.testing.assert_array_equal(a.state, b.state)


def test_jacobians_beside_a_joint_limit_are_taken_on_its_side():
    """A state within eps of a limit would make differences straddle the constraint (DESIGN §5)."""
    task = RandomReach()
    trials = task.draw(np.random.default_rng(0), 2, 5)
    trials.start_qpos[0] = [1.0, 1e-7]  # elbow just inside its lower limit
    trials.start_qpos[1] = [1.0, 10e-6]  # the same, 10 eps away: differences do not straddle
    batch = ArmBatch(task, 2)
    batch.reset(trials)
    jac = Jacobians.empty(2)
    batch.step_differentiable(np.full((2, 6), 0.2), jac)
    assert jac.nudged.tolist() == [True, False]
    assert np.abs(jac.A).max() < 1e3
    np.testing.assert_allclose(jac.A[0], jac.A[1], rtol=0.05, atol=1e-3)
