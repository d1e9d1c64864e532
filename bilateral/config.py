"""Every setting of a study, in one place: variants, tasks, lesions, loss presets, training presets,
RL settings and grid budgets, as frozen dataclasses whose fields say what they are.

A configuration is data: ``from_dict`` refuses fields it does not know (older files, which lack
newer fields, still load with their defaults), and ``add_options``/``from_options`` turn its fields
into command-line options, so that every field is settable and nothing is declared twice.
``TrainConfig()`` is the authors' public example (the ``paper`` preset); other presets are named
departures from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bilateral_envs.terms import NON_SPECIALISED

# -- names --------------------------------------------------------------------------------------
TASKS = ("reach", "hold")
LESIONS = ("high-left", "high-right", "low-left", "low-right", "cc")
CALLOSUM_KINDS = ("paper", "learned")
INITIALISATIONS = ("torch", "glorot")  # PyTorch's default; Keras's (Glorot-uniform weights, zero biases)
HEMISPHERE_WEIGHTS = ("softplus", "clamp")  # how w_L, w_R are kept non-negative
CELLS = ("dense", "gru")  # the hemispheres' layers: feedforward (the paper) or recurrent (beyond it)
NONDOMINANT_LOSSES = {"paper": "non-dominant", "impedance": "impedance"}  # name -> loss preset
DEFAULT_CELL, DEFAULT_NONDOMINANT = CELLS[0], next(iter(NONDOMINANT_LOSSES))  # the paper's: "dense", "paper"
LR_SCHEDULES = ("constant", "cosine")  # TrainConfig.lr_schedule
RL_LR_SCHEDULES = ("constant", "linear")  # RLConfig.lr_schedule
GRAD_CLIP_MODES = ("global", "per-tensor")
VALIDATION_LOSSES = ("variant", "non-specialised")


@dataclass(frozen=True)
class Variant:
    """A compared controller (DESIGN §1).

    ``losses`` names the loss preset(s): one for the whole model, or (left, right) for a specialised
    bilateral model, whose hemispheres then learn from their own loss only (gradient routing).
    """

    name: str
    structure: str  # "unilateral" or "bilateral"
    callosum: bool
    losses: tuple[str, ...]
    stands_for: str

    @property
    def specialised(self) -> bool:
        return len(self.losses) == 2

    @property
    def trains_nondominant(self) -> bool:
        """Whether a non-dominant loss trains it (so that ``TrainConfig.nondominant`` matters)."""
        return "non-dominant" in self.losses


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("uni", "unilateral", False, ("non-specialised",), "one generic controller"),
        Variant("uni-dom", "unilateral", False, ("dominant",), "the preferred hand for reach"),
        Variant("uni-nondom", "unilateral", False, ("non-dominant",), "the preferred hand for hold"),
        Variant("bi", "bilateral", False, ("non-specialised",), "bilateral without specialisation"),
        Variant("bi-cc", "bilateral", True, ("non-specialised",), "bilateral with callosum"),
        Variant("bi-spec", "bilateral", False, ("dominant", "non-dominant"), "specialised hemispheres"),
        Variant("bi-spec-cc", "bilateral", True, ("dominant", "non-dominant"), "specialised, with callosum"),
    )
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {list(VARIANTS)}") from None


def check_choice(name: str, value, choices) -> None:
    """A ValueError naming the setting and its choices when ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


# -- loss presets (DESIGN §4, the authors' example): weights of each term -----------------------
# The hidden-activity term is one per layer and hemisphere; "hidden" weights every layer,
# "hidden.<layer>" one layer (bilateral.losses says why the specialised presets read as they do).
# "impedance" is beyond the paper: a non-dominant loss after the dynamic-dominance account of
# handedness (Sainburg 2002, 2005: the non-dominant arm specialises in impedance control, position
# stability), pricing the hand's motion while the target is still rather than muscle effort, which
# holding against a load needs (co-contraction); its hidden terms are the non-dominant preset's.
LOSS_PRESETS: dict[str, dict[str, float]] = {
    "non-specialised": {**NON_SPECIALISED, "hidden": 0.01},
    "dominant": {"position_l1": 5.0, "hidden": 0.01, "hidden.left.0": 0.02},
    "non-dominant": {"position_mse10": 5.0, "excitation": 2.0, "hidden": 0.01, "hidden.left.0": 0.0},
    "impedance": {
        "position_mse10": 5.0,
        "hand_speed": 1.0,
        "hand_acceleration": 1e-3,
        "hidden": 0.01,
        "hidden.left.0": 0.0,
    },
}


