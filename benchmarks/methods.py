"""When does gradient-through-physics beat model-free RL? Time and steps to a 5 cm reach.

    python benchmarks/methods.py [--cap-minutes 15] [--target-cm 5] [--check-every-seconds 20]

On the reach task, trains each method until the mean final endpoint error on 128 held-out test
trials (deterministic actions) is at most ``--target-cm``, or until ``--cap-minutes`` of training:

- ``distal``: the distal teacher, bilateral model (``bi``), strong preset;
- ``bilateral-ppo``: BilateralPPO with the same bilateral controller (``bi``, non-specialised reward);
- ``ppo``, ``sac``: stable-baselines3's stock algorithms with MlpPolicy (``uni`` reward).

Evaluation time is not counted (the RL runs' own periodic validation is switched off; each check
scores the policy on the run's validation trials too, and ``kept`` is the test error of the policy a
run would keep as ``best.pt``: the best on validation so far). Environment steps are arm steps
(trial-steps for the distal teacher, which runs 32 fresh trials of 50 steps a batch). Run it alone:
the figures are wall-clock. The last line is one JSON object: seconds to the target per method (null
if not reached), the environment steps, the final error and, for RL, the kept policy's error.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bilateral.evaluation import headline
from bilateral.methods.distal import TrainConfig, Trainer
from bilateral.methods.rl import RLConfig


def run_distal(cap: float, target: float, every: float, out: Path, test_trials: int, overrides: dict) -> dict:
    config = TrainConfig.from_preset(
        "strong", **{"task": "reach", "variant": "bi", "total_batches": 10**9, **overrides}
    )
    trainer = Trainer(config, out, progress=False)
    torch.set_num_threads(1)
    seconds, batches, next_check, history = 0.0, 0, every, []
    while seconds < cap:
        start = time.perf_counter()
        trainer.train_batch(batches)
        seconds += time.perf_counter() - start
        batches += 1
        if seconds >= next_check or seconds >= cap:
            next_check += every
            error = headline(trainer.model, config, test_trials)["endpoint_error_m"]
            history.append((seconds, batches * config.batch_size * config.trial_steps, error))
            print(f"  distal: {seconds:6.0f} s, {history[-1][1]:>10,} steps: {error * 100:.2f} cm", flush=True)
            if error <= target:
                break
    trainer.close()
    return _result(history, target)


def run_rl(
    method: str, cap: float, target: float, every_steps: int, out: Path, test_trials: int, overrides: dict
) -> dict:
    from bilateral.evaluation import make_test_set
    from bilateral.methods.rl import train_rl
    from bilateral.methods.rl.training import score, validation_trials

    if overrides.get("lr_schedule", "constant") != "constant":
        raise SystemExit("--rl: the RL runs here have no end (total_steps 1e9), so a decaying lr_schedule cannot decay")

    variant = "bi" if method == "bilateral-ppo" else "uni"
    config = RLConfig.make(
        {"method": method, "task": "reach", "variant": variant, "total_steps": 10**9, "eval_every": 10**9, **overrides}
    )
    validation, test = validation_trials(config), make_test_set("reach", test_trials, config.trial_steps)
    state = {"seconds": 0.0, "since": time.perf_counter(), "kept": None}  # kept: (validation, test error)
    history: list[tuple[float, int, float]] = []

    def check(steps: int, model) -> bool:
        state["seconds"] += time.perf_counter() - state["since"]
        error, checked = score(model.policy, config, test), score(model.policy, config, validation)
        if state["kept"] is None or checked < state["kept"][0]:
            state["kept"] = (checked, error)
        history.append((state["seconds"], steps, error))
        print(
            f"  {method}: {state['seconds']:6.0f} s, {steps:>10,} steps: {error * 100:.2f} cm "
            f"(kept: {state['kept'][1] * 100:.2f} cm)",
            flush=True,
        )
        state["since"] = time.perf_counter()
        return error > target and state["seconds"] < cap

    train_rl(config, out, progress=False, every=check, every_steps=every_steps)
    return {**_result(history, target), "kept_error_m": round(state["kept"][1], 4) if state["kept"] else None}


def _result(history, target) -> dict:
    reached = next(((s, n) for s, n, e in history if e <= target), None)
    return {
        "seconds": round(reached[0], 1) if reached else None,
        "env_steps": reached[1] if reached else None,
        "final_error_m": round(history[-1][2], 4) if history else None,
        "trained_seconds": round(history[-1][0], 1) if history else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-minutes", type=float, default=15.0, help="training time cap per method")
    parser.add_argument("--target-cm", type=float, default=5.0, help="mean final endpoint error to reach")
    parser.add_argument("--check-every-seconds", type=float, default=20.0, help="distal: evaluate this often")
    parser.add_argument("--check-every-steps", type=int, default=50_000, help="RL: evaluate this often")
    parser.add_argument("--methods", default="distal,bilateral-ppo,ppo,sac", help="comma-separated")
    parser.add_argument("--test-trials", type=int, default=128, help="held-out reach trials (default: 128)")
    parser.add_argument("--distal", default="{}", help="JSON of TrainConfig fields for the distal teacher")
    parser.add_argument("--rl", default="{}", help="JSON of RLConfig fields for the RL methods")
    args = parser.parse_args()
    cap, target = args.cap_minutes * 60, args.target_cm / 100
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in args.methods.split(","):
            print(f"{method}: training until {args.target_cm} cm or {args.cap_minutes} min", flush=True)
            out = Path(tmp) / method
            if method == "distal":
                results[method] = run_distal(
                    cap, target, args.check_every_seconds, out, args.test_trials, json.loads(args.distal)
                )
            else:
                results[method] = run_rl(
                    method, cap, target, args.check_every_steps, out, args.test_trials, json.loads(args.rl)
                )
    for method, r in results.items():
        reached = f"{r['seconds']:.0f} s, {r['env_steps']:,} steps" if r["seconds"] is not None else "not reached"
        final = f"{r['final_error_m'] * 100:.2f} cm" if r["final_error_m"] is not None else "none"
        kept = f", kept {r['kept_error_m'] * 100:.2f} cm" if r.get("kept_error_m") is not None else ""
        print(f"{method:>14}: {reached} (final {final}{kept} after {r['trained_seconds']:.0f} s)")
    print(
        json.dumps(
            {
                "target_m": target,
                "seconds": {m: r["seconds"] for m, r in results.items()},
                "env_steps": {m: r["env_steps"] for m, r in results.items()},
                "final_error_m": {m: r["final_error_m"] for m, r in results.items()},
                "kept_error_m": {m: r.get("kept_error_m") for m, r in results.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
