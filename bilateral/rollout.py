"""Running a controller on a batch of trials without gradients (validation, evaluation, notebooks).

Training through the arm runs trials too, with MuJoCo's Jacobians kept: ``bilateral.differentiable``.
Both return a ``Trajectory``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.batch import ArmBatch
from bilateral_envs.tasks import Trials


@dataclass
class Trajectory:
    """A batch of trials as run: hand positions (T+1, N, 2) m of states x_0..x_T, excitations
    (T, N, 6), targets (N, 2) m, and the activity of each hidden layer, ``layers[name]`` (T, N, width)
    with names ``"{stack}.{k}"`` (``left.0``, ``right.1``, ``unilateral.0``: stack and layer)."""

    hand: torch.Tensor
    excitation: torch.Tensor
    target: torch.Tensor
    layers: dict[str, torch.Tensor] = field(default_factory=dict)
    fallback: int = 0  # differentiable runs: trial-steps with a joint limit's constraint active (differenced)
    nudged: int = 0  # ... of which differenced beside the limit (their state within eps of it)


def layer_activity(steps: list[dict[str, list[torch.Tensor]]]) -> dict[str, torch.Tensor]:
    """Per-step ``ControllerOutput.layers`` stacked over time, named ``"{stack}.{k}"``."""
    return {
        f"{stack}.{k}": torch.stack([s[stack][k] for s in steps])
        for stack in steps[0]
        for k in range(len(steps[0][stack]))
    }


class ControllerPolicy:
    """``act(observations (N, 16)) -> excitations (N, 6)`` of a torch controller, without gradients: the
    one place a controller is stepped outside training. It carries a recurrent controller's state from
    step to step (``reset()`` starts new trials) and, with ``record``, keeps each step's layer activity
    (``steps``)."""

    def __init__(self, model, record: bool = False) -> None:
        self.model, self.dtype, self.record = model, next(model.parameters()).dtype, record
        self.state = None
        self.steps: list[dict[str, list[torch.Tensor]]] = []

    def reset(self) -> None:
        self.state, self.steps = None, []

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.model(torch.from_numpy(obs).to(self.dtype), self.state)
        if self.model.recurrent:
            self.state = out.layers
        if self.record:
            self.steps.append(out.layers)
        return out.excitation.numpy()


def run_trials(controller, arms: ArmBatch, trials: Trials, rng: np.random.Generator | None = None) -> Trajectory:
    """Run ``controller`` on ``trials`` (one per arm of ``arms``) without autograd, keeping its layers'
    activity."""
    policy = ControllerPolicy(controller, record=True)
    hand, excitation = run_policy(policy, arms, trials, rng)
    return Trajectory(
        hand=torch.from_numpy(hand),
        excitation=torch.from_numpy(excitation),
        target=torch.from_numpy(trials.target),
        layers=layer_activity(policy.steps),
    )


def run_policy(act, arms: ArmBatch, trials: Trials, rng: np.random.Generator | None = None):
    """Run any policy ``act(observations (N, 16)) -> excitations (N, 6)`` on ``trials`` (a policy with
    memory has a ``reset()``, called first).

    Returns hand positions (T+1, N, 2) m of states x_0..x_T and the excitations applied (T, N, 6),
    clipped to [0, 1] as the arm applies them.
    """
    if hasattr(act, "reset"):
        act.reset()
    obs = arms.reset(trials, rng)
    hand = np.empty((trials.n_steps + 1, arms.n, 2))
    excitation = np.empty((trials.n_steps, arms.n, N_MUSCLES))
    hand[0] = arms.hand
    for t in range(trials.n_steps):
        obs = arms.step(act(obs))
        hand[t + 1] = arms.hand
        excitation[t] = arms.excitation
    return hand, excitation
