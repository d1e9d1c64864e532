"""Figures of a grid: metrics per variant, example paths and speeds, hold deviation over time (steady
load and pushes), lesion effects, hemisphere weights during training. Intervals are the Student-t
intervals of ``statistics``; every figure is written atomically as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bilateral import metrics
from bilateral.evaluation import FS, HEADLINE, HIGHER_IS_BETTER, PUSH_WINDOW, TASK_METRICS
from bilateral.grid import RunSpec, finished_runs
from bilateral.plotting import save, subplots
from bilateral.report.statistics import PAPER, Combination, t_interval
from bilateral.report.units import label, scale
from bilateral.variants import BILATERAL, VARIANTS
from bilateral.variants import LESIONS as LESION_NAMES
from bilateral_envs.tasks import DT

LESIONS = ("none", *LESION_NAMES)


def titled(text: str, combination: Combination) -> str:
    """A figure's title, naming the combination when it is not the paper's."""
    return text if combination.is_paper else f"{text}\n({combination.label})"


def runs_of(root: Path, method: str, combination: Combination = PAPER):
    """``(spec, directory)`` of the finished runs of ``method`` in ``combination``."""
    for run in finished_runs(root):
        spec = RunSpec.from_directory(run)
        if spec.method == method and combination.includes(spec.variant, spec.cell, spec.nondominant):
            yield spec, run


def runs_by_variant(
    root: Path, method: str, task: str, seed: int = 0, combination: Combination = PAPER
) -> dict[str, Path]:
    """Run directories of ``method`` on ``task`` with ``seed`` in ``combination``, by variant."""
    return {
        spec.variant: run for spec, run in runs_of(root, method, combination) if spec.task == task and spec.seed == seed
    }


def metrics_figure(
    summary: pd.DataFrame,
    per_seed: pd.DataFrame,
    task: str,
    method: str,
    path: Path,
    combination: Combination = PAPER,
) -> Path | None:
    """Every metric of ``task`` per variant: mean over seeds with its 95 % t-interval, and each seed."""
    rows = summary[(summary["task"] == task) & (summary["method"] == method)]
    if rows.empty:
        return None
    variants = [v for v in VARIANTS if v in set(rows["variant"])]
    names = [m for m in TASK_METRICS[task] if m in set(rows["metric"])]
    columns, rows_of_plots = 4, -(-len(names) // 4)
    fig, axes = subplots(rows_of_plots, columns, figsize=(3.3 * columns, 3.4 * rows_of_plots), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    seeds = per_seed[(per_seed["task"] == task) & (per_seed["method"] == method)]
    for ax, metric in zip(axes.flat, names, strict=False):
        m = rows[rows["metric"] == metric].set_index("variant").reindex(variants)
        k = scale(metric)
        x = np.arange(len(variants))
        err = np.vstack([m["mean"] - m["ci_low"], m["ci_high"] - m["mean"]]) * k
        ax.errorbar(x, m["mean"] * k, yerr=np.nan_to_num(err), fmt="o", color="black", capsize=3, zorder=3)
        for i, v in enumerate(variants):
            vals = seeds.loc[seeds["variant"] == v, metric].to_numpy() * k
            ax.plot(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)), vals, ".", color="tab:blue", alpha=0.5)
        ax.set_xticks(x, variants, rotation=60, ha="right", fontsize=8)
        ax.set_title(label(metric) + (" ↑" if metric in HIGHER_IS_BETTER else ""), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(titled(f"{task}: mean over seeds, 95 % t-interval (dots: seeds)", combination))
    fig.tight_layout()
    return save(fig, path)


def examples_figure(
    root: Path, task: str, method: str, path: Path, variants: list[str], combination: Combination = PAPER
) -> Path | None:
    """Hand paths of the first test trials (top) and speed or distance to target over time (bottom)."""
    runs = runs_by_variant(root, method, task, combination=combination)
    variants = [v for v in variants if v in runs]
    if not variants:
        return None
    fig, axes = subplots(2, len(variants), figsize=(3.2 * len(variants), 6.2), squeeze=False)
    for ax in axes[1, 1:]:  # one scale for the speeds or distances of every variant
        ax.sharey(axes[1, 0])
    for j, variant in enumerate(variants):
        with np.load(runs[variant] / "traces.npz") as traces:
            hand, target = traces["hand"][:4], traces["target"][:4]
        ax = axes[0, j]
        for k in range(len(hand)):
            line = ax.plot(hand[k, :, 0], hand[k, :, 1], lw=1.2)[0]
            ax.plot(*hand[k, 0], "o", color=line.get_color(), ms=3)
            ax.plot(*target[k], "*", color=line.get_color(), ms=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(variant)
        ax.set_xlabel("x (m)")
        if j == 0:
            ax.set_ylabel("y (m)")
        ax = axes[1, j]
        t = np.arange(hand.shape[1]) * DT
        for k in range(len(hand)):
            if task == "reach":
                ax.plot(t, metrics.speed(hand[k], FS), lw=1.2)
            else:
                ax.plot(t, np.linalg.norm(hand[k] - target[k], axis=1) * 100, lw=1.2)
        ax.set_xlabel("time (s)")
        if j == 0:
            ax.set_ylabel("hand speed (m/s)" if task == "reach" else "distance to target (cm)")
    fig.suptitle(titled(f"{task}: example test trials (seed 0; ● start, ★ target)", combination))
    fig.tight_layout()
    return save(fig, path)


def _hold_curves(root: Path, method: str, key: str, combination: Combination) -> dict[str, np.ndarray]:
    """Per variant, the seeds' mean distance curves ``key`` of the hold traces, (seeds, steps) in cm."""
    curves: dict[str, list[np.ndarray]] = {}
    for spec, run in runs_of(root, method, combination):
        if spec.task == "hold":
            with np.load(run / "traces.npz") as traces:
                if key in traces:
                    curves.setdefault(spec.variant, []).append(traces[key] * 100)
    return {v: np.array(curves[v]) for v in VARIANTS if v in curves}


