"""The experiment grid: end to end on a tiny budget, killed and resumed, damaged results redone."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from grid_support import plan_deaths

from bilateral.cli import main
from bilateral.grid import GridSpec, finished_runs, is_finished, run_grid
from bilateral.methods.distal import load_controller
from bilateral.report import publish, report
from bilateral_envs import Trials

SMALL = {"budget": "tiny", "seeds": 2, "variants": ("uni-dom", "uni-nondom", "bi", "bi-spec-cc")}


def test_tiny_grid_end_to_end(tmp_path):
    counts = run_grid(GridSpec(**SMALL), tmp_path, workers=2, progress=False)
    assert counts == {"finished": 16, "skipped": 0, "failed": 0}
    written = report(tmp_path, video_variants=["uni-dom", "bi-spec-cc"])
    assert written["runs"] == 16

    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary.columns) >= {"method", "task", "variant", "metric", "n_seeds", "mean", "ci_low", "ci_high"}
    assert len(summary) == 4 * (9 + 10)  # reach has 9 metrics, hold 10 (3 under pushes), for 4 variants
    headline = summary[summary["metric"].isin(["endpoint_error_m", "rms_deviation_m"])]
    assert (headline["n_seeds"] == 2).all()  # (other metrics can be undefined for a run, e.g. never settling)
    assert (headline["ci_low"] <= headline["mean"]).all() and (headline["mean"] <= headline["ci_high"]).all()

    results = pd.read_parquet(tmp_path / "results.parquet")
    assert set(results["lesion"]) == {"none", "high-left", "high-right", "low-left", "low-right", "cc"}
    assert set(results.loc[results["variant"] == "bi", "lesion"]) == {
        "none",
        "high-left",
        "high-right",
        "low-left",
        "low-right",
    }
    assert (results.groupby(["task", "variant", "seed", "lesion"]).size() == 8).all()  # 8 test trials each

    claims = (tmp_path / "claims.md").read_text()
    for heading in ("## 1.", "## 2.", "## 3.", "## Summary"):
        assert heading in claims
    for name in (
        "reach_metrics",
        "hold_metrics",
        "reach_examples",
        "hold_examples",
        "reach_lesions",
        "hold_lesions",
        "hold_deviation",
        "hold_push",
        "hemisphere_weights",
    ):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 10_000, name
    for task in ("reach", "hold"):
        assert (tmp_path / "videos" / f"{task}_side_by_side.mp4").stat().st_size > 1000
        test_set = Trials.from_file(tmp_path / "test_sets" / f"{task}.npz")
        assert len(test_set) == 8 and test_set.n_steps == 10
    pushed = Trials.from_file(tmp_path / "test_sets" / "hold_push.npz")  # the hold trials, with two pushes each
    np.testing.assert_array_equal(pushed.start_qpos, Trials.from_file(tmp_path / "test_sets" / "hold.npz").start_qpos)
    assert np.linalg.norm(pushed.pushes, axis=-1).max() == pytest.approx(20.0)
    hold = results[results["task"] == "hold"]
    assert hold[["push_peak_deviation_m", "push_recovery_time_s", "push_end_deviation_m"]].notna().all().all()

    # one row per run and lesion; and the small part, published, is enough to read and to load
    seeds = pd.read_csv(tmp_path / "seeds.csv")
    assert len(seeds) == results.groupby(["task", "variant", "seed", "lesion"]).ngroups
    published = publish(tmp_path, tmp_path / "docs")
    assert {p.relative_to(tmp_path / "docs").as_posix() for p in published} >= {
        "summary.csv",
        "seeds.csv",
        "claims.md",
        "grid.json",
        "figures/hold_push.png",
        "models/reach_bi-spec-cc/model.pt",
        "models/hold_bi-spec-cc/metrics.csv",
    }
    assert sum(p.stat().st_size for p in published) < 5_000_000
    model, config, _ = load_controller(tmp_path / "docs" / "models" / "hold_bi-spec-cc")
    assert model.recurrent is False
    assert (config.task, config.variant, config.seed) == ("hold", "bi-spec-cc", 0)

    # a second run of the same grid trains nothing
    assert run_grid(GridSpec(**SMALL), tmp_path, workers=1, progress=False) == {
        "finished": 0,
        "skipped": 16,
        "failed": 0,
    }
    with pytest.raises(ValueError, match="budget"):
        run_grid(GridSpec(budget="quick", seeds=1), tmp_path, progress=False)


GRID_SCRIPT = """
import sys
from bilateral.grid import GridSpec, run_grid
run_grid(GridSpec(budget="tiny", seeds=2), sys.argv[1], workers=2, progress=False)
"""


def test_killed_grid_resumes_without_redoing_finished_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, "-c", GRID_SCRIPT, str(tmp_path)], env=env, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(finished_runs(tmp_path)) < 4 and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers, mid-run
    process.wait()
    done_before = {run: (run / "result.json").stat().st_mtime_ns for run in finished_runs(tmp_path)}
    assert 4 <= len(done_before) < 28, "the grid was not killed midway"

    counts = run_grid(GridSpec(budget="tiny", seeds=2), tmp_path, workers=2, progress=False)
    assert counts["skipped"] == len(done_before) and counts["failed"] == 0
    assert counts["finished"] == 28 - len(done_before)
    for run, mtime in done_before.items():
        assert (run / "result.json").stat().st_mtime_ns == mtime  # not redone
    assert len(finished_runs(tmp_path)) == 28
    assert not list(tmp_path.rglob(".*tmp*"))  # nothing half-written left behind

    # damage two results: a truncated table and a garbled result record
    runs = finished_runs(tmp_path)
    table = runs[0] / "evaluation.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    (runs[1] / "result.json").write_text('{"files": {"evaluation.parquet": "0')
    assert not is_finished(runs[0]) and not is_finished(runs[1])
    counts = run_grid(GridSpec(budget="tiny", seeds=2), tmp_path, workers=1, progress=False)
    assert counts == {"finished": 2, "skipped": 26, "failed": 0}
    assert is_finished(runs[0]) and len(pd.read_parquet(table)) > 0


def test_a_damaged_training_state_is_restarted(tmp_path):
    run_dir = tmp_path / "runs" / "distal" / "reach" / "bi" / "seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    counts = run_grid(
        GridSpec(budget="tiny", seeds=1, tasks=("reach",), variants=("bi",)), tmp_path, workers=1, progress=False
    )
    assert counts == {"finished": 1, "skipped": 0, "failed": 0}
    assert is_finished(run_dir)


def test_a_failing_run_is_reported_and_the_grid_goes_on(tmp_path, monkeypatch, capsys):
    from bilateral.methods.distal import Distal

    original = Distal.train

    def train_or_fail(config, directory, **kwargs):
        if config.variant == "bi":
            raise RuntimeError("simulated failure")
        return original(config, directory, **kwargs)

    monkeypatch.setattr(Distal, "train", staticmethod(train_or_fail))
    grid = GridSpec(budget="tiny", seeds=1, tasks=("hold",), variants=("bi", "uni"))
    assert run_grid(grid, tmp_path, workers=1, progress=False) == {"finished": 1, "skipped": 0, "failed": 1}
    failures = json.loads((tmp_path / "failures.json").read_text())
    assert list(failures) == ["distal/hold/bi/seed0"]
    assert "simulated failure" in failures["distal/hold/bi/seed0"]["error"]
    assert "simulated failure" in capsys.readouterr().out
    monkeypatch.setattr(Distal, "train", staticmethod(original))
    assert run_grid(grid, tmp_path, workers=1, progress=False) == {"finished": 1, "skipped": 1, "failed": 0}
    assert json.loads((tmp_path / "failures.json").read_text()) == {}


@pytest.fixture
def dying(tmp_path, monkeypatch):
    """The ``dying`` method (tests/grid_support.py) registered for this test's grids."""
    monkeypatch.setenv("BILATERAL_METHODS", "dying=grid_support:DYING")
    monkeypatch.setenv("BILATERAL_TEST_MARKERS", str(tmp_path / "markers"))
    return tmp_path / "markers"


