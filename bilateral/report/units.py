"""How metrics are shown: units from the column names (``_m`` metres, shown in cm; ``_s`` s; ``_m_s`` m/s)."""

from __future__ import annotations


def unit(metric: str) -> tuple[str, str, float]:
    """(name without its unit suffix, display unit, scale to it): lengths in metres are shown in cm."""
    for suffix, shown, scale in (("_m_s", "m/s", 1.0), ("_m", "cm", 100.0), ("_s", "s", 1.0)):
        if metric.endswith(suffix):
            return metric[: -len(suffix)], shown, scale
    return metric, "", 1.0


def fmt(metric: str, value: float) -> str:
    """``value`` of ``metric`` in its display unit."""
    _, shown, scale = unit(metric)
    return f"{value * scale:.2f} {shown}" if shown else f"{value:.3f}"


def label(metric: str) -> str:
    """An axis label: the metric's name and display unit."""
    name, shown, _ = unit(metric)
    return name.replace("_", " ") + (f" ({shown})" if shown else "")


def scale(metric: str) -> float:
    return unit(metric)[2]
