"""The distal-teacher trainer: losses on the hand backpropagated through the MuJoCo arm (DESIGN §5).

One run trains one variant on one task from one seed. Everything random is derived from the seed
and the batch number, so a run killed at any point and resumed from its last checkpoint (written
atomically) ends with exactly the weights an uninterrupted run would have.

A run directory holds::

    config.json     the run's configuration (TrainConfig)
    metrics.csv     one row per training batch (losses, terms, hemisphere weights, gradient norm),
                    plus validation rows at the end of each epoch
    tensorboard/    the same, for TensorBoard
    checkpoint.pt   the latest training state (for --resume)
    model.pt        the best model on the validation set, with its config (for evaluate/render)
    summary.json    how the run ended
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from bilateral import checkpoint
from bilateral.controllers import CALLOSUM_KINDS, Bilateral, Controller, build_controller
from bilateral.io import atomic_path, remove_stale_temporaries, write_json
from bilateral.losses import TERMS, TrialTerms, loss_weights
from bilateral.rollout import run_trials
from bilateral.routing import routed_backward
from bilateral.variants import get_variant
from envs.batch import ArmBatch
from envs.tasks import Task, make_task

# Hyper-parameter presets. ``paper`` is the authors' example (DESIGN §5); ``strong`` is ours: a wider
# network trained longer, which fits in 15 minutes on a 2-core machine.
PRESETS: dict[str, dict] = {
    "paper": {
        "width": 10,
        "depth": 2,
        "learning_rate": 1e-3,
        "grad_clip": 1.0,
        "batch_size": 64,
        "batches_per_epoch": 100,
        "epochs": 10,
        "patience": 3,
        "validation_trials": 64,
        "trial_steps": 50,
    },
    "strong": {
        "width": 64,
        "depth": 2,
        "learning_rate": 3e-3,
        "grad_clip": 1.0,
        "batch_size": 64,
        "batches_per_epoch": 100,
        "epochs": 40,
        "patience": 6,
        "validation_trials": 128,
        "trial_steps": 50,
    },
}


@dataclass
class TrainConfig:
    """Everything a training run needs (serialised to ``config.json`` and into checkpoints)."""

    task: str = "reach"  # "reach" or "hold"
    variant: str = "bi"  # one of bilateral.variants.VARIANTS
    seed: int = 0
    preset: str = "paper"  # the hyper-parameter preset the values below came from
    width: int = 10  # hidden units per layer in all (a bilateral model splits them in two)
    depth: int = 2  # hidden layers
    callosum_kind: str = "paper"  # for variants with a callosum: "paper" or "learned"
    output_bias: float = -3.0  # initial bias of the sigmoid output: excitations start near 0.05
    learning_rate: float = 1e-3  # Adam
    lr_schedule: str = "constant"  # or "cosine": from learning_rate down to 10 % of it at the last batch
    grad_clip: float = 1.0  # maximum gradient norm
    batch_size: int = 64  # trials per batch, freshly drawn for every batch
    batches_per_epoch: int = 100
    epochs: int = 10
    total_batches: int | None = None  # overrides epochs * batches_per_epoch
    patience: int = 3  # epochs without a better validation loss before stopping
    validation_trials: int = 64
    trial_steps: int = 50  # 10 ms each
    proprioception_noise: float = 0.0
    vision_noise: float = 0.0
    loss_overrides: dict = field(default_factory=dict)  # {"dominant": {"hidden": 0.0}, ...}
    threads: int = 2  # threads stepping MuJoCo
    checkpoint_every: int = 20  # batches between checkpoints (and always at the end of an epoch)
    fd_eps: float = 1e-6  # finite-difference step of MuJoCo's Jacobians

    @classmethod
    def from_preset(cls, preset: str = "paper", **overrides) -> TrainConfig:
        try:
            values = dict(PRESETS[preset])
        except KeyError:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}") from None
        values.update(overrides)
        return cls(preset=preset, **values).validated()

    def validated(self) -> TrainConfig:
        make_task(self.task)
        variant = get_variant(self.variant)
        if self.callosum_kind not in CALLOSUM_KINDS:
            raise ValueError(f"callosum_kind must be one of {CALLOSUM_KINDS}, got {self.callosum_kind!r}")
        if variant.structure == "bilateral" and self.width % 2:
            raise ValueError(f"a bilateral model needs an even width, got {self.width}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        positive = (
            "width",
            "depth",
            "batch_size",
            "batches_per_epoch",
            "epochs",
            "patience",
            "validation_trials",
            "trial_steps",
            "checkpoint_every",
            "threads",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.total_batches is not None and self.total_batches < 1:
            raise ValueError(f"total_batches must be >= 1, got {self.total_batches}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not self.learning_rate > 0 or not self.grad_clip > 0 or not self.fd_eps > 0:
            raise ValueError("learning_rate, grad_clip and fd_eps must be > 0")
        for preset, overrides in self.loss_overrides.items():
            loss_weights(preset, overrides)
        return self

    @property
    def n_batches(self) -> int:
        return self.total_batches if self.total_batches is not None else self.epochs * self.batches_per_epoch

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        return cls(**values).validated()


LR_SCHEDULES = ("constant", "cosine")


def learning_rate(config: TrainConfig, batch: int) -> float:
    """The learning rate at ``batch`` (a function of the batch number only, so resuming needs no state)."""
    if config.lr_schedule == "cosine":
        progress = min(batch / max(config.n_batches - 1, 1), 1.0)
        return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
    return config.learning_rate


# settings that do not change what a run computes, so a run may resume with other values
RESUMABLE_CHANGES = ("threads", "checkpoint_every")


class ConfigMismatchError(ValueError):
    """A run directory holds a run with another configuration."""


def build_model(config: TrainConfig) -> Controller:
    """The controller of ``config``'s variant, initialised from ``config.seed``."""
    variant = get_variant(config.variant)
    with torch.random.fork_rng():  # seed the initialisation without touching the caller's generator
        torch.manual_seed(config.seed)
        return build_controller(
            variant.structure,
            config.width,
            config.depth,
            callosum=config.callosum_kind if variant.callosum else None,
            output_bias=config.output_bias,
        )


