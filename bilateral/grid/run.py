"""One run of a grid, from its spec to its finished folder; the grid's test sets.

``run_one`` trains and evaluates a run into its own folder and is idempotent: a run is finished when
its ``result.json`` is present and the files it lists have the checksums it records; a run cut short
resumes from its checkpoint; a damaged result, or a training state that cannot be continued, is
redone. Backends (``bilateral.grid.local``, ``bilateral.grid.ray``) call ``run_reporting``, which
reports an error inside a run as data instead of raising it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bilateral import methods
from bilateral.grid.settings import Budget
from bilateral.grid.spec import RunSpec
from bilateral.io import atomic_path, write_json

RESULT_FILES = ("evaluation.parquet", "traces.npz", "model.pt")
PUSH_SET = "hold_push"  # the hold test set with pushes (bilateral.evaluation.make_push_test_set)


def test_set_path(root: str | Path, name: str) -> Path:
    """A grid's test set: ``reach``, ``hold`` or ``hold_push``."""
    return Path(root) / "test_sets" / f"{name}.npz"


def test_sets_of(task: str) -> tuple[str, ...]:
    """The test sets a run of ``task`` is evaluated on."""
    return (task, PUSH_SET) if task == "hold" else (task,)


def make_test_sets(root: str | Path, tasks, budget: Budget) -> None:
    """Write the fixed test sets of ``tasks`` under ``root`` (those already there are kept)."""
    from bilateral.evaluation import PUSH_TEST, make_push_test_set, make_test_set

    n, steps = budget.test_trials, budget.trial_steps
    for task in tasks:
        if not test_set_path(root, task).exists():
            make_test_set(task, n, steps).save(test_set_path(root, task))
        if task == "hold" and not test_set_path(root, PUSH_SET).exists():
            schedule = dataclasses.replace(PUSH_TEST, **budget.push_test)
            make_push_test_set(n, steps, schedule).save(test_set_path(root, PUSH_SET))


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_finished(run_dir: str | Path) -> bool:
    """True when ``result.json`` exists, was written by the current evaluation code, and every file it
    lists matches its recorded checksum."""
    from bilateral.evaluation import EVALUATION_VERSION

    run_dir = Path(run_dir)
    try:
        result = json.loads((run_dir / "result.json").read_text())
        return (
            result.get("evaluation_version") == EVALUATION_VERSION
            and set(result["files"]) == set(RESULT_FILES)
            and all(file_digest(run_dir / name) == digest for name, digest in result["files"].items())
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def run_one(spec: RunSpec, root: str | Path, budget: Budget) -> dict:
    """Train and evaluate one run into ``root`` (idempotent: a finished run is only read back).

    Returns ``{"key", "status": "finished" | "skipped", "seconds"}``; raises on failure.
    """
    from bilateral.checkpoint import RunStateError
    from bilateral.evaluation import EVALUATION_VERSION, evaluate
    from bilateral_envs.tasks import Trials

    root = Path(root)
    run_dir = spec.directory(root)
    start = time.perf_counter()
    if is_finished(run_dir):
        return {"key": spec.key, "status": "skipped", "seconds": 0.0}
    (run_dir / "result.json").unlink(missing_ok=True)  # damaged or stale: redo what it covered
    method = methods.get(spec.method)
    config = method.config(spec, budget)
    try:
        method.train(config, run_dir)
    except RunStateError:  # a damaged or foreign training state: start the run again
        shutil.rmtree(run_dir)
        method.train(config, run_dir)
    trained = method.load(run_dir)
    trials, *pushes = (Trials.from_file(test_set_path(root, name)) for name in test_sets_of(spec.task))
    result = evaluate(
        trained.model,
        trained.config,
        trials,
        push_trials=pushes[0] if pushes else None,
        act=trained.act,
        method=spec.method,
        loss=spec.loss,
    )
    with atomic_path(run_dir / "evaluation.parquet") as tmp:
        result.table.to_parquet(tmp, index=False)
    with atomic_path(run_dir / "traces.npz") as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **result.traces)
    record = {
        "spec": asdict(spec),
        "evaluation_version": EVALUATION_VERSION,
        "model": trained.source,  # which of the run's models was evaluated (RL runs keep their best)
        "files": {name: file_digest(run_dir / name) for name in RESULT_FILES},
        "seconds": round(time.perf_counter() - start, 2),
    }
    write_json(run_dir / "result.json", record)
    return {"key": spec.key, "status": "finished", "seconds": record["seconds"]}


def run_reporting(spec: RunSpec, root: str, budget: Budget) -> dict:
    """``run_one`` in a worker process: one torch thread, quiet, an error returned as data
    (``{"key", "status": "failed", "error", "traceback"}``) so that the grid goes on."""
    import torch

    torch.set_num_threads(1)
    try:
        return run_one(spec, root, budget)
    except Exception as error:  # reported by the driver, the grid goes on
        return {
            "key": spec.key,
            "status": "failed",
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
        }
