"""Physical sanity of the arm under the tasks."""

import copy
import dataclasses

import numpy as np
import pytest

from bilateral_envs import ArmBatch, HoldPosition, RandomReach


def run(task, trials, u, steps):
    batch = ArmBatch(task, len(trials))
    batch.reset(trials)
    qpos, hands = [batch.qpos], [batch.hand.copy()]
    for _ in range(steps):
        batch.step(u)
        qpos.append(batch.qpos)
        hands.append(batch.hand.copy())
    return batch, np.array(qpos), np.array(hands)


def test_zero_excitation_without_load_stays_still():
    task = RandomReach()
    trials = task.draw(np.random.default_rng(0), 32, 50)
    # without the activation floor nothing acts on the arm: it does not move at all
    model = copy.deepcopy(task.arm.model)
    model.actuator_actrange[:, 0] = 0.0
    still = RandomReach(arm=dataclasses.replace(task.arm, model=model))
    _, qpos, _ = run(still, trials, np.zeros((32, 6)), 50)
    assert np.abs(qpos - qpos[0]).max() == 0.0
    # with MotorNet's floor of 0.001, the muscles' residual tension creeps the hand < 1 cm per trial
    _, qpos, hands = run(task, trials, np.zeros((32, 6)), 50)
    assert np.linalg.norm(hands - hands[0], axis=-1).max() < 0.01


def test_a_load_pushes_the_hand_its_way():
    task = HoldPosition()
    rng = np.random.default_rng(1)
    trials = task.draw(rng, 8, 20)
    q = np.deg2rad([[45, 80]] * 8)  # away from joint limits
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    trials = task.override(trials, start_qpos=q[0])
    trials.load[:] = 10 * np.stack([np.cos(angles), np.sin(angles)], 1)
    _, _, hands = run(task, trials, np.zeros((8, 6)), 10)
    displacement = hands[-1] - hands[0]
    direction = trials.load / np.linalg.norm(trials.load, axis=1, keepdims=True)
    along = (displacement * direction).sum(1)
    assert np.all(along > 0.005), along  # at least 5 mm in 0.1 s along the load


@pytest.mark.parametrize("muscles", [[0, 2, 4], [1, 3, 5]])
def test_joint_limits_hold_under_full_excitation(muscles):
    """MuJoCo's limits are soft constraints that act once a joint is past them. At 10 ms per step a
    joint slamming into a limit passes it by that step's travel (MotorNet clamps instead); from then
    on it only moves back, and a joint pressed against a limit is held there."""
    task = RandomReach()
    trials = task.draw(np.random.default_rng(2), 16, 60)
    u = np.zeros((16, 6))
    u[:, muscles] = 1.0  # all flexors, or all extensors, at full excitation
    batch, qpos, _ = run(task, trials, u, 60)
    low, high = batch.arm.joint_range[:, 0], batch.arm.joint_range[:, 1]
    overrun = np.maximum(np.maximum(qpos - high, low - qpos), 0.0)
    held = np.deg2rad(1.0)  # a soft constraint gives a little under the other joint's pull
    # after the step that crossed, the joint goes no deeper (beyond that small give)
    already_past = overrun[:-1] > 0
    assert np.all(overrun[1:][already_past] <= np.maximum(overrun[:-1], held)[already_past])
    end = low if muscles[0] == 1 else high  # extensors drive to 0, flexors to the upper limit
    np.testing.assert_allclose(qpos[-1], np.broadcast_to(end, qpos[-1].shape), atol=held)


def test_random_excitation_keeps_joints_near_their_ranges():
    """Exploration-like excitations (new random values every step) overrun a limit by a few degrees
    at most (4.5 deg over 256 arms x 1 s); the full-excitation slams above by up to one step's travel."""
    task = RandomReach()
    trials = task.draw(np.random.default_rng(4), 64, 100)
    rng = np.random.default_rng(5)
    batch = ArmBatch(task, 64)
    batch.reset(trials)
    qpos = []
    for _ in range(100):
        batch.step(rng.uniform(0, 1, (64, 6)))
        qpos.append(batch.qpos)
    low, high = batch.arm.joint_range[:, 0], batch.arm.joint_range[:, 1]
    assert np.all(np.array(qpos) >= low - np.deg2rad(6)) and np.all(np.array(qpos) <= high + np.deg2rad(6))


def test_activation_stays_within_its_range():
    task = RandomReach()
    trials = task.draw(np.random.default_rng(3), 4, 30)
    batch = ArmBatch(task, 4)
    batch.reset(trials)
    acts = []
    for t in range(30):
        batch.step(np.full((4, 6), 1.0 if t < 15 else 0.0))
        acts.append(batch.state[:, 4:].copy())
    acts = np.array(acts)
    assert acts.min() >= 0.001 - 1e-12 and acts.max() <= 1.0 + 1e-12
    assert acts[14].min() > 0.99  # full excitation saturates within 0.15 s
    assert acts[-1].max() < 0.2  # and relaxes within 0.15 s
