"""The experiment grid: every variant x task x seed (x method), trained and evaluated, resumably.

Each run is independent and lands in its own folder, so a grid can be stopped at any point and
run again: finished runs are skipped (a run is finished when its ``result.json`` is present and
the files it lists have the checksums it records), runs that were cut short resume from their
last checkpoint, and a damaged result is detected and redone. A grid directory holds::

    grid.json                          what the grid is (budget, methods, variants, tasks, seeds)
    test_sets/{task}.npz               the fixed test trials, replayable with envs.Trials.from_file
    runs/{method}/{task}/{variant}/seed{N}/
        config.json, metrics.csv, tensorboard/, checkpoint.pt, model.pt, summary.json   (training)
        evaluation.parquet             per-trial metrics, intact and under every lesion
        traces.npz                     hand paths of example trials, distance-to-target traces
        result.json                    written last: marks the run finished, with file checksums
    failures.json                      runs that raised, with their errors (cleared when they succeed)

``bilateral.report`` then turns a grid directory into tables, the claims report, figures and videos.
Backends run the runs: ``local`` (a process pool, the default) here; others plug in through
``run_one``, which is all a worker needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from bilateral.checkpoint import CheckpointError
from bilateral.distal import ConfigMismatchError
from bilateral.evaluation import EVALUATION_VERSION
from bilateral.io import atomic_path, remove_stale_temporaries, write_json
from bilateral.variants import VARIANTS

TASKS = ("reach", "hold")
METHODS = ("distal",)

# A budget is how much training each run gets, and how many test trials score it.
# ``train`` overrides the distal teacher's preset, ``rl`` the RL methods' RLConfig, ``push_test`` the
# fields of the hold task's push test (bilateral.evaluation.PUSH_TEST).
BUDGETS: dict[str, dict] = {
    # minutes for the whole grid on a laptop: the paper's network, 60 batches at a higher rate; 30k RL steps
    "quick": {
        "preset": "paper",
        "train": {"total_batches": 60, "batches_per_epoch": 20, "validation_trials": 32, "learning_rate": 1e-2},
        "rl": {"total_steps": 30_000},
        "test_trials": 64,
    },
    # the authors' example: 10 epochs of 100 batches, early stopping (about 3 min a run); 500k RL steps
    "paper": {"preset": "paper", "train": {}, "rl": {"total_steps": 500_000}, "test_trials": 256},
    # our strong preset: 64 units, 4000 batches (about 12 min a run); 2M RL steps
    "strong": {"preset": "strong", "train": {}, "rl": {"total_steps": 2_000_000}, "test_trials": 256},
    # for tests: a few tiny batches
    "tiny": {
        "preset": "paper",
        "train": {
            "total_batches": 2,
            "batches_per_epoch": 2,
            "batch_size": 8,
            "trial_steps": 10,
            "validation_trials": 8,
        },
        "rl": {
            "total_steps": 256,
            "n_envs": 2,
            "n_steps": 64,
            "batch_size": 64,
            "n_epochs": 2,
            "learning_starts": 64,
            "buffer_size": 1000,
        },
        "test_trials": 8,
        "push_test": {"earliest": 0.02, "duration": 0.01, "settle": 0.01},  # pushes that fit 10-step trials
    },
}


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: everything a worker needs, and nothing else."""

    method: str
    task: str
    variant: str
    seed: int
    budget: str
    threads: int = 1  # threads stepping MuJoCo inside the run

    @property
    def key(self) -> str:
        return f"{self.method}/{self.task}/{self.variant}/seed{self.seed}"

    def directory(self, root: str | Path) -> Path:
        return Path(root) / "runs" / self.key


