"""The ``bilateral`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    """Render a rollout of each task with a random controller: video + PNG per task."""
    import numpy as np

    from bilateral.video import render_rollout, rollout_figure, write_video

    out = Path(args.out)
    rng = np.random.default_rng(args.seed)
    for task in ("reach", "hold"):
        rollout = render_rollout(task, lambda obs: rng.uniform(0, 1, 6), seed=args.seed, steps=args.steps)
        video = write_video(out / f"{task}_random.mp4", rollout.frames)
        figure = rollout_figure(out / f"{task}_random.png", rollout, f"{task}: random excitations")
        print(f"{task}: {video} ({len(rollout.frames)} frames), {figure}")
    return 0


def _train(args: argparse.Namespace) -> int:
    """Train one controller with the distal teacher: losses on the hand backpropagated through MuJoCo."""
    import json

    from bilateral.distal import TrainConfig, train

    overrides = {"task": args.task, "variant": args.variant, "seed": args.seed}
    if args.batches is not None:
        overrides["total_batches"] = args.batches
    if args.threads is not None:
        overrides["threads"] = args.threads
    if args.callosum is not None:
        overrides["callosum_kind"] = args.callosum
    config = TrainConfig.from_preset(args.preset, **overrides)
    summary = train(config, args.out, resume=args.resume, progress=not args.quiet)
    print(json.dumps(summary))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Evaluate a trained controller on the fixed, seeded test trials of its task."""
    import json

    from bilateral.distal import load_model
    from bilateral.evaluation import headline

    model, config, _ = load_model(args.checkpoint)
    result = headline(model, config, n_trials=args.trials)
    if args.json:
        print(json.dumps(result))
    else:
        metric = "endpoint_error_m" if "endpoint_error_m" in result else "rms_deviation_m"
        label = "mean final endpoint error" if metric == "endpoint_error_m" else "mean RMS deviation from target"
        print(
            f"{config.variant} on {config.task} (seed {config.seed}), {args.trials} test trials: "
            f"{label} {result[metric] * 100:.2f} cm"
        )
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bilateral",
        description="Bilateral neural-network motor controllers on a MuJoCo six-muscle arm.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="render each task with a random controller (video + PNG)", description=_demo.__doc__
    )
    demo.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    demo.add_argument("--seed", type=int, default=0, help="seed of trials and excitations (default: 0)")
    demo.add_argument("--steps", type=int, default=50, help="steps per trial, 10 ms each (default: 50)")
    demo.set_defaults(func=_demo)

    from bilateral.distal import PRESETS
    from bilateral.variants import VARIANTS

    variants = "; ".join(f"{v.name}: {v.stands_for}" for v in VARIANTS.values())
    train = sub.add_parser(
        "train",
        help="train a controller (distal teacher through MuJoCo)",
        description=_train.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"variants -- {variants}",
    )
    train.add_argument(
        "--task",
        choices=["reach", "hold"],
        default="reach",
        help="random reach, or hold position against a load (default: reach)",
    )
    train.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default="bi",
        metavar="NAME",
        help=f"controller to train: {', '.join(VARIANTS)} (default: bi)",
    )
    train.add_argument("--seed", type=int, default=0, help="seed of initial weights and of every trial (default: 0)")
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="hyper-parameters: 'paper' (the authors' example: 10 units, 1000 batches) or "
        "'strong' (64 units, longer training) (default: paper)",
    )
    train.add_argument("--out", required=True, help="run directory (created; holds checkpoints and logs)")
    train.add_argument(
        "--batches",
        type=_positive,
        default=None,
        help="total training batches, overriding the preset's epochs x batches per epoch",
    )
    train.add_argument(
        "--callosum",
        choices=["paper", "learned"],
        default=None,
        help="kind of callosum for the -cc variants (default: paper, parameter-free)",
    )
    train.add_argument("--threads", type=_positive, default=None, help="threads stepping MuJoCo (default: 2)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="score a trained controller on the fixed test trials", description=_evaluate.__doc__
    )
    evaluate.add_argument("checkpoint", help="model.pt of a finished run, or its run directory")
    evaluate.add_argument("--trials", type=_positive, default=256, help="number of test trials (default: 256)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    evaluate.set_defaults(func=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"bilateral {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"bilateral {args.command}: interrupted (a training run continues with --resume)\n")


if __name__ == "__main__":
    sys.exit(main())
