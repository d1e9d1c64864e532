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
``best.pt`` (the best one's, with the steps and the score it was kept at) and ``summary.json``;
``bilateral.report.figures.rl_training_figure`` draws its curves from these logs.
``load_policy`` of a run directory loads the best.

Every ``checkpoint_every`` steps, between two rollouts (after an update, before the next collection),
``checkpoint.pt`` records what continuing needs: the policy's weights, its optimisers' states, the
step and update counters, the random generators' states, the validation so far, BilateralPPO's
reward-scale statistics and its action distribution's form, and for SAC its replay buffer
(``replay.npz``, written first). A run cut short resumes from it (``resume``): the
environments start new trials, so at most the rollout under way is lost, and the run ends at the
same number of steps. Without a checkpoint it starts again.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

import bilateral_envs
from bilateral import checkpoint
from bilateral.controllers import controller_arguments
from bilateral.io import atomic_path, write_json, write_text
from bilateral.losses import LOSS_PRESETS
from bilateral.methods.rl.config import RLConfig
from bilateral.variants import get_variant
from bilateral_envs.terms import TASK_TERMS

VALIDATION_STREAM = 3  # the validation trials' stream of the run's seed (the distal teacher's too)


def objectives(variant: str) -> list[dict[str, float]]:
    """Per-step reward weightings of a variant's loss preset(s), without the ``hidden`` term."""
    return [
        {k: w for k, w in LOSS_PRESETS[preset].items() if k in TASK_TERMS} for preset in get_variant(variant).losses
    ]


def make_env(config: RLConfig, n_envs: int | None = None):
    """The task's arms as one SB3 vector environment (``bilateral_envs.sb3.ArmVecEnv``: every arm stepped
    in one call), rewarding the variant's (first) objective, with episode statistics (``VecMonitor``),
    seeded from the run's seed (environment i with seed + i)."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecMonitor

    from bilateral_envs.sb3 import ArmVecEnv

    reward = objectives(config.variant)[0]
    vector = gym.make_vec(
        bilateral_envs.ENV_IDS[config.task],
        num_envs=n_envs or config.n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode="SameStep",  # SB3's convention
        trial_steps=config.trial_steps,
        proprioception_delay=config.proprioception_delay,
        vision_delay=config.vision_delay,
        proprioception_noise=config.proprioception_noise,
        vision_noise=config.vision_noise,
        threads=1,
        **{f"{term}_weight": reward.get(term, 0.0) for term in TASK_TERMS},
    )
    env = VecMonitor(ArmVecEnv(vector))
    env.seed(config.seed)
    return env


def build_algorithm(config: RLConfig, env, tensorboard_log: str | None = None):
    """The SB3 algorithm object of ``config`` (untrained) on ``env``."""
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.utils import LinearSchedule

    from bilateral.methods.rl.bilateral_ppo import BilateralPPO

    common = {
        "seed": config.seed,
        "learning_rate": (
            LinearSchedule(config.learning_rate, 0.0, 1.0) if config.lr_schedule == "linear" else config.learning_rate
        ),
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
        "target_kl": config.target_kl,
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
    policy_kwargs = {**controller_arguments(config), "critic_arch": (64, 64)}
    return BilateralPPO(
        "BilateralPolicy",
        env,
        objectives=objectives(config.variant),
        scale_rewards=config.scale_rewards,
        policy_kwargs=policy_kwargs,
        **ppo,
        **common,
    )


class _Progress:
    """An SB3 callback: a tqdm bar over environment steps, and an optional ``every(steps, model)`` hook."""

    def __new__(cls, total: int, enabled: bool, every=None, every_steps: int = 0):
        from stable_baselines3.common.callbacks import BaseCallback
        from tqdm.auto import tqdm

        class Progress(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=total, disable=not enabled, unit="step", leave=False)
                self.next_hook = (self.num_timesteps // every_steps + 1) * every_steps if every_steps else 0

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
    from bilateral_envs.tasks import make_task

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

    def __new__(cls, config: RLConfig, out: Path, state: dict | None = None):
        from stable_baselines3.common.callbacks import BaseCallback

        trials = validation_trials(config)

        class Validation(BaseCallback):
            def __init__(self) -> None:  # where a resumed run's validation was: its rows, best, next step
                super().__init__()
                self.rows = [tuple(row) for row in (state or {}).get("rows", [])]
                self.best = tuple(state["best"]) if state and state.get("best") else None
                self.next_at = (state or {}).get("next_at", config.eval_every)
                if state and (out / "best.pt").exists():  # kept after the checkpoint, before the run was cut
                    kept = checkpoint.load(out / "best.pt")
                    if self.best is None or kept["validation_m"] < self.best[1]:
                        self.best = (kept["steps"], kept["validation_m"])

            def state(self) -> dict:
                return {
                    "rows": [list(row) for row in self.rows],
                    "best": self.best and list(self.best),
                    "next_at": self.next_at,
                }

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


def _optimisers(algorithm) -> dict:
    """The optimisers an algorithm steps, by name (SAC has three)."""
    policy = algorithm.policy
    if hasattr(policy, "actor") and hasattr(policy, "critic"):  # SAC
        found = {"actor": policy.actor.optimizer, "critic": policy.critic.optimizer}
        if getattr(algorithm, "ent_coef_optimizer", None) is not None:
            found["ent_coef"] = algorithm.ent_coef_optimizer
        return found
    return {"policy": policy.optimizer}


REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _reward_scale(algorithm) -> dict | None:
    """BilateralPPO's running return statistics (``scale_rewards``), as tensors for ``checkpoint.pt``
    (not the environments' returns so far: a resumed run starts its trials afresh)."""
    rms = getattr(algorithm, "return_rms", None)
    if rms is None:
        return None
    return {
        "mean": torch.from_numpy(rms.mean.copy()),
        "var": torch.from_numpy(rms.var.copy()),
        "count": float(rms.count),
    }


def save_state(out: Path, config: RLConfig, algorithm, validation) -> None:
    """Write ``checkpoint.pt`` (and SAC's ``replay.npz`` before it): what ``restore_state`` needs."""
    from bilateral.methods.rl.policy import ACTION_DISTRIBUTION

    buffer = getattr(algorithm, "replay_buffer", None)
    if buffer is not None:
        with atomic_path(out / "replay.npz") as tmp, tmp.open("wb") as f:
            np.savez(f, pos=buffer.pos, full=buffer.full, **{k: getattr(buffer, k) for k in REPLAY_ARRAYS})
    numpy_state = np.random.get_state()  # noqa: NPY002 (SB3 draws its minibatches from NumPy's global generator)
    state = {
        "method": config.method,
        "config": asdict(config),
        "steps": int(algorithm.num_timesteps),
        "updates": int(algorithm._n_updates),
        "episodes": int(algorithm._episode_num),
        "policy": algorithm.policy.state_dict(),
        "optimisers": {name: opt.state_dict() for name, opt in _optimisers(algorithm).items()},
        "log_ent_coef": getattr(algorithm, "log_ent_coef", None),
        "reward_scale": _reward_scale(algorithm),
        "action_distribution": ACTION_DISTRIBUTION if config.method == "bilateral-ppo" else None,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
            "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
            "envs": [generator.bit_generator.state for generator in algorithm.env.unwrapped.generators],
        },
        "validation": validation.state(),
    }
    checkpoint.save(out / "checkpoint.pt", state)


def restore_state(out: Path, algorithm, state: dict) -> None:
    """Put a fresh algorithm (built from the run's config) where ``checkpoint.pt`` left the run."""
    algorithm.policy.load_state_dict(state["policy"])
    for name, optimiser in _optimisers(algorithm).items():
        optimiser.load_state_dict(state["optimisers"][name])
    if state.get("log_ent_coef") is not None:
        with torch.no_grad():
            algorithm.log_ent_coef.copy_(state["log_ent_coef"])
    if state.get("reward_scale") is not None:
        scale = state["reward_scale"]
        algorithm.return_rms.mean, algorithm.return_rms.var = scale["mean"].numpy(), scale["var"].numpy()
        algorithm.return_rms.count = scale["count"]
    algorithm.num_timesteps, algorithm._n_updates, algorithm._episode_num = (
        state["steps"],
        state["updates"],
        state["episodes"],
    )
    buffer = getattr(algorithm, "replay_buffer", None)
    if buffer is not None:
        with np.load(out / "replay.npz") as saved:
            for name in REPLAY_ARRAYS:
                getattr(buffer, name)[...] = saved[name]
            buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    kind, keys, *rest = rng["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))  # noqa: NPY002 (as save_state says)
    random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
    for generator, state in zip(algorithm.env.unwrapped.generators, rng["envs"], strict=True):
        generator.bit_generator.state = state


class _Checkpoints:
    """An SB3 callback: ``save_state`` every ``config.checkpoint_every`` steps, between rollouts."""

    def __new__(cls, config: RLConfig, out: Path, validation):
        from stable_baselines3.common.callbacks import BaseCallback

        class Checkpoints(BaseCallback):
            def _on_training_start(self) -> None:
                self.next_at = (self.num_timesteps // config.checkpoint_every + 1) * config.checkpoint_every

            def _on_rollout_start(self) -> None:  # the last rollout's update is done, the next not begun
                if self.num_timesteps >= self.next_at:
                    self.next_at = (self.num_timesteps // config.checkpoint_every + 1) * config.checkpoint_every
                    save_state(out, config, self.model, validation)

            def _on_step(self) -> bool:
                return True

        return Checkpoints()


def _resumable_state(out: Path, config: RLConfig) -> dict | None:
    """The checkpoint a run in ``out`` can continue from, if it has one of this configuration."""
    from bilateral.methods.rl.policy import ACTION_DISTRIBUTION

    if not (out / "checkpoint.pt").exists():
        return None
    state = checkpoint.load(out / "checkpoint.pt")
    if config.method == "bilateral-ppo" and state.get("action_distribution") != ACTION_DISTRIBUTION:
        raise checkpoint.RunStateError(
            f"{out} holds an unfinished bilateral-ppo run from before its Beta distribution changed form "
            f"(now {ACTION_DISTRIBUTION}); it cannot continue under another policy: use another --out"
        )
    changed = config.changed_from(state["config"])
    if changed:
        raise checkpoint.RunStateError(
            f"{out} holds an unfinished run of another configuration ({', '.join(changed)} differ); "
            "use another --out, or the same settings to resume it"
        )
    return state


def train_rl(
    config: RLConfig,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    every=None,
    every_steps: int = 0,
) -> dict:
    """Train ``config`` into ``out``; a finished run is not redone, an unfinished one resumes from its
    checkpoint when ``resume`` (else, or without one, it starts again).

    ``every(steps, model)`` is called every ``every_steps`` environment steps (return False to stop).
    """
    from stable_baselines3.common.logger import configure

    config = config.validated()
    out = Path(out)
    if (out / "summary.json").exists() and (out / "model.pt").exists():
        summary = json.loads((out / "summary.json").read_text())
        if summary.get("finished"):
            return summary
    state = None
    if out.exists() and any(out.iterdir()):
        previous = out / "config.json"
        try:
            ours = json.loads(previous.read_text()).get("method") == config.method
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ValueError(f"{out} is not empty and holds no unfinished {config.method} run; use another --out")
        if not resume and (out / "checkpoint.pt").exists():
            raise ValueError(f"{out} holds an unfinished run: continue it with --resume, or use another --out")
        state = _resumable_state(out, config)
        if state is None:
            shutil.rmtree(out)  # nothing to resume from: start it again
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", asdict(config))
    torch.set_num_threads(1)  # small MLPs and in-process environments: one thread is fastest
    env = make_env(config)
    model = build_algorithm(config, env)
    done = 0
    if state is not None:
        restore_state(out, model, state)
        done = state["steps"]
    if done and (out / "progress.csv").exists():  # SB3's CSV logger starts its file afresh: keep the old part
        (out / "progress.csv").rename(out / f"progress.to-{done}.csv")
    model.set_logger(configure(str(out), ["csv", "tensorboard"]))
    start = time.perf_counter()
    validation = _Validation(config, out, state["validation"] if state else None)
    model.learn(
        total_timesteps=config.total_steps - done,
        callback=[
            _Progress(config.total_steps, progress, every, every_steps),
            validation,
            _Checkpoints(config, out, validation),
        ],
        reset_num_timesteps=state is None,
    )
    seconds = time.perf_counter() - start  # validations included; this session's only
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
        "steps_per_second": round((model.num_timesteps - done) / max(seconds, 1e-9), 1),
        "resumed_at_steps": done or None,
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
