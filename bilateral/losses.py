"""The paper's losses (DESIGN §4): per-term functions, the three presets, and a whole trial's loss.

The position and excitation terms are the tasks' own (``envs.terms``, shared with the
environments' rewards); the ``hidden`` term belongs to the controllers and is defined here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from envs.tasks import DT
from envs.terms import TERMS as TASK_TERMS
from envs.terms import excitation, position_l1, position_mse10, weighted_sum

TERMS = (*TASK_TERMS, "hidden")

# DESIGN §4 (the authors' example): weights of each term in each preset
PRESETS: dict[str, dict[str, float]] = {
    "non-specialised": {"excitation": 1.0, "position_l1": 2.5, "position_mse10": 2.5, "hidden": 0.01},
    "dominant": {"position_l1": 5.0, "hidden": 0.02},
    "non-dominant": {"position_mse10": 5.0, "excitation": 2.0},
}


def hidden_activity(h: torch.Tensor, dt: float = DT) -> torch.Tensor:
    """``mean(h^2) + 0.05 mean((dh/dt)^2)`` of hidden activity ``h`` (T, B, units), tanh units, dt in s.

    Penalises strong and fast-changing hidden activity; the derivative is taken over steps of ``dt``.
    """
    rate = (h[1:] - h[:-1]) / dt
    return (h * h).mean() + 0.05 * (rate * rate).mean()


def loss_weights(preset: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """A preset's term weights, with optional overrides (``{"hidden": 0.0}``, ...)."""
    try:
        weights = dict(PRESETS[preset])
    except KeyError:
        raise ValueError(f"unknown loss preset {preset!r}; choose one of {sorted(PRESETS)}") from None
    for name, value in (overrides or {}).items():
        if name not in TERMS:
            raise ValueError(f"unknown loss term {name!r}; the terms are {list(TERMS)}")
        weights[name] = float(value)
    return weights


@dataclass
class TrialTerms:
    """Every term of a batch of trials, each averaged over trials and steps (0-d tensors)."""

    position_l1: torch.Tensor
    position_mse10: torch.Tensor
    excitation: torch.Tensor
    hidden: torch.Tensor

    @classmethod
    def compute(cls, hand: torch.Tensor, target: torch.Tensor, u: torch.Tensor, hidden: torch.Tensor) -> TrialTerms:
        """From hand positions (T, B, 2) m after each step, targets (B, 2) m, excitations (T, B, 6)
        and hidden activity (T, B, units)."""
        return cls(
            position_l1=position_l1(hand, target).mean(),
            position_mse10=position_mse10(hand, target).mean(),
            excitation=excitation(u).mean(),
            hidden=hidden_activity(hidden),
        )

    def weighted(self, weights: dict[str, float]) -> torch.Tensor:
        """``sum(weights[k] * term_k)``, a 0-d tensor."""
        return self.position_l1.new_zeros(()) + weighted_sum(vars(self), weights)

    def as_floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in TERMS}
