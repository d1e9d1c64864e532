"""What a grid is, and where each of its runs lives: ``GridSpec`` and ``RunSpec`` ⇄ run directory.

A run directory is ``runs/{method}/{task}/{variant}/seed{N}`` under the grid's root; a run of a
non-default cell or non-dominant loss (``bilateral.config``) adds them to the variant's folder,
``{variant}+{cell}+{nondominant}`` with the defaults left out, so that the paper's runs keep the plain
layout. ``RunSpec.from_directory`` reads a path back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bilateral import methods
from bilateral.config import BUDGETS, TASKS, VARIANTS, Budget, Settings, get_budget, setting

DEFAULT_METHODS = ("distal",)


@dataclass(frozen=True)
class RunSpec:
    """One run of a grid: the method, task, variant and seed it trains, and the threads it may use."""

    method: str
    task: str
    variant: str
    seed: int
    threads: int = field(default=1, compare=False)  # MuJoCo threads inside the run; not part of its identity

    @property
    def key(self) -> str:
        """The run's path under ``runs/``: ``{method}/{task}/{variant}/seed{N}``."""
        return f"{self.method}/{self.task}/{self.variant}/seed{self.seed}"

    def directory(self, root: str | Path) -> Path:
        return Path(root) / "runs" / self.key

    @classmethod
    def from_directory(cls, path: str | Path) -> RunSpec:
        """The spec of run directory ``path`` (``.../runs/{method}/{task}/{variant}/seed{N}``)."""
        method, task, variant, seed = Path(path).parts[-4:]
        if not seed.startswith("seed") or not seed[4:].isdigit():
            raise ValueError(f"{path} is not a run directory (runs/METHOD/TASK/VARIANT/seedN)")
        return cls(method, task, variant, int(seed[4:]))


@dataclass(frozen=True)
class GridSpec(Settings):
    """The grid: the product of methods, tasks, variants and seeds at one budget."""

    budget: Budget | str = setting("quick", "training budget of every run", choices=tuple(BUDGETS))
    seeds: int = setting(5, "seeds per variant and task")
    tasks: tuple[str, ...] = setting(TASKS, "tasks", choices=TASKS)
    variants: tuple[str, ...] = setting(tuple(VARIANTS), "variants", choices=tuple(VARIANTS))
    methods: tuple[str, ...] = setting(
        DEFAULT_METHODS, "training methods: distal, and with the rl extra ppo, sac, bilateral-ppo"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", get_budget(self.budget) if isinstance(self.budget, str) else self.budget)
        for name in ("tasks", "variants", "methods"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        for name, given, known in (("task", self.tasks, TASKS), ("variant", self.variants, VARIANTS)):
            unknown = [g for g in given if g not in known]
            if unknown:
                raise ValueError(f"unknown {name}s {unknown}; choose from {list(known)}")
        for method in self.methods:
            methods.get(method)  # a clear error for an unknown method or a missing extra

    def runs(self, threads: int = 1) -> list[RunSpec]:
        return [
            RunSpec(method, task, variant, seed, threads)
            for method in self.methods
            for task in self.tasks
            for variant in self.variants
            if methods.get(method).supports(variant)
            for seed in range(self.seeds)
        ]

    def definition(self) -> dict:
        """What ``grid.json`` records."""
        return {
            "budget": self.budget.to_dict(),
            "seeds": self.seeds,
            "tasks": list(self.tasks),
            "variants": list(self.variants),
            "methods": list(self.methods),
        }


__all__ = ["GridSpec", "RunSpec"]
