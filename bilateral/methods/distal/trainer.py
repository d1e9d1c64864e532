"""The distal teacher: losses on the hand backpropagated through the MuJoCo arm (DESIGN §5).

One run trains one variant on one task from one seed. Everything random is derived from the seed
and the batch number, so a run killed at any point and resumed from its last checkpoint (written
atomically) ends with exactly the weights an uninterrupted run would have.

A run directory holds::

    config.json     the run's configuration (``TrainConfig``)
    metrics.csv     one row per training batch (losses, terms, hemisphere weights, gradient norm, the
                    Jacobians' cost: trial-steps at a joint limit and MuJoCo steps simulated),
                    plus validation rows at the end of each epoch
    tensorboard/    the same, for TensorBoard
    checkpoint.pt   the latest training state (for --resume)
    model.pt        the best model on the validation set, with its config (for evaluate/render)
    summary.json    how the run ended

The ``paper`` preset (``TrainConfig``'s defaults) is the authors' example (DESIGN §5,
``example.ipynb`` of their public ``bilateral-motor-control``), which differs from what this
trainer did before in:

- clipping: Keras ``clipnorm=1.`` clips each gradient tensor to norm 1 on its own ("per-tensor");
  the global clip (``global_clipnorm``) is up to sqrt(number of tensors) stricter;
- the hidden-activity term: one per layer and hemisphere, each with its own weight
  (``bilateral.losses``), not one mean over all units;
- validation and early stopping on the non-specialised loss for every variant (the example compiles
  its models with the non-specialised weights and validates on them, whatever it trains on);
- a fixed training set: 6400 trials drawn once (100 batches of 64), reshuffled every epoch, where
  we drew fresh trials for every batch;
- initialisation: Keras's Glorot-uniform weights and zero biases, and the hemisphere weights kept
  non-negative by clamping (a Keras constraint) rather than a softplus.

Kept apart from it, and why: the output bias starts at -3 (the example's zero bias drives the arm
onto its joint limits, where nothing is learnt: DESIGN §5); Adam's epsilon is PyTorch's 1e-8
(Keras: 1e-7); seeds are ours. The example's observations are of the current state (MotorNet's
default delay), as ours are by default (``bilateral_envs.batch``).
"""

from __future__ import annotations

import csv
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bilateral import checkpoint
from bilateral.controllers import Bilateral, Controller, controller_for
from bilateral.differentiable import JacobianStepper, run_closed_loop
from bilateral.io import atomic_path, remove_stale_temporaries, write_json
from bilateral.losses import LOSS_TERMS, TrialTerms, loss_weights
from bilateral.methods.distal.config import TrainConfig
from bilateral.rollout import run_trials
from bilateral.routing import routed_backward
from bilateral_envs.batch import ArmBatch
from bilateral_envs.tasks import Trials, make_task


def learning_rate(config: TrainConfig, batch: int) -> float:
    """The learning rate at ``batch`` (a function of the batch number only, so resuming needs no state)."""
    if config.lr_schedule == "cosine":
        progress = min(batch / max(config.n_batches - 1, 1), 1.0)
        return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
    return config.learning_rate


class ConfigMismatchError(checkpoint.RunStateError):
    """A run directory holds a run with another configuration."""


def _rng(config: TrainConfig, *stream: int) -> np.random.Generator:
    """A generator that depends only on the run's seed and ``stream`` (e.g. (purpose, batch))."""
    return np.random.default_rng([config.seed, *stream])


TRAIN_STREAM, NOISE_STREAM, VALIDATION_STREAM = 1, 2, 3
EXTENDING = ("total_batches", "epochs")  # what resuming may change: a run can be given more batches


class Objective:
    """Loss(es) on a trajectory: one total, or (left, right) for a specialised model's own losses."""

    def __init__(self, config: TrainConfig, presets: tuple[str, ...] | None = None):
        presets = presets or config.loss_presets
        self.weights = [loss_weights(p, config.loss_overrides.get(p)) for p in presets]
        self.specialised = len(presets) == 2

    def __call__(self, traj) -> tuple[list[torch.Tensor], TrialTerms]:
        terms = TrialTerms.compute(traj)
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
    *LOSS_TERMS,
    "w_left",
    "w_right",
    "grad_norm",
    "fallback",
    "nudged",
    "simulations",
    "seconds",
)


