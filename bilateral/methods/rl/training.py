"""Training controllers with reinforcement learning (stable-baselines3) into a run directory.

Methods:

- ``ppo``: SB3's stock PPO with ``MlpPolicy`` (Gaussian actions clipped to [0, 1]) on the
  environment's reward — the baseline a user would otherwise pick;
- ``sac``: SB3's stock SAC with ``MlpPolicy`` (tanh-squashed actions rescaled to [0, 1]);
- ``bilateral-ppo``: ``BilateralPPO`` with ``BilateralPolicy``, the distal teacher's own controllers,
  one objective per hemisphere for specialised bilateral variants.

The reward of a variant is its loss preset (DESIGN §4) as a per-step reward, ``-sum_k w_k term_k``
over the terms an environment computes (the controller's ``hidden`` term has no per-step form):
stock PPO and SAC train the unilateral variants (uni, uni-dom, uni-nondom); ``bilateral-ppo`` trains
all seven. Every ``eval_every`` environment steps, and at the end, the policy acting
deterministically is scored on a fixed validation set (``eval_trials`` trials drawn from the run's
seed, apart from the test set) by the task's headline metric; the best policy so far is kept. A run
directory holds ``config.json``, SB3's ``progress.csv`` and TensorBoard logs, ``validation.csv``,
``model.pt`` (the last policy's weights and the config, read with ``torch.load(weights_only=True)``),
``best.pt`` (the best one's, with the steps and the score it was kept at) and ``summary.json``.
``load_policy`` of a run directory loads the best. An interrupted RL run starts again from scratch.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

import envs
from bilateral import checkpoint
from bilateral.config import LOSS_PRESETS, VARIANTS, RLConfig, get_variant
from bilateral.io import write_json, write_text
from envs.terms import TASK_TERMS

VALIDATION_STREAM = 3  # the validation trials' stream of the run's seed (the distal teacher's too)


def supports(method: str, variant: str) -> bool:
    """Stock PPO/SAC train unilateral variants (their MlpPolicy is one network); bilateral-ppo, all."""
    return method == "bilateral-ppo" or VARIANTS[variant].structure == "unilateral"


def objectives(variant: str) -> list[dict[str, float]]:
    """Per-step reward weightings of a variant's loss preset(s), without the ``hidden`` term."""
    return [
        {k: w for k, w in LOSS_PRESETS[preset].items() if k in TASK_TERMS} for preset in get_variant(variant).losses
    ]


