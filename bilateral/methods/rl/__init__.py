"""Reinforcement learning with stable-baselines3 (the ``rl`` extra): ``BilateralPolicy``,
``BilateralPPO``, and the stock PPO and SAC baselines, as ``bilateral.methods`` methods.

``config`` holds the settings (``RLConfig``) and the rule of what each method trains; the training
code (torch, stable-baselines3) is imported when first asked for.
"""

from __future__ import annotations

from bilateral.lazy import lazy_attributes
from bilateral.losses import DEFAULT_NONDOMINANT
from bilateral.methods.rl.config import RL_METHODS, RLConfig, unsupported
from bilateral.variants import DEFAULT_CELL

_LAZY = {
    "BilateralPPO": "bilateral.methods.rl.bilateral_ppo",
    "MultiObjectiveRolloutBuffer": "bilateral.methods.rl.bilateral_ppo",
    "BetaDistribution": "bilateral.methods.rl.policy",
    "BilateralPolicy": "bilateral.methods.rl.policy",
    "load_policy": "bilateral.methods.rl.training",
    "sb3_act": "bilateral.methods.rl.training",
    "train_rl": "bilateral.methods.rl.training",
}
__getattr__ = lazy_attributes(__name__, _LAZY)


class RLMethod:
    """An RL method (``ppo``, ``sac`` or ``bilateral-ppo``) as a ``bilateral.methods.Method``."""

    config_class = RLConfig
    requires = ("stable_baselines3",)  # the rl extra

    def __init__(self, name: str) -> None:
        self.name = name

    def unsupported(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> str | None:
        return unsupported(self.name, variant, cell, nondominant)

    def supports(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> bool:
        return self.unsupported(variant, cell, nondominant) is None

    def config(self, spec, budget) -> RLConfig:
        return RLConfig.make(
            {
                "method": self.name,
                "task": spec.task,
                "variant": spec.variant,
                "seed": spec.seed,
                "threads": spec.threads,
                "trial_steps": budget.trial_steps,
                **budget.rl,
            }
        )

    @staticmethod
    def train(config, directory, *, resume: bool = True, progress: bool = False) -> dict:
        from bilateral.methods.rl.training import train_rl

        return train_rl(config, directory, resume=resume, progress=progress)

    @staticmethod
    def load(path):
        from bilateral.controllers import Controller
        from bilateral.methods import Trained
        from bilateral.methods.rl.training import load_policy

        model, config, act, source = load_policy(path, describe_it=True)
        return Trained(model, config, None if isinstance(model, Controller) else act, config.method, source)


PPO, SAC, BILATERAL_PPO = (RLMethod(name) for name in RL_METHODS)

__all__ = ["BILATERAL_PPO", "PPO", "RL_METHODS", "SAC", "RLConfig", "RLMethod", *_LAZY]
