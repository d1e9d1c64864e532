"""Running a controller on a batch of trials, with or without gradients through the arm."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from bilateral.controllers import Controller
from bilateral.differentiable import mujoco_sense, mujoco_step
from envs.batch import ArmBatch, delayed, observation
from envs.tasks import Trials


@dataclass
class Trajectory:
    """A batch of trials as run: hand positions (T+1, B, 2) m of states x_0..x_T, excitations
    (T, B, 6), hidden activity (T, B, units), and each stack's layer activity per step."""

    hand: torch.Tensor
    excitation: torch.Tensor
    hidden: torch.Tensor
    target: torch.Tensor
    layers: list[dict[str, list[torch.Tensor]]] = field(default_factory=list)
    nudged: int = 0  # trial-steps whose Jacobians were taken beside a joint limit


def run_trials(
    controller: Controller,
    batch: ArmBatch,
    trials: Trials,
    *,
    differentiable: bool = False,
    rng: np.random.Generator | None = None,
    eps: float = 1e-6,
) -> Trajectory:
    """Run ``controller`` on ``trials`` (one per arm of ``batch``) for ``trials.n_steps`` steps.

    With ``differentiable=True`` the hand positions and excitations carry gradients through the
    arm's dynamics (MuJoCo's Jacobians, backpropagation through time) and through the delayed
    observations back into the controller; otherwise the rollout runs without autograd.
    ``rng`` draws observation noise, if the batch has any.
    """
    if differentiable:
        return _run_differentiable(controller, batch, trials, rng, eps)
    dtype = next(controller.parameters()).dtype
    layers, hidden = [], []

    def act(obs: np.ndarray) -> np.ndarray:
        out = controller(torch.from_numpy(obs).to(dtype))
        layers.append(out.layers)
        hidden.append(out.hidden)
        return out.excitation.numpy()

    with torch.no_grad():
        hand, excitation = run_policy(act, batch, trials, rng)
    return Trajectory(
        hand=torch.from_numpy(hand),
        excitation=torch.from_numpy(excitation),
        hidden=torch.stack(hidden),
        target=torch.from_numpy(trials.target),
        layers=layers,
    )


def run_policy(act, batch: ArmBatch, trials: Trials, rng: np.random.Generator | None = None):
    """Run any policy ``act(observations (N, 16)) -> excitations (N, 6)`` on ``trials``.

    Returns hand positions (T+1, N, 2) m of states x_0..x_T and the excitations applied (T, N, 6),
    clipped to [0, 1] as the arm applies them.
    """
    obs = batch.reset(trials, rng)
    hand, excitation = [batch.hand.copy()], []
    for _ in range(trials.n_steps):
        obs = batch.step(act(obs))
        hand.append(batch.hand.copy())
        excitation.append(batch.excitation.copy())
    return np.array(hand), np.array(excitation)


def _run_differentiable(controller, batch, trials, rng, eps) -> Trajectory:
    if batch.proprioception_delay < 1 or batch.vision_delay < 1:
        raise ValueError("backpropagation through the arm needs sensory delays of at least one step")
    batch.reset(trials, rng)
    arm = batch.arm
    dtype = next(controller.parameters()).dtype
    target = torch.from_numpy(trials.target)
    state = torch.from_numpy(batch.state.copy())
    sensed = [torch.from_numpy(batch.sensors.copy())]  # sensed[k] = s_k = h(x_k)
    noise = batch.noise if batch.noisy else None  # drawn by reset for the first observation
    u_all, hidden, layers, nudged = [], [], [], 0
    dp, dv = batch.proprioception_delay, batch.vision_delay
    for t in range(trials.n_steps):
        obs = observation(arm, sensed[delayed(t, dp)], sensed[delayed(t, dv)], target)
        if noise is not None:
            obs = torch.cat([obs[:, :14] + torch.from_numpy(noise), obs[:, 14:]], dim=-1)
        out = controller(obs.to(dtype))
        state, s_t, jac = mujoco_step(state, out.excitation, batch, eps)
        sensed[t] = s_t  # the same values, now with their path back to x_t
        sensed.append(None)  # s_{t+1}: comes with the next step
        nudged += int(jac.nudged.sum())
        noise = batch.draw_noise()
        u_all.append(out.excitation)
        hidden.append(out.hidden)
        layers.append(out.layers)
    sensed[-1] = mujoco_sense(state, batch, eps)
    hand = torch.stack([s[:, 12:14] for s in sensed])
    return Trajectory(
        hand=hand,
        excitation=torch.stack(u_all),
        hidden=torch.stack(hidden),
        target=target,
        layers=layers,
        nudged=nudged,
    )
