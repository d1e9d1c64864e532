"""Statistics over seeds: each run's means, Student-t intervals, and comparisons of two variants.

Each run (seed) is summarised by its mean over the test trials; variants are compared over seeds.
Intervals are Student-t 95 % intervals over seeds: of a variant's mean (``t_interval``), and of the
difference of two variants' means: paired over seeds where two variants' runs of a seed share their
initial weights and training trials (``paired``, ``paired_interval``), Welch's where they do not
(``welch_interval``). A family of comparisons is corrected with Holm's method (``holm``). A percentile bootstrap over 3-10
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
from bilateral.losses import DEFAULT_NONDOMINANT, NONDOMINANT_LOSSES, loss_label_overrides, run_presets
from bilateral.variants import CELLS, DEFAULT_CELL, DEFAULT_SIZING, SIZINGS, VARIANTS

CONFIDENCE = 0.95
EQUIVALENCE_MARGIN = 0.10  # "as good as": at most 10 % worse than the reference
# A run *learned* its task when its headline metric is at most a quarter of a passive arm's (zero
# excitation) on the standard test set (256 trials of 50 steps; tests/test_report.py computes it): its
# reaches end within 10.9 cm of the target (the passive hand stays 43.4 cm away on average), its hand
# holds within 5.7 cm RMS (a passive hand is pushed 22.8 cm RMS by the load).
PASSIVE = {"reach": 0.4341, "hold": 0.2278}  # m
LEARNED = {task: 0.25 * value for task, value in PASSIVE.items()}
RUN_COLUMNS = ("method", "task", "variant", "seed", "lesion", "trial")
AXES = ("cell", "nondominant", "sizing", "loss")  # grid axes beyond the paper's, when a table has them


def axes_of(table: pd.DataFrame) -> list[str]:
    """The grid axes (``AXES``) a results table has columns for."""
    return [a for a in AXES if a in table.columns]


@dataclass(frozen=True)
class Combination:
    """A value of each axis beyond the paper's (cell type, non-dominant loss, sizing, loss grid label): the
    runs of the seven variants that one set of claims judges. A variant an axis value does not change
    (``uni-dom`` under another non-dominant loss, a bilateral variant under another sizing, a variant
    whose losses a loss grid label leaves alone) is run at the paper's value only and belongs to every
    combination of its other values."""

    cell: str = DEFAULT_CELL
    nondominant: str = DEFAULT_NONDOMINANT
    sizing: str = DEFAULT_SIZING
    loss: str = ""

    @property
    def is_paper(self) -> bool:
        return self == Combination()

    @property
    def changed(self) -> list[str]:
        """Its values that are not the paper's."""
        default = Combination()
        return [getattr(self, a) for a in AXES if getattr(self, a) != getattr(default, a)]

    @property
    def suffix(self) -> str:
        """What file names of this combination add: ``""`` for the paper's, else ``_gru``, ``_impedance``…"""
        return "".join(f"_{x}" for x in self.changed)

    @property
    def label(self) -> str:
        text = f"{self.cell} hemispheres, {self.nondominant} non-dominant loss"
        text += ", unilateral controllers with as many parameters" if self.sizing == "parameters" else ""
        return text + (f", loss weights {self.loss}" if self.loss else "")

    def includes(self, variant: str, cell: str, nondominant: str, sizing: str = DEFAULT_SIZING, loss: str = "") -> bool:
        v = VARIANTS[variant]
        same_loss = nondominant == self.nondominant or (not v.trains_nondominant and nondominant == DEFAULT_NONDOMINANT)
        same_size = sizing == self.sizing or (v.structure == "bilateral" and sizing == DEFAULT_SIZING)
        unchanged = not loss_label_overrides(self.loss, run_presets(v.losses, self.nondominant))
        same_weights = loss == self.loss or (loss == "" and unchanged)
        return cell == self.cell and same_loss and same_size and same_weights

    def rows(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of a results table (with the ``AXES`` columns) that belong to the combination."""
        default = Combination()  # a table older than an axis ran its paper value
        columns = [table[c] if c in table else [getattr(default, c)] * len(table) for c in AXES]
        keep = [self.includes(*key) for key in zip(table["variant"], *columns, strict=True)]
        return table[np.asarray(keep, dtype=bool)]


PAPER = Combination()  # dense hemispheres, the paper's non-dominant loss


def combinations(results: pd.DataFrame) -> list[Combination]:
    """The combinations a results table holds runs of, the paper's first."""
    found = {Combination(*values) for values in results[list(AXES)].drop_duplicates().itertuples(index=False)}
    return sorted(
        found,
        key=lambda c: (
            not c.is_paper,
            CELLS.index(c.cell),
            list(NONDOMINANT_LOSSES).index(c.nondominant),
            SIZINGS.index(c.sizing),
            c.loss,
        ),
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
    """method x axes x task x variant x metric: seeds, mean over seeds and its 95 % t-interval, median
    over seeds, and for the headline metric the share of seeds that learned the task (``LEARNED``)."""
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
                    "median": float(np.median(finite)) if len(finite) else float("nan"),
                    "learned": float((finite <= LEARNED[task]).mean())
                    if metric == HEADLINE[task] and len(finite)
                    else float("nan"),
                }
            )
    return with_loss_weights(pd.DataFrame(rows))


