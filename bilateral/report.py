"""From a grid directory to what users look at: tables, the claims report, figures and videos.

Writes into the grid directory (see ``bilateral.grid`` for the rest of its layout)::

    results.parquet        every finished run's per-trial metrics (intact and lesioned)
    summary.csv            method x task x variant x metric: mean over seeds and its 95 % bootstrap CI
    claims.md              the paper's three claims (DESIGN §1), each judged on this grid's numbers
    figures/*.png          metrics per variant, example hand paths and speeds, hold deviation over
                           time, lesion effects, hemisphere weights during training
    videos/*.mp4           chosen variants side by side on the same test trials

Statistics: each run (seed) is summarised by its mean over the test trials; variants are compared
over seeds. Confidence intervals are percentile bootstrap intervals (10,000 resamples, seeded) of
the mean over seeds, and of the difference of two variants' means (seeds resampled within each).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bilateral import metrics
from bilateral.evaluation import FS, HEADLINE, HIGHER_IS_BETTER, TASK_METRICS
from bilateral.grid import finished_runs, load_results
from bilateral.io import atomic_path, write_text
from bilateral.variants import VARIANTS

CONFIDENCE = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
PREFERRED = {"reach": ("uni-dom", "uni-nondom"), "hold": ("uni-nondom", "uni-dom")}  # (preferred, other) hand
BILATERAL = ("bi", "bi-cc", "bi-spec", "bi-spec-cc")
CALLOSUM_PAIRS = (("bi", "bi-cc"), ("bi-spec", "bi-spec-cc"))


def _unit(metric: str) -> tuple[str, str, float]:
    """(name without unit suffix, display unit, scale): lengths in metres are shown in cm."""
    for suffix, unit, scale in (("_m_s", "m/s", 1.0), ("_m", "cm", 100.0), ("_s", "s", 1.0)):
        if metric.endswith(suffix):
            return metric[: -len(suffix)], unit, scale
    return metric, "", 1.0


# -- statistics ---------------------------------------------------------------------------------
def seed_means(results: pd.DataFrame, lesion: str = "none") -> pd.DataFrame:
    """One row per method, task, variant and seed: each metric's mean over the test trials."""
    intact = results[results["lesion"] == lesion]
    metrics = [c for c in intact.columns if c not in ("method", "task", "variant", "seed", "lesion", "trial")]
    return intact.groupby(["method", "task", "variant", "seed"], as_index=False)[metrics].mean()


def bootstrap_ci(values: np.ndarray, other: np.ndarray | None = None) -> tuple[float, float]:
    """95 % percentile bootstrap CI of ``mean(values)`` (or of ``mean(values) - mean(other)``)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or (other is not None and np.isfinite(other).sum() < 2):
        return (float("nan"), float("nan"))
    stats = rng.choice(values, (RESAMPLES, len(values))).mean(axis=1)
    if other is not None:
        other = np.asarray(other, dtype=float)
        other = other[np.isfinite(other)]
        stats = stats - rng.choice(other, (RESAMPLES, len(other))).mean(axis=1)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return float(low), float(high)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """method x task x variant x metric: number of seeds, mean over seeds, 95 % bootstrap CI."""
    per_seed = seed_means(results)
    rows = []
    for (method, task, variant), group in per_seed.groupby(["method", "task", "variant"], sort=False):
        for metric in (m for m in TASK_METRICS[task] if m in group.columns):
            values = group[metric].to_numpy()
            finite = values[np.isfinite(values)]
            low, high = bootstrap_ci(finite)
            rows.append(
                {
                    "method": method,
                    "task": task,
                    "variant": variant,
                    "metric": metric,
                    "n_seeds": len(finite),
                    "mean": float(finite.mean()) if len(finite) else float("nan"),
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows)


# -- claims -------------------------------------------------------------------------------------
def _fmt(metric: str, value: float) -> str:
    _, unit, scale = _unit(metric)
    return f"{value * scale:.2f} {unit}" if unit else f"{value:.3f}"


def welch_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95 % Welch t interval of ``mean(a) - mean(b)`` (unequal variances; NaN with fewer than 2 each)."""
    from scipy import stats

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


EQUIVALENCE_MARGIN = 0.10  # "as good as": at most 10 % worse than the reference, at the CI's upper end


