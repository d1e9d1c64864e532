"""From a grid directory to what users look at: tables, the claims report, figures and videos.

Writes into the grid directory (see ``bilateral.grid`` for the rest of its layout)::

    results.parquet        every finished run's per-trial metrics (intact and lesioned)
    summary.csv            method x cell x non-dominant loss x task x variant x metric: mean over seeds
                           and its 95 % t-interval
    seeds.csv              one row per run and lesion: each metric's mean over the test trials
    claims.md              the paper's three claims (DESIGN §1), each judged on this grid's numbers, for
                           each combination of cell type and non-dominant loss (statistics.Combination)
    figures/*.png          (a combination other than the paper's adds its names: _gru, _impedance)
                           metrics per variant, example hand paths and speeds, hold deviation over
                           time (steady load and pushes), lesion effects, hemisphere weights
    videos/*.mp4           chosen variants side by side on the same test trials

``statistics`` holds the intervals and comparisons, ``claims`` one function per claim, ``figures``
and ``videos`` the pictures. ``publish`` copies the small part of a report (no per-trial tables, no
checkpoints but the notebooks' example models) to a folder meant to be committed (``docs/results/``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from bilateral.compat import upgrade_results
from bilateral.evaluation import HEADLINE
from bilateral.grid import RunSpec, finished_runs, load_results
from bilateral.io import atomic_path, write_text
from bilateral.report.claims import claims_report
from bilateral.report.figures import (
    deviation_figure,
    examples_figure,
    lesions_figure,
    metrics_figure,
    push_figure,
    rl_training_figure,
    sensitivity_figure,
    weights_figure,
)
from bilateral.report.statistics import (
    Combination,
    axes_of,
    combinations,
    compare,
    seed_means,
    summarize,
    t_interval,
    welch_interval,
)
from bilateral.report.units import fmt
from bilateral.report.videos import side_by_side_video
from bilateral.variants import LESIONS, VARIANTS

DEFAULT_VIDEO_VARIANTS = ["uni-dom", "uni-nondom", "bi-spec-cc"]

__all__ = [
    "Combination",
    "claims_report",
    "claims_text",
    "combinations",
    "compare",
    "publish",
    "rederive",
    "report",
    "seed_means",
    "summarize",
    "t_interval",
    "welch_interval",
]


def report(root: str | Path, *, videos: bool = True, video_variants: list[str] | None = None) -> dict:
    """Write tables, claims, figures (and videos) for the finished runs of grid directory ``root``."""
    root = Path(root)
    results = load_results(root)
    with atomic_path(root / "results.parquet") as tmp:
        results.to_parquet(tmp, index=False)
    summary = summarize(results)
    with atomic_path(root / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    with atomic_path(root / "seeds.csv") as tmp:
        seed_table(results).to_csv(tmp, index=False)
    methods = list(dict.fromkeys(results["method"]))
    write_text(root / "claims.md", claims_text(results[results["lesion"] == "none"], summary))
    figures = root / "figures"
    written = []
    for method in methods:
        for combination in combinations(results[results["method"] == method]):
            rows = combination.rows(results)
            suffix = combination.suffix + ("" if method == "distal" else f"_{method}")
            per_seed, table = seed_means(rows), summarize(rows)
            ran = [v for v in VARIANTS if v in set(rows.loc[rows["method"] == method, "variant"])]
            for task in sorted(set(rows["task"])):
                written += [
                    metrics_figure(table, per_seed, task, method, figures / f"{task}_metrics{suffix}.png", combination),
                    examples_figure(root, task, method, figures / f"{task}_examples{suffix}.png", ran, combination),
                    lesions_figure(rows, task, method, figures / f"{task}_lesions{suffix}.png", combination),
                ]
            written += [
                deviation_figure(root, method, figures / f"hold_deviation{suffix}.png", combination),
                push_figure(root, method, figures / f"hold_push{suffix}.png", combination),
                weights_figure(root, method, figures / f"hemisphere_weights{suffix}.png", combination),
            ]
    intact = results[results["method"] == "distal"]
    if "loss" in intact and intact["loss"].astype(bool).any():  # a loss grid: where in its plane each hand wins
        written.append(sensitivity_figure(seed_means(intact), figures / "sensitivity.png"))
    for run in finished_runs(root):  # the RL runs' training curves (their trainers only log)
        spec = RunSpec.from_directory(run)
        if spec.method != "distal":
            name = f"rl_training_{spec.method}_{spec.task}_{spec.folder}_seed{spec.seed}.png"
            written.append(rl_training_figure(run, figures / name, title=f"{spec.key}: training"))
    if videos:
        for task in sorted(set(results["task"])):
            path = root / "videos" / f"{task}_side_by_side.mp4"
            written.append(side_by_side_video(root, task, "distal", path, video_variants or DEFAULT_VIDEO_VARIANTS))
    definition = json.loads((root / "grid.json").read_text()) if (root / "grid.json").exists() else {}
    return {
        "runs": int(results.groupby(["method", *axes_of(results), "task", "variant", "seed"]).ngroups),
        "budget": definition.get("budget"),
        "files": [str(p.relative_to(root)) for p in written if p is not None],
    }


def seed_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per run and lesion (``"none"``: intact): each metric's mean over the test trials."""
    tables = [seed_means(results, lesion).assign(lesion=lesion) for lesion in ("none", *LESIONS)]
    return pd.concat([t for t in tables if not t.empty], ignore_index=True)


