"""Training methods behind one small interface, found by name.

A method (``Method``) knows which variants it trains, turns a grid run's spec and budget into its
configuration, trains it into a directory (resuming what was cut short), and loads what it trained
as a ``Trained``: the model, its configuration, and how it acts (``act`` None: a torch controller,
which evaluation, lesions and rendering then run themselves). ``METHODS`` maps each name to the
import string of its method object, so that nothing is imported before it is asked for (the RL
methods need the ``rl`` extra) and no method imports this registry back. Methods of one's own are
added by name through the ``BILATERAL_METHODS`` environment variable (``registered``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bilateral.losses import DEFAULT_NONDOMINANT
from bilateral.variants import DEFAULT_CELL

METHODS: dict[str, str] = {
    "distal": "bilateral.methods.distal:DISTAL",
    "ppo": "bilateral.methods.rl:PPO",
    "sac": "bilateral.methods.rl:SAC",
    "bilateral-ppo": "bilateral.methods.rl:BILATERAL_PPO",
}


@dataclass
class Trained:
    """A trained run as its method loads it: ``model`` (a ``bilateral.controllers`` controller, or an
    SB3 policy), its ``config``, and ``act(observations (N, 16)) -> excitations (N, 6)`` when the model
    is not a controller (None when it is: then it is run, lesioned and rendered as one)."""

    model: Any
    config: Any
    act: Callable[[np.ndarray], np.ndarray] | None
    method: str
    source: str = "model.pt"  # which of a run's models it is, in words (RL runs keep their best too)


class Method(Protocol):
    """What a training method offers the grid and the command line."""

    name: str
    config_class: type  # its configuration: a ``bilateral.settings.Settings`` dataclass

    def unsupported(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> str | None:
        """Why it cannot train ``variant`` with hemispheres of ``cell`` and non-dominant loss
        ``nondominant``, or None when it can: the one statement of what a method trains."""

    def supports(self, variant: str, cell: str = DEFAULT_CELL, nondominant: str = DEFAULT_NONDOMINANT) -> bool:
        """``unsupported(...) is None``."""

    def config(self, spec, budget):
        """The configuration of grid run ``spec`` (task, variant, cell, non-dominant loss, seed, threads)
        under ``budget``."""

    def train(self, config, directory: Path, *, resume: bool = True, progress: bool = False) -> dict:
        """Train ``config`` into ``directory`` (a finished run is not redone; an unfinished one resumes
        when ``resume``); return the run's summary."""

    def load(self, path: str | Path) -> Trained:
        """What it trained, from a run directory or its ``model.pt``."""


def registered() -> dict[str, str]:
    """``METHODS``, and the methods the environment variable ``BILATERAL_METHODS`` adds: a comma-
    separated list of ``name=module:object`` (methods of a user's own; worker processes inherit it)."""
    extra = {}
    for item in filter(None, os.environ.get("BILATERAL_METHODS", "").split(",")):
        name, _, target = item.partition("=")
        extra[name.strip()] = target.strip()
    return {**METHODS, **extra}


def get(name: str) -> Method:
    """The method called ``name`` (see ``registered``)."""
    target = registered().get(name, "")
    if ":" not in target:
        raise ValueError(f"unknown method {name!r}; choose one of {list(registered())}")
    module, _, attribute = target.partition(":")
    extra = " (the RL methods need the rl extra: pip install -e '.[rl]')" if name in METHODS else ""
    try:
        method = getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        raise ValueError(f"method {name!r} cannot be loaded{extra}: {error}") from None
    missing = [m for m in getattr(method, "requires", ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"method {name!r} cannot be loaded{extra}: no module named {missing[0]!r}")
    return method


def load_trained(path: str | Path) -> Trained:
    """Any trained run (its directory or ``model.pt``), whatever the method that trained it."""
    from bilateral import checkpoint

    path = Path(path)
    run = path if path.is_dir() else path.parent
    if not (run / "model.pt").exists() and (run / "checkpoint.pt").exists():
        state = checkpoint.load(run / "checkpoint.pt")
        done = state.get("state", {}).get("next_batch", state.get("steps"))
        unit = "batches" if "state" in state else "environment steps"
        raise FileNotFoundError(
            f"{run} holds an unfinished run ({done} {unit} trained; checkpoint.pt, no model.pt yet): finish it with "
            f"`bilateral train --out {run} --resume` and the options it was started with, then evaluate it"
        )
    payload = checkpoint.load(path / "model.pt" if path.is_dir() else path)
    return get(method_of(payload)).load(path)


def method_of(payload: dict) -> str:
    """The method a checkpoint was written by (checkpoints older than the ``method`` key: an RL
    configuration names its method, the distal teacher's does not)."""
    return payload.get("method") or payload.get("config", {}).get("method", "distal")