# -- settings as dataclasses ---------------------------------------------------------------------
def setting(default, help: str, **metadata):
    """A dataclass field with its help text (shown by ``--help`` and in field listings)."""
    if isinstance(default, dict | list):
        return field(default_factory=lambda: json.loads(json.dumps(default)), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


class Settings:
    """What every configuration dataclass can do: be read from a dict strictly, listed, checked."""

    # values that fields missing from a file take: what the code did before the field existed
    LEGACY: ClassVar[dict[str, Any]] = {}

    def validated(self):
        """Check the values; return ``self`` (a ValueError names the first bad setting)."""
        return self

    @classmethod
    def from_dict(cls, values: dict):
        """A configuration read from a file: unknown fields are refused; missing ones, written before
        they existed, take ``LEGACY``'s value (what the code did then), else their default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; the fields are {sorted(known)}")
        values = {**{k: v for k, v in cls.LEGACY.items() if k not in values}, **values}
        return cls.make(values)

    @classmethod
    def make(cls, values: dict):
        """A configuration of ``values`` (missing fields take their default), checked."""
        return cls(
            **{k: tuple(v) if isinstance(v, list) and _is_tuple(cls, k) else v for k, v in values.items()}
        ).validated()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def resumable(cls) -> tuple[str, ...]:
        """The fields a run may change when it resumes (marked ``resumable``): how it runs, not what
        it computes."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("resumable"))

    def changed_from(self, saved: dict) -> list[str]:
        """The fields, other than ``resumable`` ones, in which this configuration differs from
        ``saved`` (a run's recorded one, as a dict; fields it lacks take their ``LEGACY`` value):
        what forbids resuming that run with this one."""
        current, saved = self.to_dict(), type(self).from_dict(saved).to_dict()
        return sorted(k for k in saved if saved[k] != current.get(k) and k not in self.resumable())

    def replace(self, **changes):
        return dataclasses.replace(self, **changes).validated()


def _is_tuple(cls, name: str) -> bool:
    hint = typing.get_type_hints(cls)[name]
    return typing.get_origin(hint) is tuple


@dataclass(frozen=True)
class Senses(Settings):
    """What the controller senses, and how late (shared by every training method)."""

    proprioception_delay: int = setting(
        0, "steps by which muscle lengths and velocities are seen late; 0 = the current state"
    )
    vision_delay: int = setting(0, "steps by which the hand position is seen late; 0 = the current state")
    proprioception_noise: float = setting(0.0, "std of Gaussian noise on the normalised muscle lengths and velocities")
    vision_noise: float = setting(0.0, "std of Gaussian noise on the observed hand position (m)")

    def make_arms(self, n: int, task=None):
        """``n`` arms (``bilateral_envs.ArmBatch``) on the configuration's task (or ``task``), sensing as it says."""
        from bilateral_envs.batch import ArmBatch
        from bilateral_envs.tasks import make_task

        return ArmBatch(
            task or make_task(self.task),
            n,
            proprioception_delay=self.proprioception_delay,
            vision_delay=self.vision_delay,
            proprioception_noise=self.proprioception_noise,
            vision_noise=self.vision_noise,
            threads=getattr(self, "threads", 1),
        )

    def validated(self):
        from bilateral_envs.batch import check_delay

        check_delay("proprioception_delay", self.proprioception_delay)
        check_delay("vision_delay", self.vision_delay)
        if not self.proprioception_noise >= 0 or not self.vision_noise >= 0:
            raise ValueError("noise standard deviations must be >= 0")
        return self


@dataclass(frozen=True)
class TrainConfig(Senses):
    """Everything a distal-teacher run needs (``config.json``, and inside its checkpoints).

    The defaults are the authors' public example (the ``paper`` preset); ``TRAINING_PRESETS`` holds
    the named departures from it. bilateral.methods.distal says how the example differs from what
    this trainer did before.
    """

    task: str = setting("reach", "task: reach (random reach) or hold (hold position against a load)", choices=TASKS)
    variant: str = setting("bi", "controller variant (DESIGN §1)", choices=tuple(VARIANTS))
    seed: int = setting(0, "seed of the initial weights and of every trial")
    preset: str = setting("paper", "the training preset the values came from (a label)")
    width: int = setting(10, "hidden units per layer in all (a bilateral model splits them in two)")
    depth: int = setting(2, "hidden layers")
    cell: str = setting(
        DEFAULT_CELL, "hemisphere layers: dense (feedforward, the paper) or gru (recurrent)", choices=CELLS
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
        check_choice("task", self.task, TASKS)
        variant = get_variant(self.variant)
        for name in (
            "cell",
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
        if not self.learning_rate > 0 or not self.grad_clip > 0 or not self.fd_eps > 0:
            raise ValueError("learning_rate, grad_clip and fd_eps must be > 0")
        from bilateral.losses import loss_weights

        for preset, overrides in self.loss_overrides.items():
            loss_weights(preset, overrides)
        return self

    @property
    def n_batches(self) -> int:
        return self.total_batches if self.total_batches is not None else self.epochs * self.batches_per_epoch

    @property
    def loss_presets(self) -> tuple[str, ...]:
        """The loss preset(s) this run trains with: the variant's, its non-dominant one as chosen."""
        return tuple(
            NONDOMINANT_LOSSES[self.nondominant] if p == "non-dominant" else p for p in get_variant(self.variant).losses
        )

    @classmethod
    def from_preset(cls, preset: str = "paper", **overrides) -> TrainConfig:
        """The configuration of training preset ``preset`` with ``overrides``."""
        try:
            values = dict(TRAINING_PRESETS[preset])
        except KeyError:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(TRAINING_PRESETS)}") from None
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        return cls.make({"preset": preset, **values, **overrides})

    LEGACY: ClassVar[dict[str, Any]] = {  # runs written before these were settings were trained so
        "proprioception_delay": 1,
        "vision_delay": 1,
        "init": "torch",
        "hemisphere_weights": "softplus",
        "grad_clip_mode": "global",
        "training_trials": None,
        "validation_loss": "variant",
    }


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


RL_METHODS = ("ppo", "sac", "bilateral-ppo")


@dataclass(frozen=True)
class RLConfig(Senses):
    """Everything a reinforcement-learning run needs (``config.json`` and ``model.pt`` carry it)."""

    method: str = setting(
        "bilateral-ppo", "ppo, sac (stable-baselines3, MlpPolicy) or bilateral-ppo", choices=RL_METHODS
    )
    task: str = setting("reach", "task: reach or hold", choices=TASKS)
    variant: str = setting("bi-spec", "controller variant (ppo and sac: unilateral ones)", choices=tuple(VARIANTS))
    seed: int = setting(0, "seed of the initial weights, the environments and the exploration")
    total_steps: int = setting(200_000, "environment steps, all environments together")
    n_envs: int = setting(8, "in-process vector environments")
    trial_steps: int = setting(50, "steps per trial, 10 ms each")
    learning_rate: float = setting(3e-4, "the optimiser's learning rate (the start of a linear schedule)")
    lr_schedule: str = setting(
        "constant", "learning rate over training: constant, or linear down to 0 at total_steps", choices=RL_LR_SCHEDULES
    )
    gamma: float = setting(0.99, "discount factor")
    n_steps: int = setting(256, "PPO: steps per environment between updates")
    batch_size: int = setting(256, "PPO: minibatch size")
    n_epochs: int = setting(10, "PPO: epochs over each rollout")
    gae_lambda: float = setting(0.95, "PPO: GAE lambda")
    clip_range: float = setting(0.2, "PPO: clipping of the probability ratio")
    ent_coef: float = setting(0.0, "PPO: entropy bonus")
    max_grad_norm: float = setting(0.5, "PPO: gradient-norm clip")
    target_kl: float | None = setting(
        None, "PPO: stop an update's epochs once the approximate KL exceeds 1.5 x this (none: never)"
    )
    scale_rewards: bool = setting(
        True, "bilateral-ppo: divide each objective's rewards by the running std of its discounted return"
    )
    buffer_size: int = setting(300_000, "SAC: replay buffer size")
    learning_starts: int = setting(1_000, "SAC: steps before learning starts")
    sac_batch_size: int = setting(256, "SAC: minibatch size")
    width: int = setting(64, "hidden units per layer (MlpPolicy; the controller of bilateral-ppo)")
    depth: int = setting(2, "hidden layers")
    callosum_kind: str = setting("paper", "callosum of the -cc variants", choices=CALLOSUM_KINDS)
    output_bias: float = setting(-3.0, "initial bias of the controller's sigmoid output")
    threads: int = setting(1, "threads stepping MuJoCo in evaluation batches", resumable=True)
    eval_every: int = setting(
        25_000, "environment steps between validations (the best model so far is kept as best.pt)"
    )
    eval_trials: int = setting(64, "trials of the fixed validation set (drawn from the seed, apart from the test set)")
    checkpoint_every: int = setting(
        50_000, "environment steps between resumable checkpoints (taken between rollouts)", resumable=True
    )

    LEGACY: ClassVar[dict[str, Any]] = {"proprioception_delay": 1, "vision_delay": 1, "scale_rewards": False}

    def validated(self) -> RLConfig:
        super().validated()
        check_choice("method", self.method, RL_METHODS)
        check_choice("task", self.task, TASKS)
        check_choice("callosum_kind", self.callosum_kind, CALLOSUM_KINDS)
        check_choice("lr_schedule", self.lr_schedule, RL_LR_SCHEDULES)
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"target_kl must be > 0 (or none), got {self.target_kl}")
        if self.target_kl is not None and self.method == "sac":
            raise ValueError("target_kl is a PPO setting; sac has no policy-update epochs to stop")
        if not isinstance(self.scale_rewards, bool):
            raise ValueError(f"scale_rewards must be true or false, got {self.scale_rewards!r}")
        variant = get_variant(self.variant)
        if self.method != "bilateral-ppo" and variant.structure != "unilateral":
            raise ValueError(
                f"{self.method} trains the unilateral variants (uni, uni-dom, uni-nondom), "
                f"not {self.variant!r}; bilateral-ppo trains all seven"
            )
        for name in (
            "total_steps",
            "n_envs",
            "trial_steps",
            "n_steps",
            "batch_size",
            "n_epochs",
            "width",
            "depth",
            "eval_every",
            "eval_trials",
            "checkpoint_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        return self


@dataclass(frozen=True)
class Budget(Settings):
    """How much training each run of a grid gets, and how many test trials score it."""

    name: str = setting("quick", "the budget's name")
    preset: str = setting("paper", "the distal teacher's training preset")
    train: dict = setting({}, "TrainConfig fields overriding the preset's")
    rl: dict = setting({}, "RLConfig fields overriding its defaults")
    test_trials: int = setting(256, "fixed test trials per task")
    push_test: dict = setting({}, "PushSchedule fields overriding bilateral.evaluation.PUSH_TEST")

    @property
    def trial_steps(self) -> int:
        """Steps per trial: the override, else the preset's."""
        return self.train.get("trial_steps", TRAINING_PRESETS[self.preset].get("trial_steps", TrainConfig.trial_steps))

    def validated(self) -> Budget:
        TrainConfig.from_preset(self.preset, **{"variant": "uni", **self.train})  # the fields and values exist
        RLConfig.from_dict({**self.rl, "variant": "uni"})
        if self.test_trials < 1:
            raise ValueError(f"test_trials must be >= 1, got {self.test_trials}")
        return self


BUDGETS: dict[str, Budget] = {
    b.name: b
    for b in (
        # minutes for the whole grid on a laptop: the paper's network, 60 batches of 32 at a higher rate; 30k RL steps
        Budget(
            "quick",
            "paper",
            {
                "total_batches": 60,
                "batch_size": 32,
                "batches_per_epoch": 20,
                "validation_trials": 32,
                "learning_rate": 1e-2,
            },
            {"total_steps": 30_000},
            64,
        ),
        # the authors' example: 10 epochs of 100 batches, early stopping; 500k RL steps
        Budget("paper", "paper", {}, {"total_steps": 500_000}, 256),
        # our strong preset: competent controllers; 2M RL steps
        Budget("strong", "strong", {}, {"total_steps": 2_000_000}, 256),
        # a few tiny batches: smoke tests of every script and notebook, in CI
        Budget(
            "tiny",
            "paper",
            {
                "total_batches": 2,
                "batches_per_epoch": 2,
                "batch_size": 8,
                "trial_steps": 10,
                "validation_trials": 8,
            },
            {
                "total_steps": 256,
                "eval_every": 128,
                "eval_trials": 4,
                "n_envs": 2,
                "n_steps": 64,
                "batch_size": 64,
                "n_epochs": 2,
                "learning_starts": 64,
                "buffer_size": 1000,
            },
            8,
            {"earliest": 0.02, "duration": 0.01, "settle": 0.01},  # pushes that fit 10-step trials
        ),
    )
}


BACKENDS = ("local", "ray")
TRANSFERS = ("shared", "object-store")


@dataclass(frozen=True)
class Execution(Settings):
    """How a grid's runs are executed (what they compute does not depend on it)."""

    workers: int = setting(2, "local backend: runs in parallel, one process each")
    backend: str = setting(
        "local", "local: a process pool on this machine; ray: Ray tasks on a cluster", choices=BACKENDS
    )
    address: str | None = setting(
        None,
        "ray: the cluster to use: none for the one this machine belongs to (after `ray start --head`), else a Ray "
        "started here; 'auto' insists on a running cluster; 'ray://HOST:10001' reaches a remote one; 'local' always "
        "starts one here",
    )
    cpus_per_run: float = setting(1.0, "ray: CPUs reserved per run")
    transfer: str = setting(
        "shared",
        "ray: workers write into the grid directory on a shared filesystem, or send finished runs back through "
        "Ray's object store",
        choices=TRANSFERS,
    )
    max_retries: int = setting(2, "times a run whose worker process died is tried again")
    progress: bool = setting(True, "show a progress bar")

    def validated(self) -> Execution:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("transfer", self.transfer, TRANSFERS)
        if self.workers < 1 or self.max_retries < 0 or not self.cpus_per_run > 0:
            raise ValueError("workers must be >= 1, max_retries >= 0 and cpus_per_run > 0")
        return self


def get_budget(name: str) -> Budget:
    try:
        return BUDGETS[name]
    except KeyError:
        raise ValueError(f"unknown budget {name!r}; choose one of {list(BUDGETS)}") from None


# -- command-line options from the fields -------------------------------------------------------
def _boolean(text: str) -> bool:
    """A yes/no option's value: true/false, yes/no or 1/0 (anything else is refused)."""
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _Null:
    """An option given as 'none' or 'null': sets its field to None, where an option left out (None in
    the parsed arguments) keeps the preset's value."""

    def __repr__(self) -> str:
        return "none"


NULL = _Null()


def _parser_type(hint):
    """The argparse ``type`` of a field's annotation (``int | None`` takes 'none' too)."""
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0]
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and str in args:
        return str  # e.g. a budget, given by name
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    if base is dict:
        return json.loads
    if base is bool:
        return _boolean
    if optional:
        return lambda text: NULL if text.lower() in ("none", "null") else base(text)
    return base


def add_options(parser: argparse.ArgumentParser, cls, *, skip: tuple[str, ...] = (), group: str | None = None) -> None:
    """An option ``--field-name`` for every field of ``cls`` (default None: the preset's or the
    dataclass's value), with the field's help and choices."""
    target = parser.add_argument_group(group) if group else parser
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or any(a.dest == f.name for a in parser._actions):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        several = typing.get_origin(hints[f.name]) is tuple
        target.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=_parser_type(hints[f.name]),
            choices=f.metadata.get("choices"),
            nargs="+" if several else None,
            default=None,
            metavar=None
            if f.metadata.get("choices")
            else f.name.upper().removesuffix("S")
            if several
            else f.name.upper(),
            help=f"{f.metadata.get('help', '')} (default: {_shown(default)})",
        )


def _shown(default) -> str:
    if isinstance(default, tuple | list):
        return " ".join(map(str, default))
    if isinstance(default, Settings):
        return getattr(default, "name", type(default).__name__)
    return json.dumps(default)


def from_options(args: argparse.Namespace, cls) -> dict:
    """The fields of ``cls`` given on the command line (those left at None are not; one given as
    'none' is None)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: None if v is NULL else v for k, v in vars(args).items() if k in names and v is not None}