PUBLISHED = ("grid.json", "summary.csv", "seeds.csv", "claims.md")
EXAMPLE_MODELS = (("reach", "bi-spec-cc"), ("hold", "bi-spec-cc"))  # (task, variant), seed 0: for the notebooks


def publish(root: str | Path, destination: str | Path) -> list[Path]:
    """Copy a reported grid's small results — ``PUBLISHED``, ``figures/*.png``, and the seed-0
    ``EXAMPLE_MODELS`` (``model.pt``, ``metrics.csv``) as ``models/{task}_{variant}/`` — to
    ``destination``, each file written atomically. Returns the files written."""
    from bilateral.report.figures import runs_by_variant

    root, destination = Path(root), Path(destination)
    if not (root / "summary.csv").exists():
        raise FileNotFoundError(f"{root} has no report yet: run `bilateral report {root}` first")
    pairs = [(root / name, destination / name) for name in PUBLISHED]
    pairs += [(png, destination / "figures" / png.name) for png in sorted((root / "figures").glob("*.png"))]
    for task, variant in EXAMPLE_MODELS:
        run = runs_by_variant(root, "distal", task).get(variant)
        if run is not None:
            pairs += [
                (run / name, destination / "models" / f"{task}_{variant}" / name)
                for name in ("model.pt", "metrics.csv")
            ]
    for source, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return [target for _, target in pairs]


def claims_text(intact: pd.DataFrame, summary: pd.DataFrame) -> str:
    """``claims.md``: the paper's claims judged for each combination of the axes beyond the paper's, and
    each RL method's headline table, from the intact runs (a per-trial or a per-seed table) and the
    summary."""
    distal = intact[intact["method"] == "distal"]
    texts = []
    for combination in combinations(distal):
        rows = combination.rows(distal)
        if combination.is_paper:
            texts.append(claims_report(rows))
        else:
            texts.append(
                claims_report(rows, f"Claims of the paper, with {combination.label}", note=note_on(combination))
            )
    methods = dict.fromkeys(intact["method"])
    texts += [method_table(summary, method) for method in methods if method != "distal"]
    return "\n".join(texts)


def rederive(folder: str | Path) -> list[Path]:
    """Write ``summary.csv`` and ``claims.md`` of a published folder again from its ``seeds.csv`` (one
    row per run and lesion), as the report derives them: after the analysis changes, published results
    follow without their runs. Returns the files written."""
    folder = Path(folder)
    seeds = upgrade_results(pd.read_csv(folder / "seeds.csv"))
    intact = seeds[seeds["lesion"] == "none"]
    summary = summarize(intact)
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    write_text(folder / "claims.md", claims_text(intact, summary))
    return [folder / "summary.csv", folder / "claims.md"]


def note_on(combination: Combination) -> str:
    """What a combination's claims report says of the runs it judges."""
    defaults = Combination()
    options = " ".join(
        f"--{option} {getattr(combination, axis)}"
        for axis, option in (("cell", "cells"), ("nondominant", "nondominant"), ("sizing", "sizings"))
        if getattr(combination, axis) != getattr(defaults, axis)
    )
    options += f" --loss-grid ... ({combination.loss})" if combination.loss else ""
    return (
        f"Runs with {combination.label} (`{options.strip()}`): the variants these settings change were trained "
        "with them; the others are their runs at the paper's settings, shared by every combination."
    )


def method_table(summary: pd.DataFrame, method: str) -> str:
    """Markdown: an RL method's headline metrics per task and variant."""
    rows = summary[(summary["method"] == method) & summary["metric"].isin(list(HEADLINE.values()))]
    out = [
        f"# {method}: headline metrics",
        "",
        "| task | variant | mean | 95 % CI | seeds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, r in rows.iterrows():
        out.append(
            f"| {r['task']} | {r['variant']} | {fmt(r['metric'], r['mean'])} | "
            f"[{fmt(r['metric'], r['ci_low'])}, {fmt(r['metric'], r['ci_high'])}] | {r['n_seeds']} |"
        )
    return "\n".join(out) + "\n"
