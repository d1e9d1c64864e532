"""Reinforcement learning with stable-baselines3 (the ``rl`` extra): ``BilateralPolicy``,
``BilateralPPO``, and the stock PPO and SAC baselines, registered as grid and CLI methods."""

from bilateral.rl.bilateral_ppo import BilateralPPO, MultiObjectiveRolloutBuffer
from bilateral.rl.policy import BetaDistribution, BilateralPolicy
from bilateral.rl.training import RL_METHODS, RLConfig, load_policy, supports, train_rl


class RLMethod:
    """A grid/CLI method backed by ``train_rl`` (see ``bilateral.methods``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def supports(self, variant: str) -> bool:
        return supports(self.name, variant)

    def config(self, spec, budget: dict) -> RLConfig:
        from bilateral.methods import trial_steps

        return RLConfig(
            method=self.name,
            task=spec.task,
            variant=spec.variant,
            seed=spec.seed,
            threads=spec.threads,
            trial_steps=trial_steps(budget),
            **budget.get("rl", {}),
        ).validated()

    def train(self, spec, run_dir, budget: dict):
        train_rl(self.config(spec, budget), run_dir, progress=False)
        model, config, _ = load_policy(run_dir)
        return model, config

    @staticmethod
    def load(path):
        return load_policy(path)

    @staticmethod
    def policy(model):
        """How the loaded model acts: a controller runs itself (None); an SB3 policy predicts."""
        from bilateral.controllers import Controller
        from bilateral.rl.training import sb3_act

        return None if isinstance(model, Controller) else sb3_act(model)


def _register() -> None:
    from bilateral import methods

    for name in RL_METHODS:
        methods.register(RLMethod(name))


_register()

__all__ = [
    "RL_METHODS",
    "BetaDistribution",
    "BilateralPPO",
    "BilateralPolicy",
    "MultiObjectiveRolloutBuffer",
    "RLConfig",
    "load_policy",
    "supports",
    "train_rl",
]
