"""Every script in experiments/ and benchmarks/ runs end to end on a tiny budget (smoke tests)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_TRAIN = {"total_batches": 2, "batch_size": 4, "trial_steps": 5, "validation_trials": 4, "training_trials": None}


def run(*command, cwd=ROOT, **env) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_paper_comparison(tmp_path):
    out = run(
        sys.executable,
        "experiments/paper_comparison.py",
        "--budget",
        "tiny",
        "--seeds",
        "1",
        "--tasks",
        "hold",
        "--variants",
        "uni",
        "bi-spec",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--no-videos",
    )
    assert "2 runs reported" in out and (tmp_path / "claims.md").exists()


def test_env_step_benchmark():
    result = last_json(run(sys.executable, "benchmarks/env_step.py", "--seconds", "0.02"))
    assert result["ratio"] > 0 and result["batch64_trial_steps_per_s"] > 0


def test_competence_benchmark():
    sets = [f"{k}={json.dumps(v)}" for k, v in TINY_TRAIN.items()]
    result = last_json(
        run(sys.executable, "benchmarks/competence.py", "--every", "1", "--test-trials", "4", "--set", *sets)
    )
    assert set(result) >= {"reach_bi_seconds_to_2cm", "hold_unidom_seconds_to_1cm", "reach_bi_best_m"}
    for case in ("reach_bi", "hold_unidom"):  # 3 MuJoCo steps a smooth trial-step, more where a limit acts
        assert result[f"{case}_simulations_per_trial_step"] >= 3
        assert 0 <= result[f"{case}_fallback_share"] <= 1


def test_train_step_benchmark():
    pytest.importorskip("motornet")
    result = last_json(run(sys.executable, "benchmarks/train_step.py", "--batches", "1"))
    assert set(result) == {"paper", "gru"}
    for case in result.values():
        assert case["ratio"] > 0 and set(case["motornet_by_threads"]) == {"1", "2"}


def test_methods_benchmark():
    pytest.importorskip("stable_baselines3")
    rl = json.dumps({"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "trial_steps": 5})
    result = last_json(
        run(
            sys.executable,
            "benchmarks/methods.py",
            "--cap-minutes",
            "0.005",
            "--check-every-seconds",
            "0.1",
            "--check-every-steps",
            "64",
            "--methods",
            "distal,bilateral-ppo",
            "--test-trials",
            "4",
            "--distal",
            json.dumps(TINY_TRAIN),
            "--rl",
            rl,
        )
    )
    assert set(result["seconds"]) == {"distal", "bilateral-ppo"}
    assert result["kept_error_m"]["distal"] is None and result["kept_error_m"]["bilateral-ppo"] > 0
