"""The distal teacher: losses on the hand backpropagated through the MuJoCo arm (DESIGN §5).

``config`` holds its settings (``TrainConfig``, ``TRAINING_PRESETS``), ``trainer`` the training loop
(``Trainer``, ``train``, ``load_controller``); ``DISTAL`` is the method as ``bilateral.methods`` knows
it. The trainer (torch, MuJoCo) is imported when first asked for, so that reading the settings stays
light.
"""

from __future__ import annotations

from pathlib import Path

from bilateral.lazy import lazy_attributes
from bilateral.losses import DEFAULT_NONDOMINANT, loss_label_overrides
from bilateral.methods.distal.config import TRAINING_PRESETS, TrainConfig
from bilateral.variants import DEFAULT_CELL

_TRAINER = ("ConfigMismatchError", "METRIC_FIELDS", "Objective", "Trainer", "learning_rate", "load_controller", "train")
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_TRAINER, "bilateral.methods.distal.trainer"))


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
        """The run's configuration: the budget's preset and settings, the spec's axes; a loss grid label
        adds its weights to the budget's ``loss_overrides``."""
        config = TrainConfig.from_preset(
            budget.preset,
            task=spec.task,
            variant=spec.variant,
            seed=spec.seed,
            threads=spec.threads,
            cell=spec.cell,
            nondominant=spec.nondominant,
            sizing=spec.sizing,
            **budget.train,
        )
        if not spec.loss:
            return config
        overrides = {k: dict(v) for k, v in config.loss_overrides.items()}
        for preset, weights in loss_label_overrides(spec.loss, config.loss_presets).items():
            overrides.setdefault(preset, {}).update(weights)
        return config.replace(loss_overrides=overrides)

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