class Trainer:
    """Trains one run into ``out`` (see the module docstring for what it writes)."""

    def __init__(self, config: TrainConfig, out: str | Path, *, progress: bool = True) -> None:
        self.config = config.validated()
        self.out = Path(out)
        self.progress = progress
        self.task = make_task(config.task)
        self.model = controller_for(config)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.objective = Objective(config)
        # what early stopping watches: the variant's own loss(es), or the non-specialised one
        self.validation_objective = (
            self.objective if config.validation_loss == "variant" else Objective(config, ("non-specialised",))
        )
        self.state = TrainingState()
        self.best_model = {k: v.clone() for k, v in self.model.state_dict().items()}
        self._arms: ArmBatch | None = None  # the training batch's arms, and their differentiable stepper
        self._stepper: JacobianStepper | None = None
        self._validation_arms: ArmBatch | None = None
        self._training_set: Trials | None = None

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
        changed = self.config.changed_from(payload["config"])
        if set(changed) - set(EXTENDING):
            raise ConfigMismatchError(f"{self.out} holds a run with a different configuration (differs in {changed})")
        try:
            self.model.load_state_dict(payload["model"])
        except RuntimeError as error:  # e.g. written by a version whose modules were named otherwise
            raise ConfigMismatchError(
                f"{self.checkpoint_path} holds a model of another layout than this version builds ({error})"
            ) from error
        self.optimizer.load_state_dict(payload["optimizer"])
        self.best_model = payload["best_model"]
        self.state = TrainingState(**payload["state"])
        if changed:  # more batches for a run, finished or not
            self._extend(TrainConfig.from_dict(payload["config"]).n_batches)

    def _extend(self, before: int) -> None:
        """Go on training a restored run to this configuration's ``n_batches`` (it had ``before``): a
        finished run trains again from its last batch's weights and optimiser state; a cosine learning
        rate follows the new length from here on."""
        state, wanted = self.state, self.config.n_batches
        if wanted < before:
            raise ConfigMismatchError(
                f"{self.out} has trained {state.next_batch} of its {before} batches: a run can be given more "
                f"batches, not fewer ({wanted} asked)"
            )
        if state.stopped_early:
            raise ConfigMismatchError(
                f"{self.out} stopped early at batch {state.next_batch} (no better validation for "
                f"{self.config.patience} epochs): more batches would not be trained; start a new run"
            )
        state.finished = False
        (self.out / "summary.json").unlink(missing_ok=True)  # written again when the longer run ends

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
        for key in ("loss", "left_loss", "right_loss", *LOSS_TERMS, "w_left", "w_right", "grad_norm"):
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
            self.close()
        return self.summary()

    def close(self) -> None:
        """Release the arms and MuJoCo batches (made again when needed)."""
        for arms in (self._arms, self._validation_arms):
            if arms is not None:
                arms.close()
        self._arms = self._stepper = self._validation_arms = None

    def _train(self, stop_after: int | None) -> None:
        if self.progress:  # tqdm.auto warns in a notebook without ipywidgets even when the bar is off
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm

        config = self.config
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
            row = self.train_batch(self.state.next_batch)
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

    def training_trials(self, index: int) -> Trials:
        """The trials of training batch ``index``: fresh ones drawn from the seed and the batch number,
        or, with ``training_trials``, the batch's share of a fixed set reshuffled every epoch."""
        config = self.config
        if config.training_trials is None:
            return self.task.draw(_rng(config, TRAIN_STREAM, index), config.batch_size, config.trial_steps)
        if self._training_set is None:
            self._training_set = self.task.draw(_rng(config, TRAIN_STREAM), config.training_trials, config.trial_steps)
        per_epoch = config.training_trials // config.batch_size  # batches that make one pass over the set
        order = _rng(config, TRAIN_STREAM, index // per_epoch).permutation(config.training_trials)
        start = (index % per_epoch) * config.batch_size
        return self._training_set[order[start : start + config.batch_size]]

    def train_batch(self, index: int) -> dict:
        """One training step on batch ``index`` (trials through the arm, routed gradients, clipping,
        Adam); returns its log row. Depends only on the seed, ``index`` and the weights before it."""
        config = self.config
        if self._arms is None:
            self._arms = config.make_arms(config.batch_size, self.task)
            self._stepper = JacobianStepper(
                self.task.arm.model,
                config.batch_size,
                hand_body=self.task.arm.hand_body,
                threads=config.threads,
                eps=config.fd_eps,
            )
        run = run_closed_loop(
            self.model, self._arms, self._stepper, self.training_trials(index), _rng(config, NOISE_STREAM, index)
        )
        losses, terms = self.objective(run.trajectory)
        self.optimizer.zero_grad(set_to_none=True)
        if self.objective.specialised:
            routed_backward(self.model, *losses)
        else:
            losses[0].backward()
        parameters = [p for p in self.model.parameters() if p.grad is not None]
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
        if not torch.isfinite(grad_norm):
            raise FloatingPointError(f"non-finite gradient norm at batch {index}; check the learning rate")
        if config.grad_clip_mode == "global":
            torch.nn.utils.clip_grads_with_norm_(parameters, config.grad_clip, grad_norm)
        else:  # Keras's clipnorm: each tensor to the norm on its own
            for p in parameters:
                torch.nn.utils.clip_grad_norm_([p], config.grad_clip)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(config, index)
        self.optimizer.step()
        self.model.constrain_()
        return self._row(
            "train",
            index,
            self.objective,
            losses,
            terms,
            grad_norm=float(grad_norm),
            fallback=run.trajectory.fallback,
            nudged=run.trajectory.nudged,
            simulations=run.simulations,
        )

    def _row(self, kind: str, index: int, objective: Objective, losses, terms: TrialTerms, **extra) -> dict:
        total = float(sum(loss.detach() for loss in losses))
        row = {
            "kind": kind,
            "batch": index,
            "epoch": index // self.config.batches_per_epoch,
            "loss": total,
            **{k: round(v, 8) for k, v in terms.as_floats().items()},
        }
        if objective.specialised:
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
        if self._validation_arms is None:
            self._validation_arms = config.make_arms(config.validation_trials, self.task)
        noise = _rng(config, VALIDATION_STREAM, 1)
        traj = run_trials(self.model, self._validation_arms, self.validation_trials(), rng=noise)
        objective = self.validation_objective
        with torch.no_grad():
            losses, terms = objective(traj)
        value = float(sum(loss.detach() for loss in losses))
        index = self.state.next_batch - 1
        self._write_row(self._row("validation", index, objective, losses, terms))
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
                "method": "distal",
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


def load_controller(path: str | Path) -> tuple[Controller, TrainConfig, dict]:
    """A trained controller from ``model.pt`` (or a run directory holding one), its config and extras."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    payload = checkpoint.load(path)
    if "model" not in payload or "config" not in payload:
        raise ValueError(f"{path} holds no model")
    config = TrainConfig.from_dict(payload["config"])
    model = controller_for(config)
    model.load_state_dict(payload["model"])
    model.eval()
    return model, config, {k: v for k, v in payload.items() if k not in ("model", "config")}
