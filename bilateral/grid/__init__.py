"""The experiment grid: every variant x task x seed (x method), trained and evaluated, resumably.

Each run is independent and lands in its own folder, so a grid can be stopped at any point and
run again: finished runs are skipped, runs cut short resume from their checkpoints, and a damaged
result is detected and redone (``bilateral.grid.run``). A grid directory holds::

    grid.json                          what the grid is (budget, methods, variants, tasks, cells, losses, seeds)
    test_sets/{reach,hold,hold_push}.npz   the fixed test trials, replayable with bilateral_envs.Trials.from_file
    runs/{method}/{task}/{variant}[+{cell}][+{loss}]/seed{N}/   one run (bilateral.grid.spec reads a path)
        config.json, metrics.csv, tensorboard/, checkpoint.pt, model.pt, summary.json   (training)
        evaluation.parquet             per-trial metrics, intact and under every lesion
        traces.npz                     hand paths of example trials, distance-to-target traces
        result.json                    written last: marks the run finished, with file checksums
    failures.json                      runs that raised, with their errors (cleared when they succeed)
    .lock                              held while a driver runs the grid

``bilateral.report`` then turns a grid directory into tables, the claims report, figures and videos.
Backends: ``local`` (a process pool, ``bilateral.grid.local``) and ``ray`` (``bilateral.grid.ray``);
both run ``bilateral.grid.run.run_one``.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from bilateral.compat import upgrade_grid_definition, upgrade_results
from bilateral.grid.local import Tally, run_local
from bilateral.grid.run import is_finished, make_test_sets, run_one, test_set_path
from bilateral.grid.settings import BACKENDS, BUDGETS, Budget, Execution
from bilateral.grid.spec import GridSpec, RunSpec
from bilateral.io import remove_stale_temporaries, write_json

__all__ = [
    "BACKENDS",
    "Execution",
    "GridSpec",
    "RunSpec",
    "finished_runs",
    "is_finished",
    "load_results",
    "prepare",
    "read_definition",
    "run_grid",
    "run_one",
    "test_set_path",
]


def prepare(grid: GridSpec, root: str | Path) -> Path:
    """Create the grid directory: its definition and the fixed test sets (kept if already there).

    A directory holding a grid at another budget is refused; a grid may grow (more seeds, tasks,
    variants or methods), and ``grid.json`` then records everything asked for.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    definition = grid.definition()
    existing = root / "grid.json"
    if existing.exists():
        previous = read_definition(root)
        budget = Budget.from_dict(previous["budget"])
        if budget != grid.budget:
            raise ValueError(
                f"{root} holds a grid at budget {budget.name!r} ({budget.to_dict()}); "
                f"use another --out for budget {grid.budget.name!r}"
            )
        for key in ("tasks", "variants", "methods", "cells", "nondominant", "sizings", "loss_grid"):
            definition[key] = sorted(set(previous.get(key, [])) | set(definition[key]), key=str)
        definition["seeds"] = max(previous.get("seeds", 0), grid.seeds)
    write_json(existing, definition)
    make_test_sets(root, grid.tasks, grid.budget)
    return root


def read_definition(root: str | Path) -> dict:
    """A grid directory's ``grid.json``, upgraded to the current format (``bilateral.compat``)."""
    definition = json.loads((Path(root) / "grid.json").read_text())
    return upgrade_grid_definition(definition, {name: b.to_dict() for name, b in BUDGETS.items()})


def _record_failures(root: Path, results: list[dict]) -> dict:
    path = root / "failures.json"
    failures = json.loads(path.read_text()) if path.exists() else {}
    for r in results:
        if r["status"] == "failed":
            failures[r["key"]] = {"error": r["error"], "traceback": r.get("traceback", "")}
        else:
            failures.pop(r["key"], None)
    write_json(path, failures)
    return failures


@contextmanager
def _exclusive(root: Path):
    """Hold ``root/.lock`` for the duration: two drivers on one grid would train the same runs."""
    with open(root / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another grid is running in {root}; wait for it, or use another --out") from None
        yield


def run_grid(grid: GridSpec, root: str | Path, execution: Execution | None = None, **changes) -> dict:
    """Run every unfinished run of ``grid`` into ``root``, as ``execution`` (``bilateral.grid.settings.Execution``,
    or its fields as keywords) says: a process pool of ``workers`` here, or Ray tasks of ``cpus_per_run``
    CPUs on the cluster at ``address`` (``bilateral.grid.ray``, also for ``transfer``). A run whose
    worker process dies is tried again up to ``max_retries`` times. Returns counts of finished,
    skipped and failed runs; failures, with their errors, are also written to ``failures.json``.
    """
    run = (execution or Execution()).replace(**changes)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    local = run.backend == "local"
    threads = max(1, (os.cpu_count() or 1) // max(1, run.workers)) if local else max(1, int(run.cpus_per_run))
    specs = grid.runs(threads=threads)
    with _exclusive(root):
        remove_stale_temporaries(root)  # writes a killed grid interrupted; no one else writes here now
        prepare(grid, root)
        pending = [s for s in specs if not is_finished(s.directory(root))]
        skipped = [{"key": s.key, "status": "skipped"} for s in specs if s not in pending]
        results: list[dict] = []  # filled as runs end, so an interrupted grid still records them
        tally = Tally(results, len(pending), len(skipped), "grid" if local else "grid (ray)", run.progress)
        try:
            if local:
                run_local(pending, root, grid.budget, tally, workers=run.workers, max_retries=run.max_retries)
            else:
                from bilateral.grid.ray import run_with_ray

                run_with_ray(
                    pending,
                    root,
                    grid.budget,
                    tally,
                    address=run.address,
                    cpus_per_run=run.cpus_per_run,
                    transfer=run.transfer,
                    max_retries=run.max_retries,
                )
        finally:
            tally.close()
            _record_failures(root, results)
    for r in results:
        if r["status"] == "failed":
            print(f"failed: {r['key']}: {r['error']}")
    counts = {"finished": 0, "skipped": 0, "failed": 0}
    for r in skipped + results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def finished_runs(root: str | Path) -> list[Path]:
    """Run directories of ``root`` whose results are complete and intact."""
    return sorted(p.parent for p in Path(root).glob("runs/*/*/*/seed*/result.json") if is_finished(p.parent))


def load_results(root: str | Path):
    """Every finished run's per-trial table, concatenated (with ``cell`` and ``nondominant`` columns)."""
    import pandas as pd

    tables = [pd.read_parquet(run / "evaluation.parquet") for run in finished_runs(root)]
    if not tables:
        raise FileNotFoundError(f"no finished runs in {root}")
    return upgrade_results(pd.concat(tables, ignore_index=True))
