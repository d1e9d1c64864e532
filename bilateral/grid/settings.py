"""How much a grid trains (``Budget``, the named ``BUDGETS``) and how it runs (``Execution``)."""

from __future__ import annotations

from dataclasses import dataclass

from bilateral.methods.distal.config import TrainConfig
from bilateral.methods.rl.config import RLConfig
from bilateral.settings import Settings, check_choice, setting


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
        return self.train.get("trial_steps", TrainConfig.preset_values(self.preset)["trial_steps"])

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
