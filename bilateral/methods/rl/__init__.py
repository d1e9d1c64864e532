"""Reinforcement learning with stable-baselines3 (the ``rl`` extra): ``BilateralPolicy``,
``BilateralPPO``, and the stock PPO and SAC baselines, as ``bilateral.methods`` methods."""

from bilateral.config import DEFAULT_CELL, DEFAULT_NONDOMINANT
from bilateral.methods.rl.bilateral_ppo import BilateralPPO, MultiObjectiveRolloutBuffer
from bilateral.methods.rl.policy import BetaDistribution, BilateralPolicy
from bilateral.methods.rl.training import load_policy, sb3_act, supports, train_rl


class RLMethod:
    """An RL method (``ppo``, ``sac`` or ``bilateral-ppo``) as a ``bilateral.methods.Method``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def supports(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> bool:
        """The variants ``supports`` names, with the paper's dense cells and losses: SB3's policies are
        not recurrent, and the rewards are the paper's losses."""
        return cell == DEFAULT_CELL and nondominant == DEFAULT_NONDOMINANT and supports(self.name, variant)

    def config(self, spec, budget):
        from bilateral.config import RLConfig

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
        return train_rl(config, directory, resume=resume, progress=progress)

    @staticmethod
    def load(path):
        from bilateral.controllers import Controller
        from bilateral.methods import Trained

        model, config, act, source = load_policy(path, describe_it=True)
        return Trained(model, config, None if isinstance(model, Controller) else act, config.method, source)


PPO, SAC, BILATERAL_PPO = RLMethod("ppo"), RLMethod("sac"), RLMethod("bilateral-ppo")

__all__ = [
    "BILATERAL_PPO",
    "PPO",
    "SAC",
    "BetaDistribution",
    "BilateralPPO",
    "BilateralPolicy",
    "MultiObjectiveRolloutBuffer",
    "RLMethod",
    "load_policy",
    "sb3_act",
    "supports",
    "train_rl",
]
