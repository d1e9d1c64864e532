"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of tensors and plain Python values (the run's config as a dict, counters,
floats), so the safe loader can read it without unpickling arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bilateral.io import atomic_path

FORMAT = 1


class RunStateError(ValueError):
    """A run directory's saved training state cannot be continued (damaged, foreign, or of another
    configuration): a grid starts such a run again."""


class CheckpointError(RunStateError):
    """A file that is not a readable checkpoint of this format (truncated, corrupted, foreign)."""


def save(path: str | Path, payload: dict) -> None:
    """Write ``payload`` (plus a format number) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)


def load(path: str | Path) -> dict:
    """Read a checkpoint written by ``save``; refuses other files with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, corrupted, or not a torch file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from error
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if found != FORMAT:
        raise CheckpointError(f"{path} is not a bilateral checkpoint of format {FORMAT} (found format {found!r})")
    return payload
