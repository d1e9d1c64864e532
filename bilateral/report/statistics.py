"""Statistics over seeds: each run's means, Student-t intervals, and comparisons of two variants.

Each run (seed) is summarised by its mean over the test trials; variants are compared over seeds.
Intervals are Student-t 95 % intervals over seeds: of a variant's mean (``t_interval``) and, Welch's,
of the difference of two variants' means (``welch_interval``). A percentile bootstrap over 3-10
seeds is too narrow (it cannot see beyond the spread of the few values it resamples: it once showed
8.8 [8.7, 8.8] cm for three seeds 8.7-8.8), so tables, figures and the claims all use these.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bilateral.evaluation import HEADLINE, TASK_METRICS
from bilateral.losses import DEFAULT_NONDOMINANT, NONDOMINANT_LOSSES
from bilateral.variants import CELLS, DEFAULT_CELL, VARIANTS

CONFIDENCE = 0.95
EQUIVALENCE_MARGIN = 0.10  # "as good as": at most 10 % worse than the reference
RUN_COLUMNS = ("method", "task", "variant", "seed", "lesion", "trial")
AXES = ("cell", "nondominant")  # grid axes beyond the paper's, when a table has them


def axes_of(table: pd.DataFrame) -> list[str]:
    """The grid axes (``AXES``) a results table has columns for."""
    return [a for a in AXES if a in table.columns]


@dataclass(frozen=True)
class Combination:
    """A cell type and a non-dominant loss: the runs of the seven variants that one set of claims
    judges. The variants no non-dominant loss trains (``uni``, ``uni-dom``, ``bi``, ``bi-cc``) are
    run with the paper's name only and belong to every combination of their cell type."""

    cell: str = DEFAULT_CELL
    nondominant: str = DEFAULT_NONDOMINANT

    @property
    def is_paper(self) -> bool:
        return self == Combination()

    @property
    def suffix(self) -> str:
        """What file names of this combination add: ``""`` for the paper's, else ``_gru``, ``_impedance``…"""
        default = Combination()
        changed = [x for x, d in ((self.cell, default.cell), (self.nondominant, default.nondominant)) if x != d]
        return "".join(f"_{x}" for x in changed)

    @property
    def label(self) -> str:
        return f"{self.cell} hemispheres, {self.nondominant} non-dominant loss"

    def includes(self, variant: str, cell: str, nondominant: str) -> bool:
        shared = not VARIANTS[variant].trains_nondominant and nondominant == DEFAULT_NONDOMINANT
        return cell == self.cell and (nondominant == self.nondominant or shared)

    def rows(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of a results table (with the ``AXES`` columns) that belong to the combination."""
        keep = [self.includes(*key) for key in zip(table["variant"], table["cell"], table["nondominant"], strict=True)]
        return table[np.asarray(keep, dtype=bool)]


PAPER = Combination()  # dense hemispheres, the paper's non-dominant loss


def combinations(results: pd.DataFrame) -> list[Combination]:
    """The combinations a results table holds runs of, the paper's first."""
    pairs = results[list(AXES)].drop_duplicates().itertuples(index=False)
    found = {Combination(cell, nondominant) for cell, nondominant in pairs}
    return sorted(
        found, key=lambda c: (not c.is_paper, CELLS.index(c.cell), list(NONDOMINANT_LOSSES).index(c.nondominant))
    )


def seed_means(results: pd.DataFrame, lesion: str = "none") -> pd.DataFrame:
    """One row per run (method, axes, task, variant, seed): each metric's mean over the test trials."""
    rows = results[results["lesion"] == lesion]
    keys = ["method", *axes_of(rows), "task", "variant", "seed"]
    metrics = [c for c in rows.columns if c not in (*RUN_COLUMNS, *AXES)]
    return rows.groupby(keys, as_index=False)[metrics].mean()


def t_interval(values) -> tuple[float, float]:
    """95 % Student-t interval of the mean of ``values`` (NaNs dropped; NaN with fewer than two)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return (float("nan"), float("nan"))
    mean, sem = v.mean(), stats.sem(v)
    if sem == 0:
        return (float(mean), float(mean))
    low, high = stats.t.interval(CONFIDENCE, len(v) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def welch_interval(a, b) -> tuple[float, float]:
    """95 % Welch t interval of ``mean(a) - mean(b)`` (unequal variances; NaN with fewer than 2 each)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return (float("nan"), float("nan"))
    if a.var() == 0 and b.var() == 0:  # no spread at all: the difference is exact
        diff = float(a.mean() - b.mean())
        return (diff, diff)
    with warnings.catch_warnings():  # one group without spread: scipy warns, and its answer is right
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(CONFIDENCE)
    return float(ci.low), float(ci.high)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """method x axes x task x variant x metric: seeds, mean over seeds and its 95 % t-interval."""
    per_seed = seed_means(results)
    keys = ["method", *axes_of(per_seed), "task", "variant"]
    rows = []
    for key, group in per_seed.groupby(keys, sort=False):
        task = dict(zip(keys, key, strict=True))["task"]
        for metric in (m for m in TASK_METRICS[task] if m in group.columns):
            values = group[metric].to_numpy()
            finite = values[np.isfinite(values)]
            low, high = t_interval(finite)
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "metric": metric,
                    "n_seeds": len(finite),
                    "mean": float(finite.mean()) if len(finite) else float("nan"),
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows)


def compare(per_seed: pd.DataFrame, task: str, a: str, b: str, method: str = "distal"):
    """Is variant ``a`` better than ``b`` on ``task``'s headline metric (lower is better)?

    Difference ``a - b`` of the means over seeds with its 95 % Welch interval: ``better`` / ``worse``
    when the interval excludes zero, else ``not distinguishable``; ``as_good`` when its upper end is
    below ``EQUIVALENCE_MARGIN`` of ``b``'s mean (``a`` is at most 10 % worse, or better), and
    ``as_good_mean`` when ``a``'s mean alone is. ``per_seed`` holds one combination's runs
    (``Combination.rows``). Returns a dict, or None when either variant has no runs.
    """
    metric = HEADLINE[task]
    if metric not in per_seed.columns:
        return None
    rows = per_seed[(per_seed["task"] == task) & (per_seed["method"] == method)]
    va = rows.loc[rows["variant"] == a, metric].to_numpy()
    vb = rows.loc[rows["variant"] == b, metric].to_numpy()
    if len(va) == 0 or len(vb) == 0:
        return None
    diff = float(va.mean() - vb.mean())
    low, high = welch_interval(va, vb)
    if np.isfinite(low) and high < 0:
        verdict = "better"
    elif np.isfinite(low) and low > 0:
        verdict = "worse"
    else:
        verdict = "not distinguishable"
    margin = EQUIVALENCE_MARGIN * float(vb.mean())
    return {
        "task": task,
        "a": a,
        "b": b,
        "metric": metric,
        "a_mean": float(va.mean()),
        "b_mean": float(vb.mean()),
        "diff": diff,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict,
        "as_good": bool(np.isfinite(high) and high < margin),
        "as_good_mean": bool(diff < margin),
        "n": (len(va), len(vb)),
    }