def _curves_with_intervals(ax, t: np.ndarray, curves: dict[str, np.ndarray]) -> None:
    for variant, values in curves.items():
        mean = values.mean(axis=0)
        line = ax.plot(t, mean, label=f"{variant} ({len(values)} seeds)")[0]
        if len(values) > 1:
            bounds = np.array([t_interval(values[:, k]) for k in range(values.shape[1])])
            ax.fill_between(t, bounds[:, 0], bounds[:, 1], color=line.get_color(), alpha=0.12)


def deviation_figure(root: Path, method: str, path: Path, combination: Combination = PAPER) -> Path | None:
    """Hold: distance of the hand from the target over time under the steady load, mean over test
    trials; mean over seeds with its 95 % t-interval."""
    curves = _hold_curves(root, method, "distance_mean", combination)
    if not curves:
        return None
    fig, ax = subplots(figsize=(7, 4))
    _curves_with_intervals(ax, np.arange(next(iter(curves.values())).shape[1]) * DT, curves)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("distance from target (cm)")
    ax.set_title(
        titled("hold against an endpoint load: mean deviation (band: 95 % t-interval over seeds)", combination)
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def push_figure(root: Path, method: str, path: Path, combination: Combination = PAPER) -> Path | None:
    """Hold under pushes: distance from the target around the first push's onset (time 0), mean over
    test trials; mean over seeds with its 95 % t-interval."""
    curves = _hold_curves(root, method, "push_distance_mean", combination)
    if not curves:
        return None
    fig, ax = subplots(figsize=(7, 4))
    t = np.arange(PUSH_WINDOW[0], PUSH_WINDOW[1] + 1) * DT
    _curves_with_intervals(ax, t, curves)
    ax.axvspan(0, 0.05, color="orange", alpha=0.15, label="push (20 N, 50 ms)")
    ax.set_xlabel("time from the push's onset (s)")
    ax.set_ylabel("distance from target (cm)")
    ax.set_title(titled("stability under perturbation (band: 95 % t-interval over seeds)", combination))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def lesions_figure(
    results: pd.DataFrame, task: str, method: str, path: Path, combination: Combination = PAPER
) -> Path | None:
    """The headline metric of each bilateral variant, intact and under each lesion (95 % t-intervals)."""
    rows = results[(results["task"] == task) & (results["method"] == method) & results["variant"].isin(BILATERAL)]
    if rows.empty or (rows["lesion"] == "none").all():
        return None
    metric = HEADLINE[task]
    per_seed = rows.groupby(["variant", "lesion", "seed"], as_index=False)[metric].mean()
    variants = [v for v in BILATERAL if v in set(per_seed["variant"])]
    fig, ax = subplots(figsize=(1.9 * len(variants) + 2, 4))
    width = 0.8 / len(LESIONS)
    for k, lesion in enumerate(LESIONS):
        means, errs = [], []
        for v in variants:
            vals = per_seed[(per_seed["variant"] == v) & (per_seed["lesion"] == lesion)][metric].to_numpy() * 100
            means.append(vals.mean() if len(vals) else np.nan)
            low, high = t_interval(vals)
            errs.append([means[-1] - low, high - means[-1]] if np.isfinite(low) else [0, 0])
        x = np.arange(len(variants)) + (k - len(LESIONS) / 2 + 0.5) * width
        ax.bar(x, means, width, yerr=np.array(errs).T, capsize=2, label=lesion)
    ax.set_xticks(np.arange(len(variants)), variants)
    ax.set_ylabel(label(metric))
    ax.set_title(titled(f"{task}: effect of lesions (mean over seeds, 95 % t-interval)", combination))
    ax.legend(fontsize=8, title="lesion", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path)


def weights_figure(root: Path, method: str, path: Path, combination: Combination = PAPER) -> Path | None:
    """w_L and w_R over training, for every bilateral variant and task (mean over seeds)."""
    series: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for spec, run in runs_of(root, method, combination):
        if spec.variant not in BILATERAL or not (run / "metrics.csv").exists():
            continue
        log = pd.read_csv(run / "metrics.csv")
        log = log[log["kind"] == "train"][["batch", "w_left", "w_right"]].dropna()
        if not log.empty:
            series.setdefault((spec.task, spec.variant), []).append(log.set_index("batch"))
    if not series:
        return None
    tasks = sorted({t for t, _ in series})
    fig, axes = subplots(1, len(tasks), figsize=(6 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for (t, variant), logs in sorted(series.items()):
            if t != task:
                continue
            mean = pd.concat(logs).groupby(level=0).mean()
            line = ax.plot(mean.index, mean["w_left"], label=f"{variant} w_L")[0]
            ax.plot(mean.index, mean["w_right"], "--", color=line.get_color(), label=f"{variant} w_R")
        ax.set_title(titled(f"{task}: hemisphere weights during training", combination))
        ax.set_xlabel("training batch")
        ax.set_ylabel("weight")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, path)


RL_PANELS = (  # (title, progress.csv columns or "validation"), what a PPO run's health shows in
    ("validation: headline metric (cm)", ("validation",)),
    ("mean episode return", ("rollout/ep_rew_mean",)),
    ("value loss", ("train/value_loss",)),
    ("approximate KL", ("train/approx_kl",)),
    ("clip fraction", ("train/clip_fraction",)),
    (
        "Beta concentration: mean, min, max",
        ("train/concentration", "train/concentration_min", "train/concentration_max"),
    ),
    ("advantage spread per objective, before normalising", ("train/advantage_std_0", "train/advantage_std_1")),
    ("reward divisor per objective (scale_rewards)", ("train/return_scale_0", "train/return_scale_1")),
    ("explained variance", ("train/explained_variance",)),
)


def read_progress(run: str | Path):
    """SB3's log of a run (``progress.csv``), with the parts a resumed run set aside
    (``progress.to-{steps}.csv``) before it, in order of steps."""
    import pandas as pd

    run = Path(run)
    parts = sorted(run.glob("progress.to-*.csv"), key=lambda p: int(p.stem.split("-")[-1]))
    tables = [pd.read_csv(p) for p in [*parts, run / "progress.csv"] if p.exists() and p.stat().st_size > 0]
    if not tables:
        raise FileNotFoundError(f"no progress.csv in {run}")
    log = pd.concat(tables, ignore_index=True)
    return log.drop_duplicates("time/total_timesteps", keep="last").sort_values("time/total_timesteps")


def rl_training_figure(run: Path, path: Path, title: str | None = None) -> Path | None:
    """An RL run over its environment steps: the validation score (``validation.csv``) and what SB3
    logged (``progress.csv``) — returns, value loss, KL, clip fraction, the Beta concentration, the
    advantages' spread, the reward scale; panels whose columns the run did not log (SAC, stock PPO)
    are left out. ``title`` defaults to the run folder's name."""
    run = Path(run)
    try:
        log = read_progress(run)
    except FileNotFoundError:
        return None
    validation = pd.read_csv(run / "validation.csv") if (run / "validation.csv").exists() else None
    panels = [
        (heading, columns)
        for heading, columns in RL_PANELS
        if (columns == ("validation",) and validation is not None) or any(c in log for c in columns)
    ]
    if not panels:
        return None
    fig, axes = subplots(2, -(-len(panels) // 2), figsize=(3.6 * -(-len(panels) // 2), 6.4), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    steps = log["time/total_timesteps"]
    for ax, (heading, columns) in zip(axes.T.flat, panels, strict=False):
        if columns == ("validation",):
            ax.plot(validation["steps"], validation["headline_m"] * 100, "o-", ms=3)
        for column in (c for c in columns if c in log):
            ax.plot(steps, log[column], lw=1, label=column.split("/")[-1])
        if len(columns) > 1:
            ax.legend(fontsize=6)
        ax.set_title(heading, fontsize=9)
        ax.set_xlabel("environment steps", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"{run.name}: training")
    fig.tight_layout()
    return save(fig, path)


def sensitivity_figure(per_seed: pd.DataFrame, path: Path, hands: tuple[str, str] = ("uni-dom", "uni-nondom")):
    """Where in the plane of a loss grid each hand wins each task: for every loss grid label of the
    second hand (``uni-nondom``, trained with the grid's weights) and each task, the paired difference
    of its headline metric from the first hand's (``uni-dom``, the dominant loss), coloured by who wins
    decisively (95 % paired interval); the first two varied weights are the axes. Claim 1 holds at a
    point where the first hand wins reach and the second wins hold."""
    from matplotlib.patches import Patch, Rectangle

    from bilateral.report.statistics import Combination, compare

    labelled = per_seed[(per_seed["variant"] == hands[1]) & per_seed["loss"].astype(bool)]
    if labelled.empty:
        return None
    labels = list(dict.fromkeys(labelled["loss"]))
    items = [dict(item.split("=", 1) for item in label.split(",")) for label in labels]
    names = list(items[0])
    xs = list(dict.fromkeys(i[names[0]] for i in items))
    ys = list(dict.fromkeys(i[names[1]] for i in items)) if len(names) > 1 else [""]
    tasks = [t for t in ("reach", "hold") if t in set(per_seed["task"])]
    fig, axes = subplots(1, len(tasks), figsize=(4.2 * len(tasks) + 1, 1.1 * len(ys) + 2.2), squeeze=False)
    colours = {"better": "#4c72b0", "worse": "#dd8452", "not distinguishable": "#dddddd"}
    for ax, task in zip(axes[0], tasks, strict=True):
        for loss, item in zip(labels, items, strict=True):
            rows = Combination(loss=loss).rows(per_seed)
            c = compare(rows, task, hands[0], hands[1])
            if c is None:
                continue
            x, y = xs.index(item[names[0]]), ys.index(item[names[1]]) if len(names) > 1 else 0
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, color=colours[c["verdict"]]))
            k = scale(c["metric"])
            ax.text(
                x,
                y,
                f"{c['diff'] * k:+.2f}\n[{c['ci_low'] * k:+.2f}, {c['ci_high'] * k:+.2f}]",
                ha="center",
                va="center",
                fontsize=8,
            )
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_ylim(-0.5, len(ys) - 0.5)
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(f"{hands[1]}'s {names[0]}")
        ax.set_ylabel(f"{hands[1]}'s {names[1]}" if len(names) > 1 else "")
        ax.set_title(f"{task}: {hands[0]} − {hands[1]}, {label(HEADLINE[task])}", fontsize=9)
    names_of = {"better": f"{hands[0]} better", "worse": f"{hands[1]} better", "not distinguishable": "undecided"}
    handles = [Patch(color=colour, label=names_of[verdict]) for verdict, colour in colours.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(
        f"Where each hand wins: {hands[0]} (dominant loss) against {hands[1]} trained with each loss "
        "(paired difference over seeds, 95 % interval)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, path)