def make_batch(config: TrainConfig, n: int, task: Task | None = None) -> ArmBatch:
    return ArmBatch(
        task or make_task(config.task),
        n,
        proprioception_noise=config.proprioception_noise,
        vision_noise=config.vision_noise,
        threads=config.threads,
    )


def _rng(config: TrainConfig, *stream: int) -> np.random.Generator:
    """A generator that depends only on the run's seed and ``stream`` (e.g. (purpose, batch))."""
    return np.random.default_rng([config.seed, *stream])


TRAIN_STREAM, NOISE_STREAM, VALIDATION_STREAM = 1, 2, 3


class Objective:
    """The variant's loss(es) on a trajectory: one total, or (left, right) for specialised models."""

    def __init__(self, config: TrainConfig):
        variant = get_variant(config.variant)
        self.weights = [loss_weights(p, config.loss_overrides.get(p)) for p in variant.losses]
        self.specialised = variant.specialised

    def __call__(self, traj) -> tuple[list[torch.Tensor], TrialTerms]:
        terms = TrialTerms.compute(traj.hand[1:], traj.target, traj.excitation.double(), traj.hidden.double())
        return [terms.weighted(w) for w in self.weights], terms


@dataclass
class TrainingState:
    """What a checkpoint restores, beyond the model and the optimiser."""

    next_batch: int = 0
    best_validation: float = math.inf
    best_batch: int = -1
    bad_epochs: int = 0
    stopped_early: bool = False
    finished: bool = False
    seconds: float = 0.0  # training time so far, across sessions


METRIC_FIELDS = (
    "kind",
    "batch",
    "epoch",
    "loss",
    "left_loss",
    "right_loss",
    *TERMS,
    "w_left",
    "w_right",
    "grad_norm",
    "nudged",
    "seconds",
)


