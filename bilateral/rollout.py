"""Running a controller on a batch of trials without gradients (validation, evaluation, notebooks).

Training through the arm runs trials too, with MuJoCo's Jacobians kept: ``bilateral.differentiable``.
Both return a ``Trajectory``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

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
    fallback: int = 0  # differentiable runs: trial-steps whose activation columns were finite differences

    @property
    def hidden(self) -> torch.Tensor:
        """All hidden layers side by side, (T, N, units)."""
        return torch.cat(list(self.layers.values()), dim=-1)


def layer_activity(steps: list[dict[str, list[torch.Tensor]]]) -> dict[str, torch.Tensor]:
    """Per-step ``ControllerOutput.layers`` stacked over time, named ``"{stack}.{k}"``."""
    return {
        f"{stack}.{k}": torch.stack([s[stack][k] for s in steps])
        for stack in steps[0]
        for k in range(len(steps[0][stack]))
    }


def run_trials(controller, arms: ArmBatch, trials: Trials, rng: np.random.Generator | None = None) -> Trajectory:
    """Run ``controller`` on ``trials`` (one per arm of ``arms``) without autograd."""
    dtype = next(controller.parameters()).dtype
    steps = []

    def act(obs: np.ndarray) -> np.ndarray:
        out = controller(torch.from_numpy(obs).to(dtype), steps[-1] if steps and controller.recurrent else None)
        steps.append(out.layers)
        return out.excitation.numpy()

    with torch.no_grad():
        hand, excitation = run_policy(act, arms, trials, rng)
    return Trajectory(
        hand=torch.from_numpy(hand),
        excitation=torch.from_numpy(excitation),
        target=torch.from_numpy(trials.target),
        layers=layer_activity(steps),
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
    excitation = np.empty((trials.n_steps, arms.n, 6))
    hand[0] = arms.hand
    for t in range(trials.n_steps):
        obs = arms.step(act(obs))
        hand[t + 1] = arms.hand
        excitation[t] = arms.excitation
    return hand, excitation
