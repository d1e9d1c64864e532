"""Figures without pyplot: made on their own (no backend chosen, no global figure left behind, so a
notebook that imports this keeps its inline plots) and written atomically as PNG files. The report's
figures and the rendered rollouts' both draw with these."""

from __future__ import annotations

from pathlib import Path

from bilateral.io import atomic_path


def subplots(*args, **kwargs):
    """``(figure, axes)`` as ``pyplot.subplots`` makes them, but outside pyplot."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=kwargs.pop("figsize", None))
    return figure, figure.subplots(*args, **kwargs)


def save(figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``figure`` to ``path`` (a PNG) atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path