class Trainer:
    """Trains one run into ``out`` (see the module docstring for what it writes)."""

    def __init__(self, config: TrainConfig, out: str | Path, *, progress: bool = True) -> None:
        self.config = config.validated()
        self.out = Path(out)
        self.progress = progress
        self.task = make_task(config.task)
        self.variant = get_variant(config.variant)
        self.model = build_model(config)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.objective = Objective(config)
        self.state = TrainingState()
        self.best_model = {k: v.clone() for k, v in self.model.state_dict().items()}
        self._batch: ArmBatch | None = None
        self._validation_batch: ArmBatch | None = None

    # -- files ----------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    @property
    def model_path(self) -> Path:
        return self.out / "model.pt"

    def _save_checkpoint(self) -> None:
        checkpoint.save(
            self.checkpoint_path,
            {
                "config": asdict(self.config),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "best_model": self.best_model,
                "state": asdict(self.state),
            },
        )

    def _restore(self) -> None:
        payload = checkpoint.load(self.checkpoint_path)
        saved, current = asdict(TrainConfig.from_dict(payload["config"])), asdict(self.config)
        changed = sorted(k for k in saved if saved[k] != current[k] and k not in RESUMABLE_CHANGES)
        if changed:
            raise ConfigMismatchError(f"{self.out} holds a run with a different configuration (differs in {changed})")
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.best_model = payload["best_model"]
        self.state = TrainingState(**payload["state"])

    def _open_log(self, resumed: bool):
        """metrics.csv without rows past the checkpoint (a killed run may have logged some)."""
        path = self.out / "metrics.csv"
        rows = []
        if resumed and path.exists():
            with path.open(newline="") as f:
                rows = [
                    r
                    for r in csv.DictReader(f)
                    if r.get("batch", "").isdigit() and int(r["batch"]) < self.state.next_batch
                ]
        with atomic_path(path) as tmp:
            with tmp.open("w", newline="") as f:
                writer = csv.DictWriter(f, METRIC_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
        self._log_file = path.open("a", newline="")
        self._log = csv.DictWriter(self._log_file, METRIC_FIELDS)
        from torch.utils.tensorboard import SummaryWriter

        if not resumed:  # events of an attempt killed before its first checkpoint would be repeated
            shutil.rmtree(self.out / "tensorboard", ignore_errors=True)
        self._tensorboard = SummaryWriter(self.out / "tensorboard", purge_step=self.state.next_batch or None)

    def _write_row(self, row: dict) -> None:
        self._log.writerow(row)
        self._log_file.flush()
        step = row["batch"]
        prefix = "train" if row["kind"] == "train" else "validation"
        for key in ("loss", "left_loss", "right_loss", *TERMS, "w_left", "w_right", "grad_norm"):
            value = row.get(key)
            if value not in (None, ""):
                self._tensorboard.add_scalar(f"{prefix}/{key}", value, step)

    # -- training -------------------------------------------------------------------------------
    def run(self, resume: bool = False, stop_after: int | None = None) -> dict:
        """Train to the end (or until early stopping), or for ``stop_after`` batches of this session.

        Returns the summary (also written to ``summary.json`` when the run ends).
        """
        existing = self.checkpoint_path.exists()
        if existing and not resume:
            raise ValueError(f"{self.out} already holds a run; pass --resume to continue it, or use another --out")
        self.out.mkdir(parents=True, exist_ok=True)
        if existing:
            remove_stale_temporaries(self.out)  # left by a write the kill interrupted
            self._restore()
        elif (self.out / "metrics.csv").exists() and not resume:
            raise ValueError(f"{self.out} already holds training logs; use another --out")
        if self.state.finished:
            return self.summary()
        write_json(self.out / "config.json", asdict(self.config))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny networks: one thread is fastest, and makes runs repeatable
        self._open_log(resumed=existing)
        try:
            self._train(stop_after)
        finally:
            torch.set_num_threads(threads)
            self._log_file.close()
            self._tensorboard.close()
            for b in (self._batch, self._validation_batch):
                if b is not None:
                    b.close()
        return self.summary()

    def _train(self, stop_after: int | None) -> None:
        from tqdm.auto import tqdm

        config = self.config
        self._batch = make_batch(config, config.batch_size, self.task)
        bar = tqdm(
            total=config.n_batches,
            initial=self.state.next_batch,
            disable=not self.progress,
            desc=f"{config.variant} {config.task} seed {config.seed}",
            unit="batch",
            leave=False,
        )
        done_this_session = 0
        while self.state.next_batch < config.n_batches and not self.state.stopped_early:
            if stop_after is not None and done_this_session >= stop_after:
                self._save_checkpoint()  # a session cut short keeps every batch it trained
                break
            start = time.perf_counter()
            row = self._train_batch(self.state.next_batch)
            self.state.seconds += time.perf_counter() - start
            row["seconds"] = round(self.state.seconds, 3)
            self._write_row(row)
            self.state.next_batch += 1
            done_this_session += 1
            bar.update()
            bar.set_postfix(loss=f"{row['loss']:.4f}")
            end_of_epoch = self.state.next_batch % config.batches_per_epoch == 0
            last = self.state.next_batch == config.n_batches
            if end_of_epoch or last:
                self._validate()
            if end_of_epoch or last or self.state.next_batch % config.checkpoint_every == 0:
                self._save_checkpoint()
        bar.close()
        if self.state.next_batch >= config.n_batches or self.state.stopped_early:
            self._finish()

    def _train_batch(self, index: int) -> dict:
        config = self.config
        trials = self.task.draw(_rng(config, TRAIN_STREAM, index), config.batch_size, config.trial_steps)
        noise = _rng(config, NOISE_STREAM, index)
        traj = run_trials(self.model, self._batch, trials, differentiable=True, rng=noise, eps=config.fd_eps)
        losses, terms = self.objective(traj)
        self.optimizer.zero_grad(set_to_none=True)
        if self.objective.specialised:
            routed_backward(self.model, losses[0], losses[1])
        else:
            losses[0].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        if not torch.isfinite(grad_norm):
            raise FloatingPointError(f"non-finite gradient norm at batch {index}; check the learning rate")
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(config, index)
        self.optimizer.step()
        return self._row("train", index, losses, terms, grad_norm=float(grad_norm), nudged=traj.nudged)

    def _row(self, kind: str, index: int, losses, terms: TrialTerms, **extra) -> dict:
        total = float(sum(loss.detach() for loss in losses))
        row = {
            "kind": kind,
            "batch": index,
            "epoch": index // self.config.batches_per_epoch,
            "loss": total,
            **{k: round(v, 8) for k, v in terms.as_floats().items()},
        }
        if self.objective.specialised:
            row["left_loss"], row["right_loss"] = float(losses[0].detach()), float(losses[1].detach())
        if isinstance(self.model, Bilateral):
            w = self.model.hemisphere_weights.detach()
            row["w_left"], row["w_right"] = float(w[0]), float(w[1])
        row.update(extra)
        return row

    def validation_trials(self):
        config = self.config
        return self.task.draw(_rng(config, VALIDATION_STREAM), config.validation_trials, config.trial_steps)

    def _validate(self) -> None:
        config = self.config
        if self._validation_batch is None:
            self._validation_batch = make_batch(config, config.validation_trials, self.task)
        noise = _rng(config, VALIDATION_STREAM, 1)
        traj = run_trials(self.model, self._validation_batch, self.validation_trials(), rng=noise)
        with torch.no_grad():
            losses, terms = self.objective(traj)
        value = float(sum(loss.detach() for loss in losses))
        index = self.state.next_batch - 1
        self._write_row(self._row("validation", index, losses, terms))
        if value < self.state.best_validation:
            self.state.best_validation, self.state.best_batch, self.state.bad_epochs = value, index, 0
            self.best_model = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        elif self.state.next_batch % config.batches_per_epoch == 0:
            self.state.bad_epochs += 1
            if self.state.bad_epochs >= config.patience:
                self.state.stopped_early = True

    def _finish(self) -> None:
        self.state.finished = True
        checkpoint.save(
            self.model_path,
            {
                "config": asdict(self.config),
                "model": self.best_model,
                "best_batch": self.state.best_batch,
                "best_validation": self.state.best_validation,
            },
        )
        self._save_checkpoint()
        write_json(self.out / "summary.json", self.summary())

    def summary(self) -> dict:
        s = self.state
        return {
            "task": self.config.task,
            "variant": self.config.variant,
            "seed": self.config.seed,
            "preset": self.config.preset,
            "batches": s.next_batch,
            "best_batch": s.best_batch,
            "best_validation_loss": s.best_validation,
            "stopped_early": s.stopped_early,
            "finished": s.finished,
            "training_seconds": round(s.seconds, 2),
            "trial_steps_per_second": round(
                s.next_batch * self.config.batch_size * self.config.trial_steps / max(s.seconds, 1e-9), 1
            ),
        }


def train(
    config: TrainConfig, out: str | Path, *, resume: bool = False, progress: bool = True, stop_after: int | None = None
) -> dict:
    """Train ``config`` into ``out``; see ``Trainer``."""
    return Trainer(config, out, progress=progress).run(resume=resume, stop_after=stop_after)


def load_model(path: str | Path) -> tuple[Controller, TrainConfig, dict]:
    """A trained controller from ``model.pt`` (or a run directory holding one), its config and extras."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    payload = checkpoint.load(path)
    if "model" not in payload or "config" not in payload:
        raise ValueError(f"{path} holds no model")
    config = TrainConfig.from_dict(payload["config"])
    model = build_model(config)
    model.load_state_dict(payload["model"])
    model.eval()
    return model, config, {k: v for k, v in payload.items() if k not in ("model", "config")}


def read_config(path: str | Path) -> TrainConfig:
    return TrainConfig.from_dict(json.loads(Path(path).read_text()))
