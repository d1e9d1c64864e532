"""``BilateralPPO``: PPO with one objective per hemisphere, routed like the distal teacher's losses.

The environments return every loss term in ``info["terms"]``. ``BilateralPPO`` turns each hemisphere's
loss preset (DESIGN §4: dominant for the left, non-dominant for the right) into a per-step reward
``-sum_k w_k term_k`` (the controller-only ``hidden`` term has no per-step reward and is left out),
keeps one value head and one GAE advantage per objective, and routes the policy gradients as DESIGN
§4 does: left-hemisphere weights learn from the left objective's clipped surrogate only, right from
the right's, shared weights (hemisphere weights, output layer, Beta concentration) from the mean of
the two; the critic learns from the sum of its heads' value losses. With one objective it is PPO.

Each objective's rewards are divided by a running standard deviation of its discounted return
(``scale_rewards``: SB3's ``VecNormalize(norm_reward=True)`` without its +-10 clip, per objective, as
the rewards come from ``info``, not the environment's reward): the arm's returns are O(100), and unscaled, the
critic's gradient dwarfs the actor's inside the shared gradient-norm clip (``max_grad_norm``), so the
actor barely moved until the critic had fitted (see ``docs/results/rl/``).

It subclasses SB3's ``PPO`` at its documented seams: a rollout buffer class with a reward axis per
objective, ``collect_rollouts`` (per-objective rewards from ``info``), and ``train`` (the update).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.type_aliases import RolloutBufferSamples
from stable_baselines3.common.utils import explained_variance, obs_as_tensor

from bilateral.compat import LEGACY
from bilateral.methods.rl.policy import BilateralPolicy
from bilateral.routing import route_gradients
from bilateral_envs.terms import TASK_TERMS, check_weights


class MultiObjectiveRolloutBuffer(RolloutBuffer):
    """SB3's rollout buffer with rewards, values, returns and advantages of shape (..., n_objectives)."""

    def __init__(self, *args, n_objectives: int = 2, **kwargs) -> None:
        self.n_objectives = n_objectives
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        super().reset()
        shape = (self.buffer_size, self.n_envs, self.n_objectives)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.returns = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.advantages = np.zeros(shape, dtype=np.float32)

    def add(self, obs, action, reward, episode_start, value, log_prob) -> None:
        """As SB3's, with ``reward`` (n_envs, n_objectives) and ``value`` (n_envs, n_objectives)."""
        self.observations[self.pos] = np.array(obs)
        self.actions[self.pos] = np.array(action).reshape(self.n_envs, self.action_dim)
        self.rewards[self.pos] = np.asarray(reward).reshape(self.n_envs, self.n_objectives)
        self.episode_starts[self.pos] = np.array(episode_start)
        self.values[self.pos] = value.clone().cpu().numpy().reshape(self.n_envs, self.n_objectives)
        self.log_probs[self.pos] = log_prob.clone().cpu().numpy().reshape(self.n_envs)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True

    def compute_returns_and_advantage(self, last_values: torch.Tensor, dones: np.ndarray) -> None:
        """GAE(lambda) for every objective at once (SB3's recursion with an objective axis)."""
        last_values = last_values.clone().cpu().numpy().reshape(self.n_envs, self.n_objectives)
        last_gae = np.zeros((self.n_envs, self.n_objectives), dtype=np.float32)
        for step in reversed(range(self.buffer_size)):
            if step == self.buffer_size - 1:
                non_terminal = 1.0 - dones.astype(np.float32)
                next_values = last_values
            else:
                non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.values[step + 1]
            non_terminal = non_terminal[:, None]
            delta = self.rewards[step] + self.gamma * next_values * non_terminal - self.values[step]
            last_gae = delta + self.gamma * self.gae_lambda * non_terminal * last_gae
            self.advantages[step] = last_gae
        self.returns = self.advantages + self.values

    def _get_samples(self, batch_inds, env=None) -> RolloutBufferSamples:
        data = (
            self.observations[batch_inds],
            self.actions[batch_inds].astype(np.float32, copy=False),
            self.values[batch_inds],  # (B, n_objectives)
            self.log_probs[batch_inds].flatten(),
            self.advantages[batch_inds],
            self.returns[batch_inds],
        )
        return RolloutBufferSamples(*tuple(map(self.to_torch, data)))