def make_env(config: RLConfig, n_envs: int | None = None):
    """In-process vector environments of the task, rewarding the variant's (first) objective."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    reward = objectives(config.variant)[0]
    kwargs = {
        "max_episode_steps": config.trial_steps,
        "trial_steps": config.trial_steps,
        "proprioception_delay": config.proprioception_delay,
        "vision_delay": config.vision_delay,
        "proprioception_noise": config.proprioception_noise,
        "vision_noise": config.vision_noise,
        **{f"{term}_weight": reward.get(term, 0.0) for term in TASK_TERMS},
    }
    return make_vec_env(
        envs.ENV_IDS[config.task],
        n_envs=n_envs or config.n_envs,
        seed=config.seed,
        vec_env_cls=DummyVecEnv,
        env_kwargs=kwargs,
    )


def build_algorithm(config: RLConfig, env, tensorboard_log: str | None = None):
    """The SB3 algorithm object of ``config`` (untrained) on ``env``."""
    from stable_baselines3 import PPO, SAC

    from bilateral.methods.rl.bilateral_ppo import BilateralPPO

    common = {
        "seed": config.seed,
        "learning_rate": config.learning_rate,
        "gamma": config.gamma,
        "verbose": 0,
        "tensorboard_log": tensorboard_log,
        "device": "cpu",
    }
    ppo = {
        "n_steps": config.n_steps,
        "batch_size": config.batch_size,
        "n_epochs": config.n_epochs,
        "gae_lambda": config.gae_lambda,
        "clip_range": config.clip_range,
        "ent_coef": config.ent_coef,
        "max_grad_norm": config.max_grad_norm,
    }
    mlp = {"net_arch": [config.width] * config.depth}
    if config.method == "ppo":
        return PPO(
            "MlpPolicy",
            env,
            policy_kwargs={"net_arch": {"pi": mlp["net_arch"], "vf": mlp["net_arch"]}},
            **ppo,
            **common,
        )
    if config.method == "sac":
        return SAC(
            "MlpPolicy",
            env,
            policy_kwargs=mlp,
            buffer_size=config.buffer_size,
            learning_starts=config.learning_starts,
            batch_size=config.sac_batch_size,
            **common,
        )
    variant = get_variant(config.variant)
    policy_kwargs = {
        "structure": variant.structure,
        "width": config.width,
        "depth": config.depth,
        "callosum": config.callosum_kind if variant.callosum else None,
        "output_bias": config.output_bias,
        "critic_arch": (64, 64),
    }
    return BilateralPPO(
        "BilateralPolicy", env, objectives=objectives(config.variant), policy_kwargs=policy_kwargs, **ppo, **common
    )


class _Progress:
    """An SB3 callback: a tqdm bar over environment steps, and an optional ``every(steps, model)`` hook."""

    def __new__(cls, total: int, enabled: bool, every=None, every_steps: int = 0):
        from stable_baselines3.common.callbacks import BaseCallback
        from tqdm.auto import tqdm

        class Progress(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=total, disable=not enabled, unit="step", leave=False)
                self.next_hook = every_steps

            def _on_step(self) -> bool:
                self.bar.update(self.num_timesteps - self.bar.n)
                if every is not None and every_steps and self.num_timesteps >= self.next_hook:
                    self.next_hook += every_steps
                    return every(self.num_timesteps, self.model) is not False
                return True

            def _on_training_end(self) -> None:
                self.bar.close()

        return Progress()


def validation_trials(config: RLConfig):
    """The fixed validation trials of a run: ``eval_trials`` drawn from its seed."""
    from envs.tasks import make_task

    rng = np.random.default_rng([config.seed, VALIDATION_STREAM])
    return make_task(config.task).draw(rng, config.eval_trials, config.trial_steps)


def score(policy, config: RLConfig, trials) -> float:
    """The task's headline metric (m) of ``policy`` acting deterministically on ``trials``."""
    from bilateral.evaluation import HEADLINE, evaluate

    if config.method == "bilateral-ppo":
        model, act = policy.controller, None
    else:
        model, act = policy, sb3_act(policy)
    table = evaluate(model, config, trials, lesions=[None], act=act, method=config.method).table
    return float(table[HEADLINE[config.task]].mean())


class _Validation:
    """An SB3 callback: every ``config.eval_every`` steps (and at the end) the policy is scored on the
    validation trials (``validation.csv``) and, when it is the best so far, saved as ``best.pt``."""

    def __new__(cls, config: RLConfig, out: Path):
        from stable_baselines3.common.callbacks import BaseCallback

        trials = validation_trials(config)

        class Validation(BaseCallback):
            def _on_training_start(self) -> None:
                self.rows, self.best, self.next_at = [], None, config.eval_every

            def _on_step(self) -> bool:
                if self.num_timesteps >= self.next_at:
                    self.next_at += config.eval_every
                    self.validate()
                return True

            def _on_training_end(self) -> None:
                if not self.rows or self.rows[-1][0] != self.num_timesteps:
                    self.validate()

            def validate(self) -> None:
                value = score(self.model.policy, config, trials)
                self.rows.append((self.num_timesteps, value))
                self.logger.record("validation/headline_m", value)
                write_text(out / "validation.csv", "steps,headline_m\n" + "".join(f"{n},{v}\n" for n, v in self.rows))
                if self.best is None or value < self.best[1]:
                    self.best = (self.num_timesteps, value)
                    save_policy(
                        out / "best.pt", config, self.model.policy, steps=self.num_timesteps, validation_m=value
                    )

        return Validation()