def compare(per_seed: pd.DataFrame, task: str, a: str, b: str, method: str = "distal") -> dict | None:
    """Is variant ``a`` better than ``b`` on ``task``'s headline metric (lower is better)?

    Difference ``a - b`` of the means over seeds with its 95 % Welch t interval (with 3-5 seeds a
    percentile bootstrap of a difference is too narrow to decide on); ``better`` / ``worse`` when the
    interval excludes zero; ``as_good`` when its upper end is below ``EQUIVALENCE_MARGIN`` of ``b``'s
    mean (``a`` is at most 10 % worse, or better)."""
    metric = HEADLINE[task]
    if metric not in per_seed.columns:
        return None
    rows = per_seed[(per_seed["task"] == task) & (per_seed["method"] == method)]
    va = rows.loc[rows["variant"] == a, metric].to_numpy()
    vb = rows.loc[rows["variant"] == b, metric].to_numpy()
    if len(va) == 0 or len(vb) == 0:
        return None
    diff = float(va.mean() - vb.mean())
    low, high = welch_ci(va, vb)
    if np.isfinite(low) and high < 0:
        verdict = "better"
    elif np.isfinite(low) and low > 0:
        verdict = "worse"
    else:
        verdict = "not distinguishable"
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
        "as_good": bool(np.isfinite(high) and high < EQUIVALENCE_MARGIN * float(vb.mean())),
        "n": (len(va), len(vb)),
    }


def _line(c: dict) -> str:
    m = c["metric"]
    ci = (
        "CI n/a (one seed)"
        if not np.isfinite(c["ci_low"])
        else f"95 % CI [{_fmt(m, c['ci_low'])}, {_fmt(m, c['ci_high'])}]"
    )
    return (
        f"`{c['a']}` {_fmt(m, c['a_mean'])} vs `{c['b']}` {_fmt(m, c['b_mean'])} "
        f"(difference {_fmt(m, c['diff'])}, {ci}, seeds {c['n'][0]}/{c['n'][1]}): **{c['verdict']}**"
    )


def claims_report(results: pd.DataFrame, title: str = "Claims of the paper, checked on this grid") -> str:
    """Markdown: each of DESIGN §1's three claims with the numbers that decide it."""
    per_seed = seed_means(results)
    out = [
        f"# {title}",
        "",
        "Headline metrics on the fixed test trials (lower is better): reach — mean final endpoint error; "
        "hold — mean RMS deviation of the hand from the target. Each seed is one training run; "
        "differences are `a - b` of the means over seeds with 95 % Welch t intervals (CI). A claim *holds* when "
        'every comparison it needs goes its way with a CI that excludes zero (for "as good as": a CI '
        f"whose upper end is below {EQUIVALENCE_MARGIN:.0%} of the reference's mean), is *suggested* when the "
        "means go its way but some CI does not decide, and *does not hold* otherwise. No correction is "
        "made for choosing the best of the four bilateral models in claim 2.",
        "",
    ]
    verdicts = []

    # claim 1: each specialised unilateral controller beats the other on its preferred task
    out += ["## 1. Each specialised unilateral controller beats the other one on its preferred task", ""]
    comparisons = [compare(per_seed, task, *PREFERRED[task]) for task in ("reach", "hold")]
    comparisons = [c for c in comparisons if c]
    for c in comparisons:
        out.append(f"- {c['task']}: {_line(c)}")
    verdicts.append(
        _verdict(comparisons, [c["diff"] < 0 for c in comparisons], [c["verdict"] == "better" for c in comparisons])
    )
    out += ["", f"Verdict: **{verdicts[-1]}**", ""]

    # claim 2: on both tasks some bilateral model beats the non-preferred hand and is as good as the preferred
    out += [
        "## 2. On both tasks, some bilateral model beats the non-preferred hand and is as good as or better "
        "than the preferred hand",
        "",
    ]
    task_results = []
    for task in ("reach", "hold"):
        preferred, other = PREFERRED[task]
        best = None
        for b in BILATERAL:
            vs_other, vs_pref = compare(per_seed, task, b, other), compare(per_seed, task, b, preferred)
            if not vs_other or not vs_pref:
                continue
            strong = vs_other["verdict"] == "better" and vs_pref["as_good"]
            weak = (vs_other["diff"] < 0 and vs_pref["diff"] <= 0) or strong
            score = (strong, weak, -vs_pref["a_mean"])
            if best is None or score > best[0]:
                best = (score, b, vs_other, vs_pref)
        if best is None:
            out.append(f"- {task}: not enough runs")
            continue
        _, b, vs_other, vs_pref = best
        task_results.append(best[0][:2])
        out.append(f"- {task}, best candidate `{b}`:")
        out.append(f"  - vs the non-preferred hand: {_line(vs_other)}")
        out.append(
            f"  - vs the preferred hand: {_line(vs_pref)}"
            + (f"; as good (within {EQUIVALENCE_MARGIN:.0%})" if vs_pref["as_good"] else "")
        )
    verdicts.append(_verdict(task_results, [w for _, w in task_results], [s for s, _ in task_results], need=2))
    out += ["", f"Verdict: **{verdicts[-1]}**", ""]

    # claim 3: the callosum tends to help, though not always for specialised models
    out += ["## 3. The callosum tends to help, though not always for specialised models", ""]
    helps = []
    for task in ("reach", "hold"):
        for without, with_cc in CALLOSUM_PAIRS:
            c = compare(per_seed, task, with_cc, without)
            if c:
                helps.append(c)
                out.append(f"- {task}: {_line(c)}")
    n_better = sum(c["diff"] < 0 for c in helps)
    n_significant = sum(c["verdict"] == "better" for c in helps)
    plain = [c for c in helps if c["a"] == "bi-cc"]
    if len(plain) < 2:  # both tasks' non-specialised comparison are needed to judge the claim
        verdicts.append("not enough runs")
    elif n_better * 2 > len(helps) and all(c["diff"] < 0 for c in plain):
        verdicts.append("holds" if n_significant * 2 > len(helps) else "suggested")
    else:
        verdicts.append("does not hold")
    out += [
        "",
        f"The callosum lowers the mean in {n_better} of {len(helps)} comparisons ({n_significant} with a CI "
        "excluding zero). Rule: the claim holds when the callosum lowers the mean in most comparisons, "
        "including both non-specialised ones (bi-cc vs bi), with CIs excluding zero in most; it is "
        "suggested when only the means go that way.",
        "",
        f"Verdict: **{verdicts[-1]}**",
        "",
    ]

    out += ["## Summary", "", "| claim | verdict |", "| --- | --- |"]
    names = (
        "specialised unilateral controllers win their preferred task",
        "a bilateral model matches the preferred hand on both tasks",
        "the callosum tends to help",
    )
    out += [f"| {i + 1}. {name} | {v} |" for i, (name, v) in enumerate(zip(names, verdicts, strict=True))]
    return "\n".join(out) + "\n"