class BilateralPPO(PPO):
    """PPO with a ``BilateralPolicy`` and one reward weighting per hemisphere.

    Args:
        objectives: a list of one or two reward weightings, ``{term: weight}`` over
            ``bilateral_envs.terms.TASK_TERMS``: ``[left, right]`` for a specialised bilateral policy (gradients
            routed), or ``[shared]`` for any other policy (plain PPO on that reward).
        scale_rewards: divide each objective's rewards by the running standard deviation of its
            discounted return (``return_rms``), as ``VecNormalize`` does (without its +-10 clip).
        Everything else as ``stable_baselines3.PPO``; ``policy_kwargs`` as ``BilateralPolicy``.
    """

    def __init__(
        self, policy, env, objectives: list[dict[str, float]] | None = None, scale_rewards: bool = True, **kwargs
    ) -> None:
        if kwargs.get("clip_range_vf") is not None:
            raise ValueError("BilateralPPO does not clip value updates (clip_range_vf); leave it None")
        if objectives is None:
            if kwargs.get("_init_setup_model", True):
                raise ValueError("BilateralPPO needs its objectives: [left, right] or [shared] reward weightings")
            # BilateralPPO.load: SB3 restores the objectives (and, for models saved since it existed,
            # scale_rewards) next; older models take what the code did then
            self.scale_rewards = LEGACY["BilateralPPO"]["scale_rewards"]
            super().__init__(policy, env, **kwargs)
            return
        self.scale_rewards = scale_rewards
        if len(objectives) not in (1, 2):
            raise ValueError("BilateralPPO takes one objective, or two (left, right)")
        self.objectives = [check_weights(w) for w in objectives]
        policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
        policy_kwargs["n_values"] = len(objectives)
        if len(objectives) == 2 and policy_kwargs.get("structure", "bilateral") != "bilateral":
            raise ValueError("two objectives need a bilateral policy (one objective per hemisphere)")
        super().__init__(
            BilateralPolicy if policy in (None, "BilateralPolicy") else policy,
            env,
            policy_kwargs=policy_kwargs,
            rollout_buffer_class=MultiObjectiveRolloutBuffer,
            rollout_buffer_kwargs={"n_objectives": len(objectives)},
            **kwargs,
        )

    def _setup_model(self) -> None:
        """SB3's, plus the reward scale's statistics (kept when ``load`` has restored them)."""
        super()._setup_model()
        if getattr(self, "return_rms", None) is None:
            self.return_rms = RunningMeanStd(shape=(len(self.objectives),))  # of the discounted returns
        self.restart_returns()

    def restart_returns(self) -> None:
        """Each environment's discounted return so far, per objective, back to zero (new trials)."""
        self.discounted_return = np.zeros((self.n_envs, len(self.objectives)))

    def _setup_learn(
        self, total_timesteps, callback=None, reset_num_timesteps=True, tb_log_name="run", progress_bar=False
    ):
        """SB3's; when it resets the environments, their discounted returns start again too."""
        resets = reset_num_timesteps or self._last_obs is None
        out = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        if resets:
            self.restart_returns()
        return out

    def scaled(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """``rewards`` (n_envs, n_objectives) divided by each objective's return scale, once the running
        statistics have taken this step's returns in (``VecNormalize.normalize_reward``'s recursion)."""
        if not self.scale_rewards:
            return rewards
        self.discounted_return = self.discounted_return * self.gamma + rewards
        self.return_rms.update(self.discounted_return)
        self.discounted_return[dones] = 0.0
        return rewards / self.reward_divisor

    @property
    def reward_divisor(self) -> np.ndarray:
        """(n_objectives,) what ``scaled`` divides each objective's rewards by: its return's std."""
        return np.sqrt(self.return_rms.var + 1e-8)

    # -- rollouts: a reward per objective, from the environment's loss terms ----------------------
    def objective_rewards(self, infos: list[dict]) -> np.ndarray:
        """(n_envs, n_objectives) rewards ``-sum_k w_k term_k`` from each environment's ``info``."""
        terms = np.array([[info["terms"][k] for k in TASK_TERMS] for info in infos])  # (n_envs, n_terms)
        weights = np.array([[w.get(k, 0.0) for k in TASK_TERMS] for w in self.objectives])  # (n_obj, n_terms)
        return -(terms @ weights.T)

    def collect_rollouts(self, env, callback, rollout_buffer, n_rollout_steps: int) -> bool:
        """SB3's ``collect_rollouts`` with per-objective rewards and value bootstrapping at timeouts."""
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        n_steps = 0
        rollout_buffer.reset()
        callback.on_rollout_start()
        while n_steps < n_rollout_steps:
            with torch.no_grad():
                actions, values, log_probs = self.policy(obs_as_tensor(self._last_obs, self.device))
            actions = actions.cpu().numpy()
            new_obs, _, dones, infos = env.step(np.clip(actions, self.action_space.low, self.action_space.high))
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            n_steps += 1
            rewards = self.scaled(self.objective_rewards(infos), dones)
            for idx, done in enumerate(dones):  # a trial cut by its time limit is bootstrapped, as SB3 does
                if (
                    done
                    and infos[idx].get("terminal_observation") is not None
                    and infos[idx].get("TimeLimit.truncated")
                ):
                    terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                    with torch.no_grad():
                        rewards[idx] += self.gamma * self.policy.predict_values(terminal_obs)[0].cpu().numpy()
            rollout_buffer.add(self._last_obs, actions, rewards, self._last_episode_starts, values, log_probs)
            self._last_obs = new_obs
            self._last_episode_starts = dones
        with torch.no_grad():
            values = self.policy.predict_values(obs_as_tensor(new_obs, self.device))
        rollout_buffer.compute_returns_and_advantage(last_values=values, dones=dones)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    # -- the update -----------------------------------------------------------------------------
    def losses(self, rollout_data: RolloutBufferSamples, clip_range: float) -> dict[str, torch.Tensor]:
        """The losses of one minibatch: per objective, SB3's clipped-surrogate policy loss plus the
        entropy bonus (``left``/``right``, or ``policy`` with one objective); the critic's value loss
        (``value``: SB3's MSE, summed over the heads, before ``vf_coef``); and what PPO logs."""
        values, log_prob, entropy = self.policy.evaluate_actions(rollout_data.observations, rollout_data.actions)
        advantages = rollout_data.advantages
        if self.normalize_advantage and len(advantages) > 1:  # each objective's advantages on their own
            advantages = (advantages - advantages.mean(0)) / (advantages.std(0) + 1e-8)
        ratio = torch.exp(log_prob - rollout_data.old_log_prob)[:, None]
        surrogate = torch.min(advantages * ratio, advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range))
        entropy_loss = -torch.mean(entropy)
        policy_gradient = -surrogate.mean(0)  # (n_objectives,)
        policy_losses = policy_gradient + self.ent_coef * entropy_loss
        out = {
            "value": F.mse_loss(rollout_data.returns, values, reduction="none").mean(0).sum(),
            "entropy": entropy_loss,
            "policy_gradient": policy_gradient.mean(),
            "log_ratio": log_prob - rollout_data.old_log_prob,
            "clip_fraction": torch.mean((torch.abs(ratio - 1) > clip_range).float()),
        }
        if len(self.objectives) == 2:
            out["left"], out["right"] = policy_losses[0], policy_losses[1]
        else:
            out["policy"] = policy_losses[0]
        return out

    def backward(self, losses: dict[str, torch.Tensor]) -> None:
        """Gradients of a minibatch: routed by hemisphere with two objectives, plain PPO with one."""
        value = self.vf_coef * losses["value"]
        if len(self.objectives) == 2:
            route_gradients(
                self.policy.named_parameters(),
                self.policy.owner,
                {"left": losses["left"], "right": losses["right"], "critic": value},
            )
        else:
            (losses["policy"] + value).backward()

    def train(self) -> None:
        """SB3's PPO update (epochs of shuffled minibatches, clipping, KL early stop) on our losses,
        logged under SB3's names (plus ``left_loss``/``right_loss``, the Beta concentration's mean, min and
        max, and each objective's advantage spread and mean return: what a collapse shows in)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        logs: dict[str, list[float]] = {}
        continue_training = True
        for _ in range(self.n_epochs):
            approx_kl_divs = []
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                losses = self.losses(rollout_data, clip_range)
                with torch.no_grad():
                    log_ratio = losses["log_ratio"]
                    approx_kl = torch.mean((torch.exp(log_ratio) - 1) - log_ratio).item()
                approx_kl_divs.append(approx_kl)
                for key in ("left", "right", "policy_gradient", "value", "entropy", "clip_fraction"):
                    if key in losses:
                        logs.setdefault(key, []).append(losses[key].item())
                total = (
                    sum(losses[k] for k in ("left", "right", "policy") if k in losses) + self.vf_coef * losses["value"]
                )
                logs.setdefault("loss", []).append(total.item())
                if self.target_kl is not None and approx_kl > 1.5 * self.target_kl:
                    continue_training = False
                    break
                self.policy.optimizer.zero_grad()
                self.backward(losses)
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
            self._n_updates += 1
            if not continue_training:
                break
        names = {
            "left": "left_loss",
            "right": "right_loss",
            "policy_gradient": "policy_gradient_loss",
            "value": "value_loss",
            "entropy": "entropy_loss",
            "clip_fraction": "clip_fraction",
            "loss": "loss",
        }
        for key, values in logs.items():
            self.logger.record(f"train/{names[key]}", float(np.mean(values)))
        self.logger.record("train/approx_kl", float(np.mean(approx_kl_divs)))  # the last epoch's, as SB3
        explained = [
            explained_variance(
                self.rollout_buffer.values[..., k].flatten(), self.rollout_buffer.returns[..., k].flatten()
            )
            for k in range(len(self.objectives))
        ]
        self.logger.record("train/explained_variance", float(np.mean(explained)))
        kappa = self.policy.log_concentration.exp()
        self.logger.record("train/concentration", kappa.mean().item())
        self.logger.record("train/concentration_min", kappa.min().item())
        self.logger.record("train/concentration_max", kappa.max().item())
        for k in range(len(self.objectives)):  # each objective's advantage scale, before normalising
            self.logger.record(f"train/advantage_std_{k}", float(self.rollout_buffer.advantages[..., k].std()))
            self.logger.record(f"train/return_mean_{k}", float(self.rollout_buffer.returns[..., k].mean()))
            if self.scale_rewards:  # the divisor of the rewards: returns above are in its units
                self.logger.record(f"train/return_scale_{k}", float(self.reward_divisor[k]))
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
