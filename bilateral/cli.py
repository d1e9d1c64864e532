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
    """Train one controller: with the distal teacher (losses on the hand backpropagated through
    MuJoCo, the default) or with reinforcement learning (stable-baselines3 PPO, SAC, BilateralPPO)."""
    import json

    if args.method != "distal":
        return _train_rl(args)
    if args.steps is not None:
        raise ValueError("--steps counts environment steps of RL methods; the distal teacher takes --batches")
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


def _train_rl(args: argparse.Namespace) -> int:
    import json

    try:
        from bilateral.rl import RLConfig, train_rl
    except ImportError as error:
        raise ValueError(f"RL methods need the rl extra (pip install -e '.[rl]'): {error}") from None
    if args.batches is not None:
        raise ValueError("--batches counts distal-teacher batches; RL methods take --steps")
    values = {"method": args.method, "task": args.task, "variant": args.variant, "seed": args.seed}
    if args.steps is not None:
        values["total_steps"] = args.steps
    if args.callosum is not None:
        values["callosum_kind"] = args.callosum
    if args.resume and not (Path(args.out) / "model.pt").exists():
        print("note: RL runs cannot resume mid-training; starting again", file=sys.stderr)
    summary = train_rl(RLConfig(**values), args.out, progress=not args.quiet)
    print(json.dumps(summary))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Evaluate a trained controller on the fixed, seeded test trials of its task."""
    import json

    from bilateral.evaluation import headline
    from bilateral.methods import load_trained

    model, config, act = load_trained(args.checkpoint)
    result = headline(model, config, n_trials=args.trials, act=act)
    result["method"] = getattr(config, "method", "distal")
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


def _grid(args: argparse.Namespace) -> int:
    """Train and evaluate variants x tasks x seeds (x methods), resumably, then write the report."""
    from bilateral.grid import GridSpec, run_grid
    from bilateral.report import report

    budget = "quick" if args.quick else args.budget
    grid = GridSpec(
        budget=budget,
        seeds=args.seeds,
        tasks=tuple(args.tasks),
        variants=tuple(args.variants),
        methods=tuple(args.methods),
    )
    counts = run_grid(
        grid,
        args.out,
        workers=args.workers,
        progress=not args.quiet,
        backend=args.backend,
        address=args.address,
        cpus_per_run=args.cpus_per_run,
        transfer=args.transfer,
    )
    print(
        f"runs: {counts['finished']} finished now (trained, or re-evaluated), {counts['skipped']} already "
        f"finished, {counts['failed']} failed"
    )
    if counts["finished"] + counts["skipped"]:
        written = report(args.out, videos=not args.no_videos)
        print(
            f"report of {written['runs']} runs in {args.out}: summary.csv, claims.md, "
            f"{len(written['files'])} figures and videos"
        )
    return 1 if counts["failed"] else 0


def _report(args: argparse.Namespace) -> int:
    """Write summary.csv, claims.md, figures and videos from the finished runs of a grid directory."""
    from bilateral.report import report

    written = report(args.dir, videos=not args.no_videos)
    print(f"report of {written['runs']} runs in {args.dir}:")
    for name in ["results.parquet", "summary.csv", "claims.md", *written["files"]]:
        print(f"  {name}")
    return 0


def _render(args: argparse.Namespace) -> int:
    """Render a trained controller on test trials of a task (its own by default) to a video."""
    from bilateral.evaluation import make_test_set
    from bilateral.methods import load_trained
    from bilateral.video import render_trained, rollout_figure, write_video

    model, config, policy = load_trained(args.checkpoint)
    task = args.task or config.task
    trials = make_test_set(task, args.trials, args.steps or config.trial_steps)
    if args.lesion:
        if policy is not None:
            raise ValueError("lesions apply to controllers (distal or bilateral-ppo), not to MlpPolicy networks")
        model.lesion = args.lesion
    rollouts = render_trained(
        model, config, policy, trials, args.trials, task=task, width=args.width, height=args.height
    )
    frames = [frame for rollout in rollouts for frame in rollout.frames]
    out = write_video(args.out, frames, fps=args.fps)
    figure = rollout_figure(Path(out).with_suffix(".png"), rollouts[-1], f"{config.variant} on {task}")
    print(f"{out} ({len(frames)} frames, {len(rollouts)} trials), {figure}")
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
    train.add_argument(
        "--method",
        choices=["distal", "ppo", "sac", "bilateral-ppo"],
        default="distal",
        help="distal teacher (default); SB3's stock PPO or SAC with MlpPolicy (unilateral variants); or "
        "BilateralPPO with the distal teacher's controllers (all variants). RL methods need the rl extra",
    )
    train.add_argument(
        "--steps", type=_positive, default=None, help="RL methods: total environment steps (default: 200000)"
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

    from bilateral.grid import BUDGETS, METHODS, TASKS

    grid = sub.add_parser("grid", help="run the experiment grid and write its report", description=_grid.__doc__)
    grid.add_argument("--out", required=True, help="grid directory (created; re-running resumes it)")
    grid.add_argument("--quick", action="store_true", help="the 'quick' budget: a whole grid in minutes")
    grid.add_argument(
        "--budget",
        choices=sorted(b for b in BUDGETS if b != "tiny"),
        default="paper",
        help="training budget of every run (default: paper; --quick overrides)",
    )
    grid.add_argument("--seeds", type=_positive, default=5, help="seeds per variant and task (default: 5)")
    grid.add_argument("--workers", type=_positive, default=2, help="runs in parallel, one process each (default: 2)")
    grid.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="tasks (default: both)")
    grid.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS),
        default=list(VARIANTS),
        metavar="NAME",
        help="variants (default: all seven)",
    )
    grid.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        metavar="METHOD",
        help="training methods: distal, and with the rl extra ppo, sac, bilateral-ppo (default: distal)",
    )
    grid.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: a process pool on this machine (default); ray: Ray tasks on a cluster (the ray extra)",
    )
    grid.add_argument(
        "--address",
        default=None,
        help="ray: the cluster to use. Default: the one this machine belongs to if any (after `ray start "
        "--head`), else a Ray started here; 'auto' insists on a running cluster; 'ray://HOST:10001' "
        "reaches a remote one; 'local' always starts one here",
    )
    grid.add_argument("--cpus-per-run", type=float, default=1.0, help="ray: CPUs reserved per run (default: 1)")
    grid.add_argument(
        "--transfer",
        choices=["shared", "object-store"],
        default="shared",
        help="ray: workers write into --out on a shared filesystem (default), or send finished runs back "
        "through Ray's object store (no shared filesystem needed)",
    )
    grid.add_argument("--no-videos", action="store_true", help="skip rendering the side-by-side videos")
    grid.add_argument("--quiet", action="store_true", help="no progress bar")
    grid.set_defaults(func=_grid)

    rep = sub.add_parser(
        "report", help="tables, claims, figures and videos from a grid directory", description=_report.__doc__
    )
    rep.add_argument("dir", help="grid directory")
    rep.add_argument("--no-videos", action="store_true", help="skip rendering the side-by-side videos")
    rep.set_defaults(func=_report)

    render = sub.add_parser("render", help="render a trained controller to a video", description=_render.__doc__)
    render.add_argument("checkpoint", help="model.pt of a finished run, or its run directory")
    render.add_argument("--task", choices=["reach", "hold"], default=None, help="task (default: the one it learnt)")
    render.add_argument("--out", required=True, help="video file, .mp4 or .gif (a .png figure is written beside)")
    render.add_argument("--trials", type=_positive, default=3, help="test trials, one after another (default: 3)")
    render.add_argument("--steps", type=_positive, default=None, help="steps per trial (default: as trained)")
    render.add_argument(
        "--lesion",
        choices=["high-left", "high-right", "low-left", "low-right", "cc"],
        default=None,
        help="render the model with a lesion",
    )
    render.add_argument("--width", type=_positive, default=640, help="frame width in pixels (default: 640)")
    render.add_argument("--height", type=_positive, default=480, help="frame height in pixels (default: 480)")
    render.add_argument("--fps", type=_positive, default=50, help="frames per second: 50 = half speed (default)")
    render.set_defaults(func=_render)
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
