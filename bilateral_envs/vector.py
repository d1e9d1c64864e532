"""Native vector environments: N arms of one task stepped in one call on an ``ArmBatch``.

``gymnasium.make_vec("bilateral/RandomReach-v1", num_envs=N)`` returns an ``ArmVectorEnv`` (the ids'
``vector_entry_point``): one ``step`` steps all N arms, computes their rewards as arrays, and returns
what N single environments (``RandomReachEnv``, ``HoldPositionEnv``) stepped side by side would return —
the same observations, rewards and trials, environment i seeded with ``seed + i`` as Gymnasium's own
vector environments seed theirs (each environment draws its own trials; none repeats another's).

Autoreset follows Gymnasium 1.x's convention, declared in ``metadata["autoreset_mode"]`` and chosen
with ``autoreset_mode``: ``NEXT_STEP`` (the default: the step after an episode ends resets that
environment, ignoring its action, with reward 0), ``SAME_STEP`` (the ending step returns the new
trial's first observation, the last one in ``info["final_obs"]``) or ``DISABLED`` (the caller resets
with ``reset(options={"reset_mask": ...})``). Trials never terminate; they are truncated after
``max_episode_steps``.

``ArmVecEnv`` is the same batch as a stable-baselines3 ``VecEnv`` (terminal observations in
``infos[i]["terminal_observation"]``), which the project's PPO, SAC and BilateralPPO train on.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.batch import N_OBS, ArmBatch
from bilateral_envs.gym_env import DEFAULT_TRIAL_STEPS
from bilateral_envs.tasks import DT, HoldPosition, RandomReach, Task, Trials
from bilateral_envs.terms import NON_SPECIALISED, TASK_TERMS, compute_terms, reward_weights, weighted_sum

RESET_OPTIONS = ("start_qpos", "target", "load", "pushes", "reset_mask")


class ArmVectorEnv(VectorEnv):
    """``num_envs`` arms of ``task`` as one Gymnasium vector environment (see the module docstring).

    Arguments as the single environments' (reward weights, sensory noise and delays, ``trial_steps``),
    plus ``num_envs``,
    ``autoreset_mode`` (an ``AutoresetMode`` or its value) and ``threads`` (MuJoCo threads stepping the
    batch). ``render_mode="rgb_array"`` renders every environment (a list of frames).
    """

    metadata: ClassVar[dict] = {
        "render_modes": ["rgb_array"],
        "render_fps": round(1 / DT),
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        task: Task,
        num_envs: int = 1,
        *,
        position_l1_weight: float = NON_SPECIALISED["position_l1"],
        position_mse10_weight: float = NON_SPECIALISED["position_mse10"],
        excitation_weight: float = NON_SPECIALISED["excitation"],
        hand_speed_weight: float = 0.0,
        hand_acceleration_weight: float = 0.0,
        proprioception_noise: float = 0.0,
        vision_noise: float = 0.0,
        proprioception_delay: int = 0,
        vision_delay: int = 0,
        trial_steps: int | None = None,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        width: int = 640,
        height: int = 480,
        threads: int = 1,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.task, self.num_envs = task, num_envs
        # trials end after trial_steps when it is given, else after max_episode_steps (which make_vec always
        # passes, as registered); a single environment ends at its TimeLimit's max_episode_steps, so give
        # it the same value to compare the two
        self.trial_steps = trial_steps or max_episode_steps or DEFAULT_TRIAL_STEPS
        self.weights = reward_weights(
            position_l1_weight, position_mse10_weight, excitation_weight, hand_speed_weight, hand_acceleration_weight
        )
        self.batch = ArmBatch(
            task,
            num_envs,
            proprioception_delay=proprioception_delay,
            vision_delay=vision_delay,
            proprioception_noise=proprioception_noise,
            vision_noise=vision_noise,
            threads=threads,
        )
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(N_OBS,), dtype=np.float32)
        self.single_action_space = spaces.Box(0.0, 1.0, shape=(N_MUSCLES,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode, self.width, self.height = render_mode, width, height
        # environment i's own generator of trials and noise, as a single environment's np_random (unseeded
        # until a reset is given a seed)
        self.generators = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._ended = np.zeros(num_envs, dtype=bool)  # episodes over, not yet reset
        self._observation = np.zeros((num_envs, N_OBS), dtype=np.float32)
        self._renderer = None

    # -- trials ---------------------------------------------------------------------------------
    def _seed(self, seed, envs: np.ndarray) -> None:
        """Seed environments ``envs`` (environment i with ``seed + i``, or its own of a list), in place:
        the batch draws its noise from these same generators."""
        if seed is None:
            return
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int | np.integer) else list(seed)
        if len(seeds) != self.num_envs or any(s is None for s in seeds):
            raise ValueError(f"give one seed (an int) or {self.num_envs} ints, one per environment; got {seed!r}")
        for i in envs:
            self.generators[i] = seeding.np_random(int(seeds[i]))[0]

    def _draw(self, envs: np.ndarray, options: dict) -> Trials:
        """New trials for environments ``envs``, each from its own generator, with ``options`` fixing parts."""
        parts = [self.task.draw(self.generators[i], 1, self.trial_steps) for i in envs]
        fixed = {k: v for k, v in options.items() if k != "reset_mask"}
        if fixed:
            parts = [self.task.override(p, **fixed) for p in parts]
        fields = [p.to_dict() for p in parts]
        return Trials(**{name: np.concatenate([f[name] for f in fields]) for name in fields[0]})

    def reset(self, *, seed=None, options: dict | None = None):
        """Start new trials: on every environment, or on those ``options["reset_mask"]`` marks (a bool
        array). ``seed``: an int (environment i gets ``seed + i``) or one per environment. Other options
        fix parts of the trials as a single environment's ``reset`` does."""
        options = dict(options or {})
        unknown = set(options) - set(RESET_OPTIONS)
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; the options are {list(RESET_OPTIONS)}")
        mask = options.get("reset_mask")
        if mask is None or self.batch.trials is None:
            envs = np.arange(self.num_envs)
            self._seed(seed, envs)
            observation = self.batch.reset(self._draw(envs, options), self.generators)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_ or not mask.any():
                raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},) marking some env")
            envs = np.flatnonzero(mask)
            self._seed(seed, envs)  # as Gymnasium's own vector envs: only the environments reset
            observation = self.batch.reset_arms(envs, self._draw(envs, options))
        self._observation[envs] = observation
        self._ended[envs] = False
        return self._observation.copy(), self._info(envs)

    # -- stepping -------------------------------------------------------------------------------
    def step(self, actions):
        """Step every environment (see the module docstring for what the autoreset mode does)."""
        if self.batch.trials is None:
            raise RuntimeError("step() before reset(): call reset() to start the trials first")
        n = self.num_envs
        rewards = np.zeros(n)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        restarting = np.flatnonzero(self._ended) if self.autoreset_mode == AutoresetMode.NEXT_STEP else []
        if self.autoreset_mode == AutoresetMode.DISABLED and self._ended.any():
            raise RuntimeError(
                f"environments {np.flatnonzero(self._ended).tolist()} ended their trials: with autoreset disabled, "
                "reset them (reset(options={'reset_mask': ...})) before stepping"
            )
        if len(restarting):
            self._observation[restarting] = self.batch.reset_arms(restarting, self._draw(restarting, {}))
            self._ended[restarting] = False
        stepping = np.setdiff1d(np.arange(n), restarting)
        terms = {name: np.zeros(n) for name in TASK_TERMS}
        if len(stepping):
            batch = self.batch
            full = len(stepping) == n
            observation = batch.step(actions, arms=None if full else stepping)
            self._observation[stepping] = observation
            hand = batch.hand[stepping]
            values = compute_terms(
                hand,
                batch.trials.target[stepping],
                batch.excitation[stepping],
                batch.hand_before(1)[stepping],
                batch.hand_before(2)[stepping],
            )
            for name, value in values.items():
                terms[name][stepping] = value
            rewards[stepping] = -weighted_sum(values, self.weights)
            truncated[stepping] = batch.steps[stepping] >= self.trial_steps
        ended = np.flatnonzero(truncated | terminated)
        self._ended[ended] = True
        final = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP and len(ended):
            last = np.zeros((n, N_OBS), dtype=np.float32)
            last[ended] = self._observation[ended]
            final = {"final_obs": last, "_final_obs": self._mask(ended)}
            final["final_info"], final["_final_info"] = self._info(ended, terms=terms), self._mask(ended)
            self._observation[ended] = self.batch.reset_arms(ended, self._draw(ended, {}))
            self._ended[ended] = False
            for value in terms.values():
                value[ended] = 0.0  # what follows is the new trial's start
        return (
            self._observation.copy(),
            rewards,
            terminated,
            truncated,
            {**self._info(np.arange(n), terms=terms), **final},
        )

    def _mask(self, envs) -> np.ndarray:
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[envs] = True
        return mask

    def _info(self, envs, *, terms: dict | None = None) -> dict[str, Any]:
        """Gymnasium's vector info: arrays over the environments with a ``_key`` mask of those it
        covers (``envs``); the trial's parts (``push``: acting during the step just taken, or the first
        step's after a reset) and each reward term (zero after a reset)."""
        batch, n = self.batch, self.num_envs
        mask = self._mask(envs)
        trials = batch.trials
        push = batch.applied_force - trials.load
        qpos = batch.qpos
        info = {
            "hand": batch.hand.copy(),
            "target": trials.target.copy(),
            "load": trials.load.copy(),
            "push": push,
            "qpos": qpos,
            "terms": {name: np.zeros(n) for name in TASK_TERMS}
            if terms is None
            else {k: v.copy() for k, v in terms.items()},
        }
        out: dict[str, Any] = {}
        for key, value in info.items():
            if isinstance(value, dict):
                out[key] = {**value, **{f"_{k}": mask.copy() for k in value}}
            else:
                out[key] = value
            out[f"_{key}"] = mask.copy()
        return out

    # -- rendering and closing ----------------------------------------------------------------
    def render(self):
        """Every environment's frame (a list of (H, W, 3) arrays), with ``render_mode="rgb_array"``."""
        if self.render_mode is None:
            return None
        from bilateral_envs.rendering import ArmRenderer

        if self._renderer is None:
            self._renderer = ArmRenderer(self.batch.model, self.width, self.height)
        frames = []
        for i, data in enumerate(self.batch.data):
            load = None if self.batch.trials is None else self.batch.trials.load[i]
            push = None if load is None else self.batch.applied_force[i] - load
            frames.append(self._renderer.render(data, load=load, push=push, trail=[]))
        return frames

    def close_extras(self, **kwargs) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.batch.close()


class RandomReachVectorEnv(ArmVectorEnv):
    """``RandomReachEnv``'s task on ``num_envs`` arms (``gymnasium.make_vec("bilateral/RandomReach-v1")``)."""

    def __init__(self, num_envs: int = 1, **kwargs) -> None:
        super().__init__(RandomReach(), num_envs, **kwargs)


class HoldPositionVectorEnv(ArmVectorEnv):
    """``HoldPositionEnv``'s task on ``num_envs`` arms (``gymnasium.make_vec("bilateral/HoldPosition-v1")``);
    the load and push arguments are ``HoldPositionEnv``'s."""

    def __init__(
        self,
        num_envs: int = 1,
        *,
        endpoint_load_bounds: tuple[float, float] = (-10.0, 10.0),
        push_magnitude: float = 0.0,
        push_duration: float = 0.05,
        push_rate: float = 0.0,
        **kwargs,
    ) -> None:
        task = HoldPosition(
            endpoint_load_bounds=tuple(endpoint_load_bounds),
            push_magnitude=push_magnitude,
            push_duration=push_duration,
            push_rate=push_rate,
        )
        super().__init__(task, num_envs, **kwargs)
