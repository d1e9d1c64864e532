"""The reinforcement-learning methods' configuration (``RLConfig``) and the one rule of what they train.

Imports neither torch nor stable-baselines3: the command line builds its options from these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bilateral.losses import DEFAULT_NONDOMINANT
from bilateral.senses import Senses
from bilateral.settings import check_choice, setting
from bilateral.variants import CALLOSUM_KINDS, DEFAULT_CELL, DEFAULT_SIZING, UNILATERAL, VARIANTS, get_variant
from bilateral_envs.tasks import TASK_NAMES

RL_METHODS = ("ppo", "sac", "bilateral-ppo")
RL_LR_SCHEDULES = ("constant", "linear")


def unsupported(
    method: str, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT
) -> str | None:
    """Why RL ``method`` cannot train ``variant`` with ``cell`` hemispheres and non-dominant loss
    ``nondominant`` (None: it can). The one statement of the rule: SB3's policies are not recurrent,
    the rewards are the paper's losses, and stock PPO and SAC train one network (unilateral variants)."""
    get_variant(variant)
    if cell != DEFAULT_CELL:
        return (
            f"{method} trains dense (feedforward) controllers only, SB3's policies are not recurrent; "
            f"{cell} hemispheres are trained with the distal teacher"
        )
    if nondominant != DEFAULT_NONDOMINANT:
        return f"{method}'s rewards are the paper's losses; the {nondominant} non-dominant loss is the distal teacher's"
    if method != "bilateral-ppo" and variant not in UNILATERAL:
        return (
            f"{method} trains the unilateral variants ({', '.join(UNILATERAL)}), not {variant!r}; "
            "bilateral-ppo trains all seven"
        )
    return None


@dataclass(frozen=True)
class RLConfig(Senses):
    """Everything a reinforcement-learning run needs (``config.json`` and ``model.pt`` carry it)."""

    method: str = setting(
        "bilateral-ppo", "ppo, sac (stable-baselines3, MlpPolicy) or bilateral-ppo", choices=RL_METHODS
    )
    task: str = setting("reach", "task: reach or hold", choices=TASK_NAMES)
    variant: str = setting("bi-spec", "controller variant (ppo and sac: unilateral ones)", choices=tuple(VARIANTS))
    seed: int = setting(0, "seed of the initial weights, the environments and the exploration")
    total_steps: int = setting(200_000, "environment steps, all environments together")
    n_envs: int = setting(8, "in-process vector environments")
    trial_steps: int = setting(50, "steps per trial, 10 ms each")
    learning_rate: float = setting(3e-4, "the optimiser's learning rate (the start of a linear schedule)")
    lr_schedule: str = setting(
        "constant", "learning rate over training: constant, or linear down to 0 at total_steps", choices=RL_LR_SCHEDULES
    )
    gamma: float = setting(0.99, "discount factor")
    n_steps: int = setting(256, "PPO: steps per environment between updates")
    batch_size: int = setting(256, "PPO: minibatch size")
    n_epochs: int = setting(10, "PPO: epochs over each rollout")
    gae_lambda: float = setting(0.95, "PPO: GAE lambda")
    clip_range: float = setting(0.2, "PPO: clipping of the probability ratio")
    ent_coef: float = setting(0.0, "PPO: entropy bonus")
    max_grad_norm: float = setting(0.5, "PPO: gradient-norm clip")
    target_kl: float | None = setting(
        None, "PPO: stop an update's epochs once the approximate KL exceeds 1.5 x this (none: never)"
    )
    scale_rewards: bool = setting(
        True, "bilateral-ppo: divide each objective's rewards by the running std of its discounted return"
    )
    buffer_size: int = setting(300_000, "SAC: replay buffer size")
    learning_starts: int = setting(1_000, "SAC: steps before learning starts")
    sac_batch_size: int = setting(256, "SAC: minibatch size")
    width: int = setting(64, "hidden units per layer (MlpPolicy; the controller of bilateral-ppo)")
    depth: int = setting(2, "hidden layers")
    callosum_kind: str = setting("paper", "callosum of the -cc variants", choices=CALLOSUM_KINDS)
    output_bias: float = setting(-3.0, "initial bias of the controller's sigmoid output")
    threads: int = setting(1, "threads stepping MuJoCo in evaluation batches", resumable=True)
    eval_every: int = setting(
        25_000, "environment steps between validations (the best model so far is kept as best.pt)"
    )
    eval_trials: int = setting(64, "trials of the fixed validation set (drawn from the seed, apart from the test set)")
    checkpoint_every: int = setting(
        50_000, "environment steps between resumable checkpoints (taken between rollouts)", resumable=True
    )

    # what every RL run is where the distal teacher has a setting: SB3's policies are not recurrent, the
    # rewards are the paper's losses, and the controllers start as PyTorch initialises them
    cell: ClassVar[str] = DEFAULT_CELL
    sizing: ClassVar[str] = DEFAULT_SIZING
    nondominant: ClassVar[str] = DEFAULT_NONDOMINANT
    init: ClassVar[str] = "torch"
    hemisphere_weights: ClassVar[str] = "softplus"

    def validated(self) -> RLConfig:
        super().validated()
        check_choice("method", self.method, RL_METHODS)
        check_choice("task", self.task, TASK_NAMES)
        check_choice("callosum_kind", self.callosum_kind, CALLOSUM_KINDS)
        check_choice("lr_schedule", self.lr_schedule, RL_LR_SCHEDULES)
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"target_kl must be > 0 (or none), got {self.target_kl}")
        if self.target_kl is not None and self.method == "sac":
            raise ValueError("target_kl is a PPO setting; sac has no policy-update epochs to stop")
        if not isinstance(self.scale_rewards, bool):
            raise ValueError(f"scale_rewards must be true or false, got {self.scale_rewards!r}")
        reason = unsupported(self.method, self.variant)
        if reason:
            raise ValueError(reason)
        for name in (
            "total_steps",
            "n_envs",
            "trial_steps",
            "n_steps",
            "batch_size",
            "n_epochs",
            "width",
            "depth",
            "eval_every",
            "eval_trials",
            "checkpoint_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        return self