def train_rl(config: RLConfig, out: str | Path, *, progress: bool = True, every=None, every_steps: int = 0) -> dict:
    """Train ``config`` into ``out``; a finished run is not redone, an unfinished one starts again.

    ``every(steps, model)`` is called every ``every_steps`` environment steps (return False to stop).
    """
    from stable_baselines3.common.logger import configure

    config = config.validated()
    out = Path(out)
    if (out / "summary.json").exists() and (out / "model.pt").exists():
        summary = json.loads((out / "summary.json").read_text())
        if summary.get("finished"):
            return summary
    if out.exists() and any(out.iterdir()):
        previous = out / "config.json"
        try:
            ours = json.loads(previous.read_text()).get("method") == config.method
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ValueError(f"{out} is not empty and holds no unfinished {config.method} run; use another --out")
        shutil.rmtree(out)  # an interrupted RL run has nothing to resume from: start it again
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", asdict(config))
    torch.set_num_threads(1)  # small MLPs and in-process environments: one thread is fastest
    env = make_env(config)
    model = build_algorithm(config, env)
    model.set_logger(configure(str(out), ["csv", "tensorboard"]))
    start = time.perf_counter()
    validation = _Validation(config, out)
    model.learn(
        total_timesteps=config.total_steps,
        callback=[_Progress(config.total_steps, progress, every, every_steps), validation],
    )
    seconds = time.perf_counter() - start  # validations included
    env.close()
    save_policy(out / "model.pt", config, model.policy, steps=int(model.num_timesteps))
    summary = {
        "method": config.method,
        "task": config.task,
        "variant": config.variant,
        "seed": config.seed,
        "steps": int(model.num_timesteps),
        "finished": True,
        "training_seconds": round(seconds, 2),
        "steps_per_second": round(model.num_timesteps / max(seconds, 1e-9), 1),
        "best_steps": validation.best[0],
        "best_validation_m": validation.best[1],
        "last_validation_m": validation.rows[-1][1],
    }
    write_json(out / "summary.json", summary)
    return summary


def save_policy(path: Path, config: RLConfig, policy, **about) -> None:
    """Write a policy's weights and its run's config (and ``about`` it: steps, validation score)."""
    payload = {"method": config.method, "config": asdict(config), "policy": policy.state_dict(), **about}
    checkpoint.save(path, payload)


def describe(path: Path, payload: dict) -> str:
    """Which model a checkpoint holds, in words, for the outputs that use it."""
    steps = f" at {payload['steps']:,} steps" if "steps" in payload else ""
    if "validation_m" in payload:
        return f"{path.name}: the best on validation ({payload['validation_m'] * 100:.2f} cm{steps})"
    return f"{path.name}: the last{steps}"


def load_policy(path: str | Path, *, describe_it: bool = False):
    """``(model, config, act)`` of a saved RL run: for ``bilateral-ppo`` the model is its controller
    (deterministic acting = the controller's output) and ``act`` is None; for stock PPO and SAC the
    model is the SB3 policy and ``act`` its deterministic ``predict``. A run directory gives its best
    model (``best.pt``) when it has one, else its last (``model.pt``); ``describe_it`` adds a fourth
    item saying which."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt" if (path / "best.pt").exists() else path / "model.pt"
    payload = checkpoint.load(path)
    config = RLConfig.from_dict(payload["config"])
    env = make_env(config, n_envs=1)
    # only the policy is wanted: no replay buffer for SAC (the weights do not depend on its size)
    algorithm = build_algorithm(dataclasses.replace(config, buffer_size=1, learning_starts=0), env)
    env.close()
    policy = algorithm.policy
    policy.load_state_dict(payload["policy"])
    policy.set_training_mode(False)
    if config.method == "bilateral-ppo":
        controller = policy.controller
        controller.eval()
        loaded = (controller, config, None)
    else:
        loaded = (policy, config, sb3_act(policy))
    return (*loaded, describe(path, payload)) if describe_it else loaded


def sb3_act(policy):
    """``act(observations (N, 16)) -> excitations (N, 6)``: an SB3 policy's deterministic actions."""

    def act(obs: np.ndarray) -> np.ndarray:
        actions, _ = policy.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        return actions

    return act