@dataclass
class GridSpec:
    """The grid: the product of methods, tasks, variants and seeds at one budget."""

    budget: str = "quick"
    seeds: int = 5
    tasks: tuple[str, ...] = TASKS
    variants: tuple[str, ...] = tuple(VARIANTS)
    methods: tuple[str, ...] = METHODS
    extra: dict = field(default_factory=dict)  # budget overrides, e.g. {"train": {"total_batches": 5}}

    def __post_init__(self) -> None:
        if self.budget not in BUDGETS:
            raise ValueError(f"unknown budget {self.budget!r}; choose one of {sorted(BUDGETS)}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        for name, given, known in (("task", self.tasks, TASKS), ("variant", self.variants, VARIANTS)):
            unknown = [g for g in given if g not in known]
            if unknown:
                raise ValueError(f"unknown {name}s {unknown}; choose from {list(known)}")
        if set(self.methods) - {"distal"}:  # only then look for the optional RL methods
            unknown = [m for m in self.methods if m not in _methods()]
            if unknown:
                raise ValueError(
                    f"unknown methods {unknown}; choose from {list(_methods())} "
                    "(ppo, sac and bilateral-ppo need the rl extra)"
                )
        self.tasks, self.variants, self.methods = tuple(self.tasks), tuple(self.variants), tuple(self.methods)

    def runs(self, threads: int = 1) -> list[RunSpec]:
        return [
            RunSpec(method, task, variant, seed, self.budget, threads)
            for method in self.methods
            for task in self.tasks
            for variant in _variants_for(method, self.variants)
            for seed in range(self.seeds)
        ]

    def budget_values(self) -> dict:
        values = json.loads(json.dumps(BUDGETS[self.budget]))
        for key, value in self.extra.items():
            if isinstance(value, dict):
                values.setdefault(key, {}).update(value)
            else:
                values[key] = value
        return values


def _methods() -> tuple[str, ...]:
    """Training methods a grid can run: the distal teacher, and RL methods when their extra is installed."""
    from bilateral import methods

    return tuple(methods.available())


def _variants_for(method: str, variants: Iterable[str]) -> list[str]:
    from bilateral import methods

    return [v for v in variants if methods.supports(method, v)]


# -- one run ------------------------------------------------------------------------------------
def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


RESULT_FILES = ("evaluation.parquet", "traces.npz", "model.pt")


def is_finished(run_dir: Path) -> bool:
    """True when ``result.json`` exists, was written by the current evaluation code, and every file it
    lists matches its recorded checksum."""
    try:
        result = json.loads((run_dir / "result.json").read_text())
        return (
            result.get("evaluation_version") == EVALUATION_VERSION
            and set(result["files"]) == set(RESULT_FILES)
            and all(file_digest(run_dir / name) == digest for name, digest in result["files"].items())
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


PUSH_SET = "hold_push"  # the hold test set with pushes (bilateral.evaluation.make_push_test_set)


def test_set_path(root: Path, name: str) -> Path:
    """A grid's test set: ``reach``, ``hold`` or ``hold_push``."""
    return Path(root) / "test_sets" / f"{name}.npz"


def test_sets_of(task: str) -> tuple[str, ...]:
    """The test sets a run of ``task`` is evaluated on."""
    return (task, PUSH_SET) if task == "hold" else (task,)


def run_one(spec: RunSpec, root: str | Path, budget: dict | None = None) -> dict:
    """Train and evaluate one run into ``root`` (idempotent: a finished run is only read back).

    Returns ``{"key", "status": "finished" | "skipped", "seconds"}``; raises on failure.
    """
    from bilateral import methods
    from bilateral.evaluation import evaluate
    from envs.tasks import Trials

    root = Path(root)
    run_dir = spec.directory(root)
    start = time.perf_counter()
    if is_finished(run_dir):
        return {"key": spec.key, "status": "skipped", "seconds": 0.0}
    (run_dir / "result.json").unlink(missing_ok=True)  # damaged or stale: redo what it covered
    budget = budget or BUDGETS[spec.budget]
    trainer = methods.get(spec.method)
    try:
        model, config = trainer.train(spec, run_dir, budget)
    except (CheckpointError, ConfigMismatchError):
        shutil.rmtree(run_dir)  # a damaged or foreign training state: start the run again
        model, config = trainer.train(spec, run_dir, budget)
    trials, *pushes = (Trials.from_file(test_set_path(root, name)) for name in test_sets_of(spec.task))
    result = evaluate(
        model, config, trials, push_trials=pushes[0] if pushes else None, act=trainer.policy(model), method=spec.method
    )
    with atomic_path(run_dir / "evaluation.parquet") as tmp:
        result.table.to_parquet(tmp, index=False)
    with atomic_path(run_dir / "traces.npz") as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **result.traces)
    record = {
        "spec": asdict(spec),
        "evaluation_version": EVALUATION_VERSION,
        "files": {name: file_digest(run_dir / name) for name in RESULT_FILES},
        "seconds": round(time.perf_counter() - start, 2),
    }
    write_json(run_dir / "result.json", record)
    return {"key": spec.key, "status": "finished", "seconds": record["seconds"]}


def _run_in_worker(spec: RunSpec, root: str, budget: dict) -> dict:
    """Process-pool entry point: one thread for torch, quiet, errors returned as data."""
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


# -- the grid -----------------------------------------------------------------------------------
def prepare(grid: GridSpec, root: str | Path) -> Path:
    """Create the grid directory: its definition and the fixed test sets (kept if already there)."""
    from bilateral.evaluation import PUSH_TEST, make_push_test_set, make_test_set
    from bilateral.methods import trial_steps

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    definition = {
        "budget": grid.budget,
        "seeds": grid.seeds,
        "tasks": list(grid.tasks),
        "variants": list(grid.variants),
        "methods": list(grid.methods),
        "extra": grid.extra,
    }
    existing = root / "grid.json"
    if existing.exists():
        previous = json.loads(existing.read_text())
        if previous.get("budget") != grid.budget or previous.get("extra", {}) != grid.extra:
            raise ValueError(
                f"{root} holds a grid at budget {previous.get('budget')!r} "
                f"({previous.get('extra')}); use another --out for budget {grid.budget!r}"
            )
        for key in ("seeds", "tasks", "variants", "methods"):  # a grid may grow; report what was asked
            if isinstance(previous.get(key), list):
                definition[key] = sorted(set(previous[key]) | set(definition[key]), key=str)
        definition["seeds"] = max(previous.get("seeds", 0), grid.seeds)
    write_json(existing, definition)
    budget = grid.budget_values()
    n, steps = budget["test_trials"], trial_steps(budget)
    for task in grid.tasks:
        path = test_set_path(root, task)
        if not path.exists():
            make_test_set(task, n, steps).save(path)
        if task == "hold" and not test_set_path(root, PUSH_SET).exists():
            schedule = dataclasses.replace(PUSH_TEST, **budget.get("push_test", {}))
            make_push_test_set(n, steps, schedule).save(test_set_path(root, PUSH_SET))
    return root


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


BACKENDS = ("local", "ray")


@contextmanager
def _exclusive(root: Path):
    """Hold ``root/.lock`` for the duration: two drivers on one grid would train the same runs."""
    import fcntl

    with open(root / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another grid is running in {root}; wait for it, or use another --out") from None
        yield


def run_grid(
    grid: GridSpec,
    root: str | Path,
    *,
    workers: int = 2,
    progress: bool = True,
    backend: str = "local",
    address: str | None = None,
    cpus_per_run: float = 1.0,
    transfer: str = "shared",
    max_retries: int = 2,
    worker=None,
) -> dict:
    """Run every unfinished run of ``grid`` into ``root``.

    ``backend="local"``: a process pool of ``workers`` on this machine. ``backend="ray"``: Ray tasks of
    ``cpus_per_run`` CPUs each, on the cluster at ``address`` (see ``bilateral.ray_backend``, also for
    ``transfer``). A run whose worker process dies is tried again up to ``max_retries`` times. Returns
    counts of finished, skipped and failed runs; failures, with their errors, are also written to
    ``failures.json``. ``worker`` replaces what each run executes (tests only).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if backend == "ray":
        threads = max(1, int(cpus_per_run))
    else:
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    specs = grid.runs(threads=threads)
    budget = grid.budget_values()
    with _exclusive(root):
        remove_stale_temporaries(root)  # writes a killed grid interrupted; no one else writes here now
        prepare(grid, root)
        pending = [s for s in specs if not is_finished(s.directory(root))]
        skipped = [{"key": s.key, "status": "skipped"} for s in specs if s not in pending]
        results: list[dict] = []  # filled as runs end, so an interrupted grid still records them
        try:
            if backend == "ray":
                from bilateral.ray_backend import run_with_ray

                run_with_ray(
                    pending,
                    root,
                    budget,
                    results,
                    address=address,
                    cpus_per_run=cpus_per_run,
                    transfer=transfer,
                    max_retries=max_retries,
                    progress=progress,
                    skipped=len(skipped),
                    worker=worker,
                )
            else:
                _run_local(pending, root, budget, results, workers, max_retries, progress, len(skipped), worker)
        finally:
            _record_failures(root, results)
    for r in results:
        if r["status"] == "failed":
            print(f"failed: {r['key']}: {r['error']}")
    counts = {"finished": 0, "skipped": 0, "failed": 0}
    for r in skipped + results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


class Tally:
    """Results of runs as they end (appended to ``results``), and a progress bar of the grid's runs:
    done, failed and running, with tqdm's elapsed time and ETA. Used by both backends."""

    def __init__(self, results: list[dict], pending: int, skipped: int, desc: str, progress: bool) -> None:
        from tqdm.auto import tqdm

        self.results = results
        self.counts = {"finished": 0, "failed": 0}
        self.bar = tqdm(total=pending + skipped, initial=skipped, desc=desc, unit="run", disable=not progress)

    def record(self, result: dict, running: int) -> None:
        self.results.append(result)
        self.counts[result["status"]] = self.counts.get(result["status"], 0) + 1
        self.bar.update()
        self.bar.set_postfix(done=self.counts["finished"], failed=self.counts["failed"], running=running)

    def close(self) -> None:
        self.bar.close()


def _run_local(pending, root, budget, results, workers, max_retries, progress, skipped, worker) -> None:
    """Run ``pending`` in a process pool, appending each run's result to ``results`` as it ends.

    At most ``workers`` runs are in flight. If a worker process dies (killed, out of memory), the pool
    breaks and the runs in flight are lost (their checkpoints are not); the one that died cannot be
    told from the one beside it, so each of them is then run alone, and a run that dies alone is
    tried again up to ``max_retries`` times before it is reported as failed. The others go on.
    """
    run = worker or _run_in_worker
    tally = Tally(results, len(pending), skipped, "grid", progress)
    try:
        if workers <= 1:
            for spec in pending:
                tally.record(run(spec, str(root), budget), running=0)
            return
        queue = list(pending)
        while queue:
            suspects, queue = _in_pool(queue, workers, run, root, budget, tally)
            for spec in suspects:
                for attempt in range(1, max_retries + 2):
                    if not _in_pool([spec], 1, run, root, budget, tally)[0]:
                        break
                    if attempt > max_retries:
                        error = f"its worker process died {attempt} times when it ran alone"
                        tally.record({"key": spec.key, "status": "failed", "error": error}, running=0)
    finally:
        tally.close()


def _in_pool(specs, workers, run, root, budget, tally: Tally) -> tuple[list, list]:
    """Run ``specs`` in a fresh pool of ``workers`` processes, recording results in ``tally`` as they come.

    Returns the runs that were in flight when a worker process died, and those not started then.
    """
    from concurrent.futures.process import BrokenProcessPool

    queue, futures, lost, broken = list(specs), {}, [], False
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        while queue or futures:
            while not broken and queue and len(futures) < workers:
                try:
                    futures[pool.submit(run, queue[0], str(root), budget)] = queue[0]
                    queue.pop(0)
                except BrokenProcessPool:
                    broken = True
            if not futures:
                break
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                spec = futures.pop(future)
                try:
                    tally.record(future.result(), running=len(futures))
                except BrokenProcessPool:
                    broken = True
                    lost.append(spec)
    return lost, queue


def run_labels(run_dir: str | Path) -> dict:
    """``{"method", "task", "variant", "seed"}`` of a run directory ``runs/{method}/{task}/{variant}/seed{N}``."""
    method, task, variant, seed = Path(run_dir).parts[-4:]
    return {"method": method, "task": task, "variant": variant, "seed": int(seed.removeprefix("seed"))}


def finished_runs(root: str | Path) -> list[Path]:
    """Run directories of ``root`` whose results are complete and intact."""
    return sorted(p.parent for p in Path(root).glob("runs/*/*/*/seed*/result.json") if is_finished(p.parent))


def load_results(root: str | Path) -> pd.DataFrame:
    """Every finished run's per-trial table, concatenated."""
    tables = [pd.read_parquet(run / "evaluation.parquet") for run in finished_runs(root)]
    if not tables:
        raise FileNotFoundError(f"no finished runs in {root}")
    return pd.concat(tables, ignore_index=True)
