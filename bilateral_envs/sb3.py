"""The arms as a stable-baselines3 ``VecEnv`` (the ``rl`` extra): ``ArmVecEnv`` over an
``ArmVectorEnv``, so that SB3's algorithms step every arm in one call.

SB3's convention: an environment whose trial ends is reset in the same step, its last observation in
``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` true (trials end by
truncation), which PPO bootstraps from and SAC stores as the next observation. Per-environment seeds
(``seed``) and reset options (``set_options``) apply at the next ``reset`` as SB3 does them.
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv

from bilateral_envs.vector import ArmVectorEnv


class ArmVecEnv(VecEnv):
    """``vector`` (an ``ArmVectorEnv`` in ``SAME_STEP`` autoreset mode) as an SB3 ``VecEnv``."""

    def __init__(self, vector: ArmVectorEnv) -> None:
        if vector.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError("ArmVecEnv needs an ArmVectorEnv with autoreset_mode=SAME_STEP (SB3's convention)")
        self.vector = vector
        self._actions: np.ndarray | None = None
        super().__init__(vector.num_envs, vector.single_observation_space, vector.single_action_space)

    @property
    def generators(self) -> list[np.random.Generator]:
        """Each environment's generator (trials and noise), for a run's checkpoint."""
        return self.vector.generators

    def reset(self) -> np.ndarray:
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        options = self._options[0] if self._options and self._options[0] else None
        if any(o != self._options[0] for o in self._options):
            raise ValueError("ArmVecEnv takes the same reset options for every environment")
        observation, info = self.vector.reset(seed=seeds, options=options)
        self.reset_infos = _per_env(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return observation

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        observation, rewards, terminated, truncated, info = self.vector.step(self._actions)
        infos = _per_env(info, self.num_envs)
        for i in np.flatnonzero(terminated | truncated):
            infos[i] = {
                **_per_env(info["final_info"], self.num_envs)[i],
                "terminal_observation": info["final_obs"][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
            }
        return observation, rewards.astype(np.float32), terminated | truncated, infos

    def close(self) -> None:
        self.vector.close()

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self.vector, attr_name, None)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self.vector, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        raise AttributeError(f"ArmVecEnv's environments are one batch: they have no method {method_name!r} each")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def get_images(self):
        return self.vector.render() or []


def _per_env(info: dict, n: int) -> list[dict]:
    """Gymnasium's vector info (arrays with ``_key`` masks) as SB3's list of one dict per environment."""
    out = [{} for _ in range(n)]
    for key, value in info.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = info.get(f"_{key}", np.ones(n, dtype=bool))
        nested = _per_env(value, n) if isinstance(value, dict) else None
        for i in np.flatnonzero(mask):
            out[i][key] = nested[i] if nested is not None else value[i]
    return out