def test_a_dying_worker_process_loses_only_its_runs_which_are_retried(tmp_path, dying):
    plan_deaths(dying, "hold/uni/seed1", times=1)
    grid = GridSpec(budget="tiny", seeds=2, tasks=("hold",), variants=("uni", "uni-dom"), methods=("dying",))
    counts = run_grid(grid, tmp_path / "grid", workers=2, progress=False)
    assert counts == {"finished": 4, "skipped": 0, "failed": 0}
    assert len(list(dying.glob("attempt-*"))) == 1  # it died once, and was run again
    assert len(finished_runs(tmp_path / "grid")) == 4


def test_a_run_that_always_kills_its_worker_fails_alone(tmp_path, dying):
    plan_deaths(dying, "hold/uni/seed0", times=99)
    grid = GridSpec(budget="tiny", seeds=2, tasks=("hold",), variants=("uni", "uni-dom"), methods=("dying",))
    counts = run_grid(grid, tmp_path / "grid", workers=2, progress=False, max_retries=1)
    assert counts == {"finished": 3, "skipped": 0, "failed": 1}
    failures = json.loads((tmp_path / "grid" / "failures.json").read_text())
    assert list(failures) == ["dying/hold/uni/seed0"]
    assert "died 2 times" in failures["dying/hold/uni/seed0"]["error"]
    assert len(finished_runs(tmp_path / "grid")) == 3


