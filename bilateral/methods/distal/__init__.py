"""The distal teacher: losses on the hand backpropagated through the MuJoCo arm (DESIGN §5).

``config`` holds its settings (``TrainConfig``, ``TRAINING_PRESETS``), ``trainer`` the training loop
(``Trainer``, ``train``, ``load_controller``); ``DISTAL`` is the method as ``bilateral.methods`` knows
it. The trainer (torch, MuJoCo) is imported when first asked for, so that reading the settings stays
light.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from bilateral.losses import DEFAULT_NONDOMINANT
from bilateral.methods.distal.config import TRAINING_PRESETS, TrainConfig
from bilateral.variants import DEFAULT_CELL

_TRAINER = ("ConfigMismatchError", "METRIC_FIELDS", "Objective", "Trainer", "learning_rate", "load_controller", "train")


def __getattr__(name: str):
    if name in _TRAINER:
        return getattr(importlib.import_module("bilateral.methods.distal.trainer"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Distal:
    """The distal teacher as a ``bilateral.methods.Method``: it trains every variant, cell and loss."""

    name = "distal"
    config_class = TrainConfig

    @staticmethod
    def unsupported(variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> str | None:
        return None

    def supports(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> bool:
        return self.unsupported(variant, cell, nondominant) is None

    @staticmethod
    def config(spec, budget) -> TrainConfig:
        return TrainConfig.from_preset(
            budget.preset,
            task=spec.task,
            variant=spec.variant,
            seed=spec.seed,
            threads=spec.threads,
            cell=spec.cell,
            nondominant=spec.nondominant,
            **budget.train,
        )

    @staticmethod
    def train(config: TrainConfig, directory: str | Path, *, resume: bool = True, progress: bool = False) -> dict:
        from bilateral.methods.distal.trainer import train

        return train(config, directory, resume=resume, progress=progress)

    @staticmethod
    def load(path: str | Path):
        from bilateral.methods import Trained
        from bilateral.methods.distal.trainer import load_controller

        model, config, _ = load_controller(path)
        return Trained(model, config, None, "distal")


DISTAL = Distal()

__all__ = ["DISTAL", "TRAINING_PRESETS", "Distal", "TrainConfig", *_TRAINER]
