"""How long does a competent controller take? Wall time of the distal teacher to first reach the aims.

    python benchmarks/competence.py [--preset strong] [--seed 0] [--cap-seconds 600] [--set key=value ...]
                                    [--aim reach_bi=0.015 hold_unidom=0.005]

Trains, alone on this machine, with ``Trainer.train_batch`` (the step ``bilateral train`` runs):

- reach, ``bi``: until the mean final endpoint error is <= 2 cm;
- hold, ``uni-dom``: until the mean RMS deviation from the target is <= 1 cm (±10 N loads);

each judged on the 256 fixed test trials of ``bilateral evaluate`` every ``--every`` batches (and at
the preset's last batch); ``--aim`` sets other aims (metres). Evaluation time is not counted: the seconds are training time only. A
case that does not get there within ``--cap-seconds`` of training, or within the preset's own number
of batches, reports null. ``--set`` overrides preset fields (``--set learning_rate=0.01``) to try
settings (``--set cell=gru`` for recurrent hemispheres). The last line is one JSON object:
``reach_bi_seconds_to_2cm``, ``hold_unidom_seconds_to_1cm`` (named by the aims), the batches each
took, the best value each reached, and what the Jacobians cost on the way: MuJoCo steps simulated
per trial-step (``*_simulations_per_trial_step``: 3 on a smooth step, 9 where a joint limit is
active, 20 where a state sits on a limit) and the share of trial-steps with a limit active
(``*_fallback_share``), both over all batches trained.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch

from bilateral.evaluation import HEADLINE, headline
from bilateral.methods.distal import TrainConfig, Trainer

CASES = {  # (task, variant, aim in metres)
    "reach_bi": ("reach", "bi", 0.02),
    "hold_unidom": ("hold", "uni-dom", 0.01),
}


def parse_value(text: str):
    """A ``--set`` value: JSON if it parses (numbers, null, true), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def time_to_aim(config: TrainConfig, aim: float, every: int, cap: float, out: str, test_trials: int = 256) -> dict:
    """Train ``config`` until its headline metric is <= ``aim``; returns seconds, batches and history."""
    trainer = Trainer(config, out, progress=False)
    torch.set_num_threads(1)  # as Trainer.run does
    metric = HEADLINE[config.task]
    seconds, history, reached = 0.0, [], None
    counted = {"trial_steps": 0, "simulations": 0, "fallback": 0}
    try:
        for index in range(config.n_batches):
            start = time.perf_counter()
            row = trainer.train_batch(index)
            seconds += time.perf_counter() - start
            counted["trial_steps"] += config.batch_size * config.trial_steps
            counted["simulations"] += row["simulations"]
            counted["fallback"] += row["fallback"]
            last = index + 1 == config.n_batches or seconds >= cap
            if (index + 1) % every == 0 or last:
                value = headline(trainer.model, config, test_trials)[metric]
                history.append({"batches": index + 1, "seconds": round(seconds, 1), metric: round(value, 5)})
                print(
                    f"  {config.task} {config.variant}: {index + 1:5d} batches, {seconds:6.1f} s: {value * 100:.2f} cm",
                    flush=True,
                )
                if value <= aim:
                    reached = history[-1]
                    break
            if last:
                break
    finally:
        trainer.close()
    return {
        "seconds": reached["seconds"] if reached else None,
        "batches": reached["batches"] if reached else None,
        "best_m": min(h[metric] for h in history) if history else None,
        "history": history,
        "simulations_per_trial_step": round(counted["simulations"] / counted["trial_steps"], 3),
        "fallback_share": round(counted["fallback"] / counted["trial_steps"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="strong", help="training preset (default: strong)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs (default: 0)")
    parser.add_argument("--every", type=int, default=50, help="evaluate every this many batches (default: 50)")
    parser.add_argument("--cap-seconds", type=float, default=600.0, help="training time cap per case (default: 600)")
    parser.add_argument(
        "--cases", nargs="+", choices=list(CASES), default=list(CASES), help="which cases (default: both)"
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="preset fields to override")
    parser.add_argument("--test-trials", type=int, default=256, help="held-out test trials (default: 256)")
    parser.add_argument(
        "--aim", nargs="*", default=[], metavar="CASE=METRES", help="other aims, e.g. hold_unidom=0.005"
    )
    args = parser.parse_args()
    aims = {name: aim for name, (_, _, aim) in CASES.items()}
    for item in args.aim:
        name, _, value = item.partition("=")
        if name not in CASES or not float(value or "nan") > 0:
            parser.error(f"--aim {item}: give CASE=METRES with CASE one of {list(CASES)} and METRES > 0")
        aims[name] = float(value)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = parse_value(value)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            task, variant, _ = CASES[name]
            aim = aims[name]
            config = TrainConfig.from_preset(args.preset, task=task, variant=variant, seed=args.seed, **overrides)
            print(f"{name}: {args.preset} preset {overrides or ''}, seed {args.seed}, aim {aim * 100:g} cm", flush=True)
            results[name] = time_to_aim(config, aim, args.every, args.cap_seconds, f"{tmp}/{name}", args.test_trials)
    summary = {"preset": args.preset, "seed": args.seed, "overrides": overrides}
    for name, result in results.items():
        aim = f"{aims[name] * 100:g}"
        summary[f"{name}_seconds_to_{aim}cm"] = result["seconds"]
        summary[f"{name}_batches_to_{aim}cm"] = result["batches"]
        summary[f"{name}_best_m"] = result["best_m"]
        summary[f"{name}_simulations_per_trial_step"] = result["simulations_per_trial_step"]
        summary[f"{name}_fallback_share"] = result["fallback_share"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