def test_temporary_files_of_a_killed_grid_are_cleared(tmp_path):
    """A kill between writing a temporary file and renaming it leaves the file; the next run removes it."""
    run_dir = tmp_path / "runs" / "distal" / "hold" / "uni" / "seed0"
    run_dir.mkdir(parents=True)
    stale = [run_dir / ".checkpoint.abc123.tmp.pt", tmp_path / ".summary.xyz.tmp.csv"]
    for path in stale:
        path.write_bytes(b"half")
    grid = GridSpec(budget="tiny", seeds=1, tasks=("hold",), variants=("uni",))
    assert run_grid(grid, tmp_path, workers=1, progress=False)["finished"] == 1
    assert not any(path.exists() for path in stale)
    assert not list(tmp_path.rglob(".*tmp*"))


def test_two_drivers_cannot_run_one_grid(tmp_path):
    import fcntl

    from bilateral.grid import prepare

    prepare(GridSpec(budget="tiny", seeds=1, tasks=("hold",), variants=("uni",)), tmp_path)
    with open(tmp_path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="another grid is running"):
            run_grid(GridSpec(budget="tiny", seeds=1, tasks=("hold",), variants=("uni",)), tmp_path, progress=False)


def test_cli_grid_and_report(tmp_path, capsys):
    out = tmp_path / "grid"
    code = main(
        [
            "grid",
            "--budget",
            "tiny",
            "--seeds",
            "1",
            "--tasks",
            "hold",
            "--variants",
            "uni",
            "bi-cc",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
            "--no-videos",
        ]
    )
    assert code == 0
    assert "2 finished now" in capsys.readouterr().out
    assert main(["report", str(out), "--no-videos"]) == 0
    assert "claims.md" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["grid", "--out", str(out), "--variants", "nope"])


# Trained numbers pinned on one machine are compared to 1e-4 relative (and 1e-6 absolute, in the metrics'
# units: metres, seconds): float32 training is bit-identical on one machine only; across CPUs (vector
# instruction sets, BLAS kernels, MuJoCo's compiled paths) the tiny grid's numbers differ by a few parts in
# 1e7 (1.7e-7 seen on another 2-core Xeon), more in interval ends near zero, which the absolute part covers.
# A real change (a loss weight, a metric's definition, a gradient) moves them by 1e-3 or more.
PINNED_RTOL, PINNED_ATOL = 1e-4, 1e-6


def assert_as_pinned(summary: pd.DataFrame, pinned: pd.DataFrame) -> None:
    """``summary`` (a report's summary.csv) has the rows of ``pinned`` and its numbers, to the tolerance
    above."""
    keys = ["method", "task", "variant", "metric"]
    merged = pinned.merge(summary, on=keys, suffixes=("_pinned", ""), validate="one_to_one")
    assert len(merged) == len(pinned) == len(summary)
    np.testing.assert_array_equal(merged["n_seeds"], merged["n_seeds_pinned"])
    for column in ("mean", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            merged[column], merged[f"{column}_pinned"], rtol=PINNED_RTOL, atol=PINNED_ATOL, err_msg=column
        )


PINNED = Path(__file__).parent / "data" / "tiny_grid_summary.csv"


def test_a_tiny_grid_gives_the_numbers_it_gave(tmp_path):
    """The same seeds give the numbers the code gave when tests/data/tiny_grid_summary.csv was written,
    to ``PINNED_RTOL``: bit-identical on the machine that wrote them, equal to float32 rounding on others.
    (Same seed twice on one machine, exactly: tests/test_training.py.)"""
    grid = GridSpec(budget="tiny", seeds=2, variants=("uni-nondom", "bi-spec-cc"))
    assert run_grid(grid, tmp_path, workers=1, progress=False)["finished"] == 8
    report(tmp_path, videos=False)
    assert_as_pinned(pd.read_csv(tmp_path / "summary.csv"), pd.read_csv(PINNED))


def test_the_pinned_comparison_tolerates_rounding_and_catches_a_real_change():
    pinned = pd.read_csv(PINNED)
    rounded = pinned.copy()
    for column in ("mean", "ci_low", "ci_high"):
        rounded[column] *= 1 + 2e-7 * np.where(np.arange(len(pinned)) % 2, 1, -1)  # another CPU's rounding
    assert_as_pinned(rounded, pinned)
    for row in range(len(pinned)):
        changed = pinned.copy()
        changed.loc[row, "mean"] *= 1 + 1e-3
        with pytest.raises(AssertionError):
            assert_as_pinned(changed, pinned)
