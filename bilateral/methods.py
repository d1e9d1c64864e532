"""Training methods a grid run can use, behind one small interface.

A method trains the run of a ``RunSpec`` into its directory (resuming if it was cut short) and
returns the trained model with the ``TrainConfig`` that describes its task and variant; ``policy``
says how the model acts on observations (``None``: it is a torch controller). The distal teacher is
always here; reinforcement-learning methods register when stable-baselines3 is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bilateral.distal import PRESETS, TrainConfig, load_model, train


class Distal:
    """The distal teacher (``bilateral.distal``): losses backpropagated through the MuJoCo arm."""

    name = "distal"

    @staticmethod
    def supports(variant: str) -> bool:
        return True

    @staticmethod
    def config(spec, budget: dict) -> TrainConfig:
        return TrainConfig.from_preset(
            budget["preset"],
            task=spec.task,
            variant=spec.variant,
            seed=spec.seed,
            threads=spec.threads,
            **budget.get("train", {}),
        )

    def train(self, spec, run_dir: Path, budget: dict):
        train(self.config(spec, budget), run_dir, resume=True, progress=False)
        model, config, _ = load_model(run_dir)
        return model, config

    @staticmethod
    def load(path):
        model, config, _ = load_model(path)
        return model, config, None

    @staticmethod
    def policy(model):
        return None


_METHODS: dict[str, object] = {"distal": Distal()}


def register(method) -> None:
    """Make ``method`` (an object with ``name``, ``supports``, ``train``, ``policy``) available to grids."""
    _METHODS[method.name] = method


def available() -> list[str]:
    _load_optional()
    return list(_METHODS)


def get(name: str):
    _load_optional()
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; available: {list(_METHODS)}") from None


def load_trained(path: str | Path):
    """``(model, config, act)`` of any trained run (its ``model.pt`` or directory), whatever the method.

    ``act`` is how the model maps observations to excitations, or None for a torch controller (which
    then also supports lesions).
    """
    from bilateral import checkpoint

    path = Path(path)
    payload = checkpoint.load(path / "model.pt" if path.is_dir() else path)
    return get(payload.get("config", {}).get("method", "distal")).load(path)


def supports(method: str, variant: str) -> bool:
    return get(method).supports(variant)


def trial_steps(budget: dict) -> int:
    """Steps per trial under ``budget`` (its override, else its preset's)."""
    return budget.get("train", {}).get("trial_steps", PRESETS[budget["preset"]]["trial_steps"])


def _load_optional() -> None:
    """Register the RL methods if stable-baselines3 (the ``rl`` extra) is installed."""
    if "ppo" not in _METHODS and importlib.util.find_spec("stable_baselines3") is not None:
        import bilateral.rl  # noqa: F401  (registers itself)
