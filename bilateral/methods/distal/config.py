"""The distal teacher's configuration (``TrainConfig``) and its training presets.

``TrainConfig()`` is the authors' public example (the ``paper`` preset); ``TRAINING_PRESETS`` holds
the named departures from it. Imports neither torch nor MuJoCo: the command line builds its options
from these fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bilateral.losses import DEFAULT_NONDOMINANT, NONDOMINANT_LOSSES, loss_weights, run_presets
from bilateral.senses import Senses
from bilateral.settings import check_choice, setting
from bilateral.variants import (
    CALLOSUM_KINDS,
    CELLS,
    DEFAULT_CELL,
    DEFAULT_SIZING,
    HEMISPHERE_WEIGHTS,
    INITIALISATIONS,
    SIZINGS,
    VARIANTS,
    get_variant,
)
from bilateral_envs.tasks import TASK_NAMES

LR_SCHEDULES = ("constant", "cosine")
GRAD_CLIP_MODES = ("global", "per-tensor")
VALIDATION_LOSSES = ("variant", "non-specialised")


@dataclass(frozen=True)
class TrainConfig(Senses):
    """Everything a distal-teacher run needs (``config.json``, and inside its checkpoints).

    The defaults are the authors' public example (the ``paper`` preset); ``TRAINING_PRESETS`` holds
    the named departures from it. ``bilateral.methods.distal.trainer`` says how the example differs from what
    this trainer did before.
    """

    task: str = setting(
        "reach", "task: reach (random reach) or hold (hold position against a load)", choices=TASK_NAMES
    )
    variant: str = setting("bi", "controller variant (DESIGN §1)", choices=tuple(VARIANTS))
    seed: int = setting(0, "seed of the initial weights and of every trial")
    preset: str = setting("paper", "the training preset the values came from (a label)")
    width: int = setting(10, "hidden units per layer in all (a bilateral model splits them in two)")
    depth: int = setting(2, "hidden layers")
    cell: str = setting(
        DEFAULT_CELL, "hemisphere layers: dense (feedforward, the paper) or gru (recurrent)", choices=CELLS
    )
    sizing: str = setting(
        DEFAULT_SIZING,
        "a unilateral controller's size: units (as many hidden units as the bilateral model of --width, the "
        "paper) or parameters (as many parameters, within 5 %)",
        choices=SIZINGS,
    )
    nondominant: str = setting(
        DEFAULT_NONDOMINANT,
        "the non-dominant hemisphere's loss: paper (5 mse10 + 2 excitation) or impedance (penalises hand motion)",
        choices=tuple(NONDOMINANT_LOSSES),
    )
    callosum_kind: str = setting(
        "paper", "callosum of the -cc variants: paper (parameter-free) or learned", choices=CALLOSUM_KINDS
    )
    output_bias: float = setting(-3.0, "initial bias of the sigmoid output: excitations start near 0.05")
    init: str = setting(
        "glorot", "weights: torch (PyTorch's default) or glorot (Keras's, zero biases)", choices=INITIALISATIONS
    )
    hemisphere_weights: str = setting(
        "clamp", "w_L, w_R kept >= 0 by a softplus, or clamped after each update", choices=HEMISPHERE_WEIGHTS
    )
    learning_rate: float = setting(1e-3, "Adam's learning rate")
    lr_schedule: str = setting("constant", "constant, or cosine down to 10 % at the last batch", choices=LR_SCHEDULES)
    grad_clip: float = setting(1.0, "maximum gradient norm")
    grad_clip_mode: str = setting(
        "per-tensor", "clip each gradient tensor on its own (Keras clipnorm) or all together", choices=GRAD_CLIP_MODES
    )
    batch_size: int = setting(64, "trials per batch")
    training_trials: int | None = setting(
        6400, "a fixed set of this many trials, reshuffled each epoch; null: fresh trials every batch"
    )
    batches_per_epoch: int = setting(100, "batches between validations")
    epochs: int = setting(10, "epochs (total_batches overrides)")
    total_batches: int | None = setting(None, "total batches, overriding epochs x batches_per_epoch")
    patience: int = setting(3, "epochs without a better validation loss before stopping")
    validation_trials: int = setting(64, "trials of the fixed validation set")
    validation_loss: str = setting(
        "non-specialised",
        "the loss early stopping watches: the variant's own, or the non-specialised one",
        choices=VALIDATION_LOSSES,
    )
    trial_steps: int = setting(50, "steps per trial, 10 ms each")
    loss_overrides: dict = setting({}, 'term weights replacing a loss preset\'s, {"dominant": {"hidden": 0.0}}')
    threads: int = setting(2, "threads stepping MuJoCo (results do not depend on them)", resumable=True)
    checkpoint_every: int = setting(20, "batches between checkpoints (and at every epoch's end)", resumable=True)
    fd_eps: float = setting(1e-6, "finite-difference step of MuJoCo's Jacobians (qpos rad)")

    def validated(self) -> TrainConfig:
        super().validated()
        check_choice("task", self.task, TASK_NAMES)
        variant = get_variant(self.variant)
        for name in (
            "cell",
            "sizing",
            "nondominant",
            "callosum_kind",
            "init",
            "hemisphere_weights",
            "lr_schedule",
            "grad_clip_mode",
            "validation_loss",
        ):
            spec = next(f for f in dataclasses.fields(self) if f.name == name)
            check_choice(name, getattr(self, name), spec.metadata["choices"])
        if variant.structure == "bilateral" and self.width % 2:
            raise ValueError(f"a bilateral model needs an even width, got {self.width}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        positive = ("width", "depth", "batch_size", "batches_per_epoch", "epochs", "patience", "validation_trials")
        for name in (*positive, "trial_steps", "checkpoint_every", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.total_batches is not None and self.total_batches < 1:
            raise ValueError(f"total_batches must be >= 1, got {self.total_batches}")
        if self.training_trials is not None and self.training_trials < self.batch_size:
            raise ValueError(f"training_trials must be null or at least batch_size, got {self.training_trials}")
        for name in ("learning_rate", "grad_clip", "fd_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for preset, overrides in self.loss_overrides.items():
            loss_weights(preset, overrides)
        return self

    @property
    def n_batches(self) -> int:
        return self.total_batches if self.total_batches is not None else self.epochs * self.batches_per_epoch

    @property
    def loss_presets(self) -> tuple[str, ...]:
        """The loss preset(s) this run trains with: the variant's, its non-dominant one as chosen."""
        return run_presets(get_variant(self.variant).losses, self.nondominant)

    @classmethod
    def preset_values(cls, preset: str) -> dict[str, Any]:
        """Every field's value under training preset ``preset`` (its departures from the defaults)."""
        try:
            departures = TRAINING_PRESETS[preset]
        except KeyError:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(TRAINING_PRESETS)}") from None
        return {**cls().to_dict(), **departures, "preset": preset}

    @classmethod
    def from_preset(cls, preset: str = "paper", **overrides) -> TrainConfig:
        """The configuration of training preset ``preset`` with ``overrides``."""
        values = dict(TRAINING_PRESETS[preset]) if preset in TRAINING_PRESETS else cls.preset_values(preset)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        return cls.make({"preset": preset, **values, **overrides})


# Training presets: departures from TrainConfig's defaults (the authors' example).
TRAINING_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # ours: a wider network trained to competence (reach <= 2 cm, hold <= 1 cm) fast on 2 cores. Found
    # with benchmarks/competence.py (README): batches of 32 fresh trials at Adam 1e-2 with a cosine
    # schedule over 1200 batches reach both aims in 500-725 batches; batches of 64 at 3e-3 (what
    # this preset was) needed 900 (reach) and 1450 (hold), batches of 16 were less steady on hold.
    "strong": {
        "width": 64,
        "init": "torch",
        "hemisphere_weights": "softplus",
        "learning_rate": 1e-2,
        "lr_schedule": "cosine",
        "grad_clip_mode": "global",
        "batch_size": 32,
        "training_trials": None,
        "total_batches": 1200,
        "patience": 6,
        "validation_trials": 128,
        "validation_loss": "variant",
    },
}