def _verdict(items, suggested: list[bool], significant: list[bool], need: int = 2) -> str:
    if len(items) < need:
        return "not enough runs"
    if all(significant):
        return "holds"
    if all(suggested):
        return "suggested"
    return "does not hold"


# -- figures ------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def _label(metric: str) -> str:
    name, unit, _ = _unit(metric)
    return name.replace("_", " ") + (f" ({unit})" if unit else "")


def _scale(metric: str) -> float:
    return _unit(metric)[2]


def metrics_figure(summary: pd.DataFrame, per_seed: pd.DataFrame, task: str, method: str, path: Path) -> Path | None:
    plt = _pyplot()
    rows = summary[(summary["task"] == task) & (summary["method"] == method)]
    if rows.empty:
        return None
    variants = [v for v in VARIANTS if v in set(rows["variant"])]
    names = [m for m in TASK_METRICS[task] if m in set(rows["metric"])]
    columns, rows_of_plots = 4, -(-len(names) // 4)
    fig, axes = plt.subplots(rows_of_plots, columns, figsize=(3.3 * columns, 3.4 * rows_of_plots), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, names, strict=False):
        m = rows[rows["metric"] == metric].set_index("variant").reindex(variants)
        scale = _scale(metric)
        x = np.arange(len(variants))
        err = np.vstack([m["mean"] - m["ci_low"], m["ci_high"] - m["mean"]]) * scale
        ax.errorbar(x, m["mean"] * scale, yerr=np.nan_to_num(err), fmt="o", color="black", capsize=3, zorder=3)
        seeds = per_seed[(per_seed["task"] == task) & (per_seed["method"] == method)]
        for i, v in enumerate(variants):
            vals = seeds.loc[seeds["variant"] == v, metric].to_numpy() * scale
            ax.plot(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)), vals, ".", color="tab:blue", alpha=0.5)
        ax.set_xticks(x, variants, rotation=60, ha="right", fontsize=8)
        ax.set_title(_label(metric) + (" ↑" if metric in HIGHER_IS_BETTER else ""), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{task}: mean over seeds, 95 % bootstrap CI (dots: seeds)")
    fig.tight_layout()
    return _save(fig, path)


def _runs_by_variant(root: Path, method: str, task: str, seed: int = 0) -> dict[str, Path]:
    runs = {}
    for run in finished_runs(root):
        r_method, r_task, variant, r_seed = run.parts[-4:]
        if r_method == method and r_task == task and r_seed == f"seed{seed}":
            runs[variant] = run
    return runs


def examples_figure(root: Path, task: str, method: str, path: Path, variants: list[str]) -> Path | None:
    """Hand paths of the first test trials (top) and speed or distance to target over time (bottom)."""
    plt = _pyplot()
    runs = _runs_by_variant(root, method, task)
    variants = [v for v in variants if v in runs]
    if not variants:
        return None
    fig, axes = plt.subplots(2, len(variants), figsize=(3.2 * len(variants), 6.2), squeeze=False)
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
        t = np.arange(hand.shape[1]) * 0.01
        for k in range(len(hand)):
            if task == "reach":
                v = metrics.speed(hand[k], FS)
                ax.plot(t, v, lw=1.2)
            else:
                ax.plot(t, np.linalg.norm(hand[k] - target[k], axis=1) * 100, lw=1.2)
        ax.set_xlabel("time (s)")
        if j == 0:
            ax.set_ylabel("hand speed (m/s)" if task == "reach" else "distance to target (cm)")
    fig.suptitle(f"{task}: example test trials (seed 0; ● start, ★ target)")
    fig.tight_layout()
    return _save(fig, path)


def deviation_figure(root: Path, method: str, path: Path) -> Path | None:
    """Hold: distance of the hand from the target over time, mean over test trials and seeds."""
    plt = _pyplot()
    curves: dict[str, list[np.ndarray]] = {}
    for run in finished_runs(root):
        r_method, task, variant, _ = run.parts[-4:]
        if r_method == method and task == "hold":
            with np.load(run / "traces.npz") as traces:
                curves.setdefault(variant, []).append(traces["distance_mean"])
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for variant in [v for v in VARIANTS if v in curves]:
        values = curves[variant]
        values = np.array(values) * 100
        t = np.arange(values.shape[1]) * 0.01
        mean = values.mean(axis=0)
        ax.plot(t, mean, label=f"{variant} ({len(values)} seeds)")
        if len(values) > 1:
            ax.fill_between(t, values.min(axis=0), values.max(axis=0), alpha=0.12)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("distance from target (cm)")
    ax.set_title("hold against an endpoint load: mean deviation over test trials (band: range over seeds)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def lesions_figure(results: pd.DataFrame, task: str, method: str, path: Path) -> Path | None:
    plt = _pyplot()
    rows = results[(results["task"] == task) & (results["method"] == method) & results["variant"].isin(BILATERAL)]
    if rows.empty or (rows["lesion"] == "none").all():
        return None
    metric = HEADLINE[task]
    per_seed = rows.groupby(["variant", "lesion", "seed"], as_index=False)[metric].mean()
    variants = [v for v in BILATERAL if v in set(per_seed["variant"])]
    lesions = ["none", "high-left", "high-right", "low-left", "low-right", "cc"]
    fig, ax = plt.subplots(figsize=(1.9 * len(variants) + 2, 4))
    width = 0.8 / len(lesions)
    for k, lesion in enumerate(lesions):
        means, errs = [], []
        for v in variants:
            vals = per_seed[(per_seed["variant"] == v) & (per_seed["lesion"] == lesion)][metric].to_numpy() * 100
            means.append(vals.mean() if len(vals) else np.nan)
            low, high = bootstrap_ci(vals) if len(vals) > 1 else (np.nan, np.nan)
            errs.append([means[-1] - low, high - means[-1]] if np.isfinite(low) else [0, 0])
        x = np.arange(len(variants)) + (k - len(lesions) / 2 + 0.5) * width
        ax.bar(x, means, width, yerr=np.array(errs).T, capsize=2, label=lesion)
    ax.set_xticks(np.arange(len(variants)), variants)
    ax.set_ylabel(_label(metric))
    ax.set_title(f"{task}: effect of lesions (mean over seeds, 95 % CI)")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def weights_figure(root: Path, method: str, path: Path) -> Path | None:
    """w_L and w_R over training, for every bilateral variant and task (mean over seeds)."""
    plt = _pyplot()
    series: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for run in finished_runs(root):
        r_method, task, variant, _ = run.parts[-4:]
        if r_method != method or variant not in BILATERAL or not (run / "metrics.csv").exists():
            continue
        log = pd.read_csv(run / "metrics.csv")
        log = log[log["kind"] == "train"][["batch", "w_left", "w_right"]].dropna()
        if not log.empty:
            series.setdefault((task, variant), []).append(log.set_index("batch"))
    if not series:
        return None
    tasks = sorted({t for t, _ in series})
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for (t, variant), logs in sorted(series.items()):
            if t != task:
                continue
            mean = pd.concat(logs).groupby(level=0).mean()
            line = ax.plot(mean.index, mean["w_left"], label=f"{variant} w_L")[0]
            ax.plot(mean.index, mean["w_right"], "--", color=line.get_color(), label=f"{variant} w_R")
        ax.set_title(f"{task}: hemisphere weights during training")
        ax.set_xlabel("training batch")
        ax.set_ylabel("weight")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# -- videos -------------------------------------------------------------------------------------
def _labelled(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    ImageDraw.Draw(image).text((10, 8), text, fill=(20, 20, 20))
    return np.asarray(image)


def side_by_side_video(
    root: Path,
    task: str,
    method: str,
    path: Path,
    variants: list[str],
    trials: int = 2,
    width: int = 320,
    height: int = 240,
) -> Path | None:
    """The chosen variants (seed 0) on the same first test trials, side by side, one after another."""
    from bilateral.methods import load_trained
    from bilateral.video import render_trained, side_by_side, write_video
    from envs.tasks import Trials

    runs = _runs_by_variant(root, method, task)
    variants = [v for v in variants if v in runs and (runs[v] / "model.pt").exists()]
    if not variants:
        return None
    test = Trials.from_file(root / "test_sets" / f"{task}.npz")
    per_variant = []
    for variant in variants:
        rollouts = render_trained(*load_trained(runs[variant]), test, trials, task=task, width=width, height=height)
        per_variant.append([[_labelled(f, f"{variant}  trial {k}") for f in r.frames] for k, r in enumerate(rollouts)])
    frames = []
    for k in range(len(per_variant[0])):
        frames += side_by_side([videos[k] for videos in per_variant])
    return write_video(path, frames)


# -- all of it ----------------------------------------------------------------------------------
DEFAULT_VIDEO_VARIANTS = ["uni-dom", "uni-nondom", "bi-spec-cc"]


def report(root: str | Path, *, videos: bool = True, video_variants: list[str] | None = None) -> dict:
    """Write tables, claims, figures (and videos) for the finished runs of grid directory ``root``."""
    root = Path(root)
    results = load_results(root)
    with atomic_path(root / "results.parquet") as tmp:
        results.to_parquet(tmp, index=False)
    summary = summarize(results)
    with atomic_path(root / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    per_seed = seed_means(results)
    methods = list(dict.fromkeys(results["method"]))
    texts = [claims_report(results[results["method"] == "distal"])] if "distal" in methods else []
    for method in methods:
        if method != "distal":
            texts.append(_method_table(summary, method))
    write_text(root / "claims.md", "\n".join(texts))
    figures = root / "figures"
    written = []
    for method in methods:
        suffix = "" if method == "distal" else f"_{method}"
        for task in sorted(set(results["task"])):
            written.append(metrics_figure(summary, per_seed, task, method, figures / f"{task}_metrics{suffix}.png"))
            written.append(
                examples_figure(
                    root,
                    task,
                    method,
                    figures / f"{task}_examples{suffix}.png",
                    [v for v in VARIANTS if v in set(results.loc[results["method"] == method, "variant"])],
                )
            )
            written.append(lesions_figure(results, task, method, figures / f"{task}_lesions{suffix}.png"))
        written.append(deviation_figure(root, method, figures / f"hold_deviation{suffix}.png"))
        written.append(weights_figure(root, method, figures / f"hemisphere_weights{suffix}.png"))
    if videos:
        for task in sorted(set(results["task"])):
            written.append(
                side_by_side_video(
                    root,
                    task,
                    "distal",
                    root / "videos" / f"{task}_side_by_side.mp4",
                    video_variants or DEFAULT_VIDEO_VARIANTS,
                )
            )
    definition = json.loads((root / "grid.json").read_text()) if (root / "grid.json").exists() else {}
    return {
        "runs": int(results.groupby(["method", "task", "variant", "seed"]).ngroups),
        "budget": definition.get("budget"),
        "files": [str(p.relative_to(root)) for p in written if p is not None],
    }


def _method_table(summary: pd.DataFrame, method: str) -> str:
    rows = summary[(summary["method"] == method) & summary["metric"].isin(list(HEADLINE.values()))]
    out = [
        f"# {method}: headline metrics",
        "",
        "| task | variant | mean | 95 % CI | seeds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, r in rows.iterrows():
        out.append(
            f"| {r['task']} | {r['variant']} | {_fmt(r['metric'], r['mean'])} | "
            f"[{_fmt(r['metric'], r['ci_low'])}, {_fmt(r['metric'], r['ci_high'])}] | {r['n_seeds']} |"
        )
    return "\n".join(out) + "\n"