def with_loss_weights(table: pd.DataFrame) -> pd.DataFrame:
    """A table with a ``loss`` column of loss grid labels (``error=l1,effort=0.2``) gets one column per
    varied weight after it (``error``, ``effort``; empty where a run kept its preset's weights)."""
    if "loss" not in table or not table["loss"].astype(bool).any():
        return table
    items = table["loss"].map(lambda label: dict(item.split("=", 1) for item in label.split(",") if item))
    for k, name in enumerate(dict.fromkeys(n for d in items for n in d)):
        table.insert(table.columns.get_loc("loss") + 1 + k, name, items.map(lambda d, n=name: d.get(n, "")))
    return table


def paired_interval(a, b) -> tuple[float, float]:
    """95 % Student-t interval of the mean of the paired differences ``a[i] - b[i]`` (runs of the same
    seed; pairs with a NaN dropped; NaN with fewer than two pairs)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    return t_interval(a[keep] - b[keep])


def paired(a: str, b: str) -> bool:
    """Whether runs of variants ``a`` and ``b`` with one seed are paired: the same structure starts
    from the same weights and sees the same training trials (the three unilateral variants share
    them; so do the four bilateral ones), so their seed-to-seed luck is shared."""
    return VARIANTS[a].structure == VARIANTS[b].structure


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (strong control of the family-wise error):
    the k-th smallest is multiplied by (m - k + 1), and the results made monotone and capped at 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    return adjusted


def compare(per_seed: pd.DataFrame, task: str, a: str, b: str, method: str = "distal"):
    """Is variant ``a`` better than ``b`` on ``task``'s headline metric (lower is better)?

    Difference ``a - b`` of the means over seeds with its 95 % interval: paired over seeds where the
    runs are paired (``paired``: the same structure, and both have the same seeds), Welch's otherwise;
    ``better`` / ``worse`` when the interval excludes zero, else ``not distinguishable``, with the
    test's two-sided p-value. ``as_good`` when the interval's upper end is below ``EQUIVALENCE_MARGIN``
    of ``b``'s mean (``a`` is at most 10 % worse, or better), ``as_good_mean`` when ``a``'s mean alone
    is, ``beyond_margin`` when the interval's lower end is above it (decisively more than 10 % worse).
    ``per_seed`` holds one combination's runs (``Combination.rows``). Returns a dict, or None when
    either variant has no runs.
    """
    metric = HEADLINE[task]
    if metric not in per_seed.columns:
        return None
    rows = per_seed[(per_seed["task"] == task) & (per_seed["method"] == method)]
    sa = rows.loc[rows["variant"] == a].set_index("seed")[metric].sort_index()
    sb = rows.loc[rows["variant"] == b].set_index("seed")[metric].sort_index()
    if len(sa) == 0 or len(sb) == 0:
        return None
    va, vb = sa.to_numpy(), sb.to_numpy()
    pairing = paired(a, b) and list(sa.index) == list(sb.index) and len(va) > 1
    with warnings.catch_warnings():  # no spread at all: scipy warns, the interval says it
        warnings.simplefilter("ignore", RuntimeWarning)
        if pairing:
            low, high = paired_interval(va, vb)
            p_value = float(stats.ttest_rel(va, vb, nan_policy="omit").pvalue)
        else:
            low, high = welch_interval(va, vb)
            p_value = float(stats.ttest_ind(va, vb, equal_var=False, nan_policy="omit").pvalue)
    if pairing:  # the difference of the pairs the interval is over
        kept = np.isfinite(va) & np.isfinite(vb)
        diff = float(np.mean(va[kept] - vb[kept])) if kept.any() else float("nan")
    else:
        diff = float(np.nanmean(va) - np.nanmean(vb))
    if np.isfinite(low) and high < 0:
        verdict = "better"
    elif np.isfinite(low) and low > 0:
        verdict = "worse"
    else:
        verdict = "not distinguishable"
    margin = EQUIVALENCE_MARGIN * float(np.nanmean(vb))
    return {
        "task": task,
        "a": a,
        "b": b,
        "metric": metric,
        "a_mean": float(np.nanmean(va)),
        "b_mean": float(np.nanmean(vb)),
        "diff": diff,
        "ci_low": low,
        "ci_high": high,
        "test": "paired" if pairing else "Welch",
        "p": p_value if np.isfinite(p_value) else (0.0 if np.isfinite(low) and (high < 0 or low > 0) else 1.0),
        "verdict": verdict,
        "as_good": bool(np.isfinite(high) and high < margin),
        "as_good_mean": bool(diff < margin),
        "beyond_margin": bool(np.isfinite(low) and low > margin),
        "n": (len(va), len(vb)),
    }
