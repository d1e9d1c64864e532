"""``BilateralPolicy``: the distal-teacher controllers as a stable-baselines3 actor-critic policy.

The actor *is* a ``bilateral.controllers`` controller (unilateral or bilateral, callosum or not, the
same modules and initialisation as the distal teacher's), so a policy trained by RL can be evaluated,
lesioned and rendered exactly like one trained through the arm. The critic is a separate tanh MLP
with one value head per objective.

Action distribution: independent **Beta** distributions on [0, 1], one per muscle, whose *mode* is
the controller's sigmoid output ``mu`` and whose concentration ``kappa`` is learned (state-independent,
like PPO's usual log-std): ``alpha = 1 + mu kappa``, ``beta = 1 + (1 - mu) kappa``. Why Beta: excitations
live in [0, 1] and mostly near 0 (a resting muscle). A Gaussian would put mass outside the range, which
clipping piles onto the bounds and hides from the log-likelihood; a tanh-squashed Gaussian maps to
[-1, 1], saturates, and needs a Jacobian correction. The Beta has exactly the excitation's support,
and its mode is the controller's output, so acting deterministically (the mode) is running the
controller itself.

Why ``1 +``: with both parameters at least 1 the density is unimodal and finite on [0, 1] whatever
``kappa`` learns (``kappa -> 0`` is the uniform distribution). The form used before,
``alpha = mu kappa`` (mean ``mu``), has ``alpha < 1`` for a resting muscle (``mu = 0.05``): the density
diverges at 0, a share of the samples underflows to 0 (1 % at ``kappa = 10``, 44 % at
``kappa = 1.5``, where they are clamped and their log-likelihood is no longer the sampler's) and the
score function is heavy-tailed. BilateralPPO's concentration drifted downward into that regime and
its policy collapsed (``docs/results/rl/``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from bilateral.controllers import Controller, build_controller
from bilateral_envs.arm import N_MUSCLES

EPS = 1e-6  # keeps actions off the boundaries, where the log-density is -inf once alpha or beta > 1
ACTION_DISTRIBUTION = "beta-mode"  # the form above, recorded in RL checkpoints (before it: the mean form)


class BetaDistribution(Distribution):
    """Independent Beta distributions over [0, 1]^n, parameterised by mode and log concentration
    (``alpha = 1 + mode kappa``, ``beta = 1 + (1 - mode) kappa``; see the module's docstring)."""

    def __init__(self, action_dim: int) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.mode_actions: torch.Tensor | None = None

    def proba_distribution_net(self, *args, **kwargs):
        raise NotImplementedError("BilateralPolicy builds the mode from its controller")

    def proba_distribution(self, mode: torch.Tensor, log_concentration: torch.Tensor) -> BetaDistribution:
        kappa = log_concentration.exp()
        self.mode_actions = mode
        self.distribution = torch.distributions.Beta(1 + mode * kappa, 1 + (1 - mode) * kappa)
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.distribution.log_prob(actions.clamp(EPS, 1 - EPS)).sum(dim=-1)

    def entropy(self) -> torch.Tensor:
        return self.distribution.entropy().sum(dim=-1)

    def sample(self) -> torch.Tensor:
        return self.distribution.sample()

    def mode(self) -> torch.Tensor:
        """The controller's own excitations (deterministic acting runs the controller)."""
        return self.mode_actions

    def actions_from_params(self, mode, log_concentration, deterministic: bool = False) -> torch.Tensor:
        self.proba_distribution(mode, log_concentration)
        return self.get_actions(deterministic=deterministic)

    def log_prob_from_params(self, mode, log_concentration):
        actions = self.actions_from_params(mode, log_concentration)
        return actions, self.log_prob(actions)


class ControllerExtractor(nn.Module):
    """SB3's ``mlp_extractor`` seam: the actor's latent is the controller's excitations (B, 6),
    the critic's is a tanh MLP of the observations."""

    def __init__(self, features_dim: int, controller: Controller, critic_arch: tuple[int, ...]) -> None:
        super().__init__()
        self.controller = controller
        layers, width = [], features_dim
        for units in critic_arch:
            layers += [nn.Linear(width, units), nn.Tanh()]
            width = units
        self.critic = nn.Sequential(*layers)
        self.latent_dim_pi = N_MUSCLES
        self.latent_dim_vf = width

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.controller(features).excitation

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.critic(features)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class BilateralPolicy(ActorCriticPolicy):
    """An ``ActorCriticPolicy`` whose actor is a unilateral or bilateral controller.

    ``policy_kwargs``: ``structure`` ("unilateral" or "bilateral"), ``width`` (hidden units in all),
    ``depth``, ``callosum`` (None, "paper" or "learned"), ``output_bias`` (initial bias of the sigmoid
    output, -3: excitations start near rest), ``init``, ``hemisphere_weights``, ``cell`` (as
    ``bilateral.controllers.build_controller``), ``critic_arch`` (hidden widths of the critic),
    ``n_values`` (value heads: one per objective; ``BilateralPPO`` uses two), ``concentration``
    (initial Beta concentration). Parameter ownership for gradient routing: ``owner``.
    """

    def __init__(
        self,
        observation_space,
        action_space,
        lr_schedule,
        structure: str = "bilateral",
        width: int = 64,
        depth: int = 2,
        callosum: str | None = None,
        output_bias: float = -3.0,
        init: str = "torch",
        hemisphere_weights: str = "softplus",
        cell: str = "dense",
        critic_arch: tuple[int, ...] = (64, 64),
        n_values: int = 1,
        concentration: float = 10.0,
        **kwargs: Any,
    ) -> None:
        if (
            action_space.shape != (N_MUSCLES,)
            or not (action_space.low == 0).all()
            or not (action_space.high == 1).all()
        ):
            raise ValueError("BilateralPolicy acts on the arm's six excitations, Box(0, 1, (6,))")
        self.controller_arguments = {  # build_controller's
            "structure": structure,
            "width": width,
            "depth": depth,
            "callosum": callosum,
            "output_bias": output_bias,
            "init": init,
            "hemisphere_weights": hemisphere_weights,
            "cell": cell,
        }
        self.critic_arch = tuple(critic_arch)
        self.n_values, self.concentration = n_values, concentration
        kwargs.setdefault("ortho_init", True)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        controller = build_controller(**self.controller_arguments)
        self.mlp_extractor = ControllerExtractor(self.features_dim, controller, self.critic_arch)

    def _build(self, lr_schedule) -> None:
        self._build_mlp_extractor()
        self.action_dist = BetaDistribution(N_MUSCLES)
        self.action_net = nn.Identity()
        self.log_concentration = nn.Parameter(torch.full((6,), math.log(self.concentration)))
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, self.n_values)
        if self.ortho_init:  # the critic as SB3 initialises it; the controller keeps its own initialisation
            for module, gain in ((self.mlp_extractor.critic, math.sqrt(2)), (self.value_net, 1.0)):
                module.apply(lambda m, gain=gain: self.init_weights(m, gain=gain))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_action_dist_from_latent(self, latent_pi: torch.Tensor) -> Distribution:
        return self.action_dist.proba_distribution(latent_pi, self.log_concentration)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            **self.controller_arguments,
            critic_arch=self.critic_arch,
            n_values=self.n_values,
            concentration=self.concentration,
        )
        return data

    @property
    def controller(self) -> Controller:
        """The actor: a ``bilateral.controllers`` controller."""
        return self.mlp_extractor.controller

    def owner(self, name: str) -> str:
        """Whose a parameter is, for routing: the controller's "left"/"right"/"shared", the Beta
        concentration "shared", the critic and value heads "critic"."""
        prefix = "mlp_extractor.controller."
        if name.startswith(prefix):
            return self.controller.owner(name[len(prefix) :])
        if name == "log_concentration":
            return "shared"
        return "critic"
