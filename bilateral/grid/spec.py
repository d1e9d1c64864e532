"""What a grid is, and where each of its runs lives: ``GridSpec`` and ``RunSpec`` ⇄ run directory.

A run directory is ``runs/{method}/{task}/{variant}/seed{N}`` under the grid's root; a run of a
non-default cell, non-dominant loss or sizing, or of a loss grid's weights, adds them to the variant's
folder, ``{variant}+{cell}+{nondominant}+{sizing}+{loss}`` with the defaults left out (e.g.
``uni-nondom+error=l1,effort=0.2``), so that the paper's runs keep the plain layout.
``RunSpec.from_directory`` reads a path back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from bilateral import methods
from bilateral.grid.settings import BUDGETS, Budget, get_budget
from bilateral.losses import DEFAULT_NONDOMINANT, NONDOMINANT_LOSSES, loss_axis, loss_label_overrides, run_presets
from bilateral.settings import Settings, setting
from bilateral.variants import CELLS, DEFAULT_CELL, DEFAULT_SIZING, SIZINGS, VARIANTS, get_variant
from bilateral_envs.tasks import TASK_NAMES

DEFAULT_METHODS = ("distal",)


@dataclass(frozen=True)
class RunSpec:
    """One run of a grid: the method, task, variant, cell type, non-dominant loss, sizing, loss grid
    label (``""``: the presets' own weights; ``bilateral.losses.loss_axis``) and seed it trains, and the
    threads it may use."""

    method: str
    task: str
    variant: str
    seed: int
    threads: int = field(default=1, compare=False)  # MuJoCo threads inside the run; not part of its identity
    cell: str = DEFAULT_CELL
    nondominant: str = DEFAULT_NONDOMINANT
    sizing: str = DEFAULT_SIZING
    loss: str = ""

    @property
    def axes(self) -> dict[str, str]:
        """The run's values of the axes beyond the paper's (what the results tables record)."""
        return {"cell": self.cell, "nondominant": self.nondominant, "sizing": self.sizing, "loss": self.loss}

    @property
    def folder(self) -> str:
        """The variant's folder: ``{variant}``, with ``+{value}`` for each axis not at the paper's value."""
        defaults = {f.name: f.default for f in fields(self)}  # the paper's value of each axis
        extras = [value for axis, value in self.axes.items() if value != defaults[axis]]
        return "+".join((self.variant, *extras))

    @property
    def key(self) -> str:
        """The run's path under ``runs/``: ``{method}/{task}/{folder}/seed{N}``."""
        return f"{self.method}/{self.task}/{self.folder}/seed{self.seed}"

    def directory(self, root: str | Path) -> Path:
        return Path(root) / "runs" / self.key

    @classmethod
    def from_directory(cls, path: str | Path) -> RunSpec:
        """The spec of run directory ``path`` (``.../runs/{method}/{task}/{folder}/seed{N}``)."""
        method, task, folder, seed = Path(path).parts[-4:]
        if not seed.startswith("seed") or not seed[4:].isdigit():
            raise ValueError(f"{path} is not a run directory (runs/METHOD/TASK/VARIANT/seedN)")
        variant, *extras = folder.split("+")
        axes = {}
        for extra in extras:
            name = (
                "cell"
                if extra in CELLS
                else "nondominant"
                if extra in NONDOMINANT_LOSSES
                else "sizing"
                if extra in SIZINGS
                else "loss"
                if "=" in extra
                else None
            )
            if name is None or name in axes:
                raise ValueError(f"{path}: {folder!r} is not VARIANT[+CELL][+NONDOMINANT][+SIZING][+LOSS]")
            axes[name] = extra
        return cls(method, task, variant, int(seed[4:]), **axes)


@dataclass(frozen=True)
class GridSpec(Settings):
    """The grid: the product of methods, tasks, variants, cell types, non-dominant losses and seeds at
    one budget. A non-dominant loss other than the paper's applies to the variants it trains (those
    with a non-dominant hemisphere or hand); a method trains the combinations it ``supports``."""

    budget: Budget | str = setting("quick", "training budget of every run", choices=tuple(BUDGETS))
    seeds: int = setting(5, "seeds per variant and task")
    tasks: tuple[str, ...] = setting(TASK_NAMES, "tasks", choices=TASK_NAMES)
    variants: tuple[str, ...] = setting(tuple(VARIANTS), "variants", choices=tuple(VARIANTS))
    methods: tuple[str, ...] = setting(
        DEFAULT_METHODS, "training methods: distal, and with the rl extra ppo, sac, bilateral-ppo"
    )
    cells: tuple[str, ...] = setting(
        (DEFAULT_CELL,), "hemisphere cell types (distal teacher only for gru)", choices=CELLS
    )
    nondominant: tuple[str, ...] = setting(
        (DEFAULT_NONDOMINANT,),
        "non-dominant losses (for uni-nondom, bi-spec, bi-spec-cc)",
        choices=tuple(NONDOMINANT_LOSSES),
    )
    sizings: tuple[str, ...] = setting(
        (DEFAULT_SIZING,),
        "unilateral sizes: units (the paper's: as many hidden units as the bilateral model) and/or parameters "
        "(as many parameters); the bilateral variants are the same under both",
        choices=SIZINGS,
    )
    loss_grid: tuple[str, ...] = setting(
        (),
        "a grid over loss weights, each item NAME=VALUE[,VALUE...] (e.g. error=l1,mse10 effort=0,0.2,2): every "
        "combination trains the variants whose loss it changes (by default the non-dominant loss; "
        "dominant.effort=... names another preset); error=l1|mse10 moves a preset's position weight onto one "
        "form, effort=W sets the excitation term, any loss term by its name",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", get_budget(self.budget) if isinstance(self.budget, str) else self.budget)
        for name in ("tasks", "variants", "methods", "cells", "nondominant", "sizings", "loss_grid"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        for name, given, known in (
            ("task", self.tasks, TASK_NAMES),
            ("variant", self.variants, VARIANTS),
            ("cell", self.cells, CELLS),
            ("non-dominant loss", self.nondominant, NONDOMINANT_LOSSES),
            ("sizing", self.sizings, SIZINGS),
        ):
            unknown = [g for g in given if g not in known]
            if unknown:
                raise ValueError(f"unknown {name}s {unknown}; choose from {list(known)}")
        for method in self.methods:
            trainer = methods.get(method)  # a clear error for an unknown method or a missing extra
            reasons = [trainer.unsupported(variant, cell) for variant in self.variants for cell in self.cells]
            if all(reasons):
                raise ValueError(
                    f"method {method!r} trains none of the variants {list(self.variants)} with cells "
                    f"{list(self.cells)}: {reasons[0]}"
                )

    def runs(self, threads: int = 1) -> list[RunSpec]:
        """Every run, an axis's non-default value only for the variants it changes (the others are run
        once, at the paper's value, and belong to every combination); a loss grid is the distal
        teacher's (the RL methods' rewards are the presets' own)."""
        labels = loss_axis(self.loss_grid) if self.loss_grid else [""]
        return [
            RunSpec(method, task, variant, seed, threads, cell, nondominant, sizing, loss)
            for method in self.methods
            for task in self.tasks
            for cell in self.cells
            for nondominant in self.nondominant
            for sizing in self.sizings
            for variant in self.variants
            if nondominant == DEFAULT_NONDOMINANT or get_variant(variant).trains_nondominant
            if sizing == DEFAULT_SIZING or get_variant(variant).structure == "unilateral"
            for loss in (self._losses_of(variant, nondominant, labels) if method == "distal" else [""])
            if methods.get(method).supports(variant, cell, nondominant)
            for seed in range(self.seeds)
        ]

    @staticmethod
    def _losses_of(variant: str, nondominant: str, labels: list[str]) -> list[str]:
        """The loss grid labels a variant runs with: those that change a loss it trains with, else none."""
        presets = run_presets(VARIANTS[variant].losses, nondominant)
        changing = [label for label in labels if label and loss_label_overrides(label, presets)]
        return changing or [""]

    def definition(self) -> dict:
        """What ``grid.json`` records."""
        return {
            "budget": self.budget.to_dict(),
            "seeds": self.seeds,
            "tasks": list(self.tasks),
            "variants": list(self.variants),
            "methods": list(self.methods),
            "cells": list(self.cells),
            "nondominant": list(self.nondominant),
            "sizings": list(self.sizings),
            "loss_grid": list(self.loss_grid),
        }


__all__ = ["GridSpec", "RunSpec"]
