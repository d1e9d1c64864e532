"""The ``bilateral`` command line. Its training and grid options are the fields of the configuration
dataclasses (``bilateral.settings``), so every setting can be given and none is declared twice.
``bilateral train``'s options are the chosen method's own (``--method``, and for the distal teacher
``--preset``, are read first; ``--help`` then shows the values that will be used). Importing this
module imports neither torch nor pandas (``--help`` stays fast)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bilateral.grid.settings import BUDGETS, Execution
from bilateral.methods import METHODS
from bilateral.methods.distal.config import TRAINING_PRESETS, TrainConfig
from bilateral.settings import add_options, from_options
from bilateral.variants import CELLS, DEFAULT_CELL, LESION_MEANINGS, LESIONS, VARIANTS
from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.tasks import TASK_NAMES as TASKS


def _demo(args: argparse.Namespace) -> int:
    """Render a rollout of each task with a random controller: video + PNG per task."""
    import numpy as np

    from bilateral.video import render_rollout, rollout_figure, write_video

    out = Path(args.out)
    rng = np.random.default_rng(args.seed)
    for task in TASKS:
        rollout = render_rollout(
            task,
            lambda obs: rng.uniform(0, 1, N_MUSCLES),
            seed=args.seed,
            steps=args.steps,
            caption=f"random excitations · {task}",
        )
        video = write_video(out / f"{task}_random.mp4", rollout.frames)
        figure = rollout_figure(out / f"{task}_random.png", rollout, f"{task}: random excitations")
        print(f"{task}: {video} ({len(rollout.frames)} frames), {figure}")
    return 0


def training_config(args: argparse.Namespace):
    """The configuration ``bilateral train``'s options describe: a ``TrainConfig`` (distal teacher,
    from ``--preset``) or the RL method's ``RLConfig``."""
    given = {k: v for k, v in from_options(args, _config_class(args.method)).items() if k not in ("method", "preset")}
    if args.method == "distal":
        return TrainConfig.from_preset(args.preset, **given)
    from bilateral import methods
    from bilateral.methods.rl.config import RLConfig

    config = RLConfig.make({**given, "method": args.method})
    reason = methods.get(args.method).unsupported(config.variant, args.cell)
    if reason:
        raise ValueError(f"--cell {args.cell}: {reason}")
    return config


def _config_class(method: str):
    if method == "distal":
        return TrainConfig
    from bilateral.methods.rl.config import RLConfig

    return RLConfig


def _train(args: argparse.Namespace) -> int:
    """Train one controller: with the distal teacher (losses on the hand backpropagated through
    MuJoCo, the default) or with reinforcement learning (stable-baselines3 PPO, SAC, BilateralPPO).
    Every setting of the method's configuration (TrainConfig for the distal teacher, RLConfig for RL) is
    an option: bilateral train --method NAME --help lists them."""
    from bilateral import methods

    config = training_config(args)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    if not args.out:
        raise ValueError("--out is required: the run directory to train into")
    out = Path(args.out)
    started = ("checkpoint.pt", "summary.json", "config.json", "metrics.csv")  # a run, or one killed early
    if args.resume and not any((out / name).exists() for name in started):
        raise ValueError(
            f"--resume: {out} holds no run to resume (no checkpoint.pt); check the directory, or leave out "
            "--resume to start a new run there"
        )
    summary = methods.get(args.method).train(config, args.out, resume=args.resume, progress=not args.quiet)
    if args.method != "distal":  # the RL run's curves, from its logs
        from bilateral.report.figures import rl_training_figure

        rl_training_figure(Path(args.out), Path(args.out) / "training.png")
    print(json.dumps(summary))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Evaluate a trained controller on the fixed, seeded test trials of its task: the headline number,
    or with --metrics every metric of the task (mean over the trials), intact or under --lesion."""
    import bilateral
    from bilateral.evaluation import HEADLINE, TASK_METRICS

    trained = bilateral.load(args.checkpoint)
    config = trained.config
    if args.lesion and trained.act is not None:
        raise ValueError("lesions apply to controllers (distal or bilateral-ppo), not to MlpPolicy networks")
    table = bilateral.evaluate(trained, trials=args.trials, lesions=[args.lesion])
    names = [m for m in TASK_METRICS[config.task] if m in table] if args.metrics else [HEADLINE[config.task]]
    means = {name: float(table[name].mean()) for name in names}
    about = {
        "task": config.task,
        "variant": config.variant,
        "seed": config.seed,
        "trials": args.trials,
        "steps": config.trial_steps,
        "lesion": args.lesion or "none",
        "method": trained.method,
        "model": trained.source,
    }
    if args.json:
        print(json.dumps({**about, **means}))
        return 0
    lesion = f", lesion {args.lesion}" if args.lesion else ""
    print(
        f"{config.variant} on {config.task} (seed {config.seed}, {trained.method}, {trained.source}{lesion}), "
        f"{args.trials} test trials, mean over them:"
    )
    from bilateral.report.units import fmt, label

    described = {"endpoint_error_m": "final endpoint error", "rms_deviation_m": "RMS deviation from target"}
    for name, value in means.items():
        print(f"  {described.get(name, label(name))}: {fmt(name, value)}")
    return 0


def _grid(args: argparse.Namespace) -> int:
    """Train and evaluate variants x tasks x seeds (x methods), resumably, then write the report.
    Re-running the same command resumes it."""
    from bilateral.grid import GridSpec, run_grid
    from bilateral.report import report

    grid = GridSpec(**from_options(args, GridSpec))
    execution = Execution.make(from_options(args, Execution)).replace(progress=not args.quiet)
    counts = run_grid(grid, args.out, execution)
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
    """Write summary.csv, claims.md, figures and videos from the finished runs of a grid directory
    (and, with --publish, copy the small part of it to a folder meant to be committed)."""
    from bilateral.report import publish, rederive, report

    if args.from_seeds:
        written = rederive(args.dir)
        print(f"derived again from {Path(args.dir) / 'seeds.csv'}: " + ", ".join(p.name for p in written))
        return 0
    written = report(args.dir, videos=not args.no_videos)
    print(f"report of {written['runs']} runs in {args.dir}:")
    for name in ["results.parquet", "summary.csv", "seeds.csv", "claims.md", *written["files"]]:
        print(f"  {name}")
    if args.publish:
        copied = publish(args.dir, args.publish)
        print(f"published {len(copied)} files to {args.publish}")
    return 0


def _render(args: argparse.Namespace) -> int:
    """Render a trained controller on test trials of a task (its own by default) to a video."""
    from bilateral.evaluation import make_test_set
    from bilateral.methods import load_trained
    from bilateral.video import render_trained, rollout_figure, write_video

    trained = load_trained(args.checkpoint)
    config = trained.config
    task = args.task or config.task
    trials = make_test_set(task, args.trials, args.steps or config.trial_steps)
    if args.lesion:
        if trained.act is not None:
            raise ValueError("lesions apply to controllers (distal or bilateral-ppo), not to MlpPolicy networks")
        trained.model.lesion = args.lesion
    rollouts = render_trained(
        trained, trials, args.trials, task=task, width=args.width, height=args.height, progress=not args.quiet
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


def _add_demo(sub) -> None:
    demo = sub.add_parser(
        "demo", help="render each task with a random controller (video + PNG)", description=_demo.__doc__
    )
    demo.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    demo.add_argument("--seed", type=int, default=0, help="seed of trials and excitations (default: 0)")
    demo.add_argument("--steps", type=_positive, default=50, help="steps per trial, 10 ms each (default: 50)")
    demo.set_defaults(func=_demo)


def _add_train(sub, method: str = "distal", preset: str = "paper") -> None:
    """``bilateral train`` with the options of ``method`` (and, for the distal teacher, their values
    under ``preset`` as the defaults shown)."""
    variants = "; ".join(f"{v.name}: {v.stands_for}" for v in VARIANTS.values())
    lesions = "; ".join(f"{name}: {meaning}" for name, meaning in LESION_MEANINGS.items())
    train = sub.add_parser(
        "train",
        help="train a controller (distal teacher through MuJoCo, or RL)",
        description=_train.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"variants -- {variants}\nlesions (evaluate, render) -- {lesions}",
    )
    train.add_argument("--out", help="run directory (created; holds checkpoints and logs); required to train")
    train.add_argument(
        "--method",
        choices=list(METHODS),
        default="distal",
        help="distal teacher (default); SB3's stock PPO or SAC with MlpPolicy (unilateral variants); or "
        "BilateralPPO with the distal teacher's controllers (all variants). RL methods need the rl extra. "
        "The options below are the chosen method's: see bilateral train --method NAME --help",
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--print-config", action="store_true", help="print the settings the options resolve to, as JSON, and stop"
    )
    if method == "distal":
        train.add_argument(
            "--preset",
            choices=sorted(TRAINING_PRESETS),
            default="paper",
            help="the distal teacher's hyper-parameters: 'paper' (the authors' example) or 'strong' (ours: a "
            "competent controller fast); options below override it, and show its values (default: paper)",
        )
        add_options(
            train,
            TrainConfig,
            skip=("preset",),
            group=f"distal teacher settings (TrainConfig; defaults: the {preset} preset's)",
            defaults=TrainConfig.preset_values(preset),
        )
    else:
        config_class = _config_class(method)
        group = train.add_argument_group(f"{method} settings ({config_class.__name__})")
        group.add_argument(
            "--cell",
            choices=CELLS,
            default=DEFAULT_CELL,
            help="hemisphere layers: RL methods train dense (feedforward) controllers only (default: dense)",
        )
        add_options(group, config_class, skip=("method",))
    train.set_defaults(func=_train)


def _add_grid(sub) -> None:
    from bilateral.grid.spec import GridSpec

    grid = sub.add_parser("grid", help="run the experiment grid and write its report", description=_grid.__doc__)
    grid.add_argument("--out", required=True, help="grid directory (created; re-running resumes it)")
    add_options(grid, GridSpec, group=f"the grid (budgets: {', '.join(BUDGETS)})")
    add_options(grid, Execution, skip=("progress",), group="execution")
    grid.add_argument("--no-videos", action="store_true", help="skip rendering the side-by-side videos")
    grid.add_argument("--quiet", action="store_true", help="no progress bar")
    grid.set_defaults(func=_grid)


class _Parser(argparse.ArgumentParser):
    """A parser whose errors are one line and a pointer to ``--help``, not the usage block first, and
    which takes options by their whole names only (an abbreviated --method would slip past ``_chosen``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def build_parser(method: str = "distal", preset: str = "paper") -> argparse.ArgumentParser:
    """The whole command line; ``bilateral train``'s options are ``method``'s (``preset``'s values)."""
    parser = _Parser(
        prog="bilateral", description="Bilateral neural-network motor controllers on a MuJoCo six-muscle arm."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(sub)
    _add_train(sub, method, preset)

    evaluate = sub.add_parser(
        "evaluate", help="score a trained controller on the fixed test trials", description=_evaluate.__doc__
    )
    evaluate.add_argument("checkpoint", help="model.pt of a finished run, or its run directory")
    evaluate.add_argument("--trials", type=_positive, default=256, help="number of test trials (default: 256)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    evaluate.add_argument(
        "--metrics", action="store_true", help="every metric of the run's task, not only the headline one"
    )
    evaluate.add_argument(
        "--lesion",
        choices=LESIONS,
        default=None,
        help="evaluate the controller with a lesion (see bilateral train --help)",
    )
    evaluate.set_defaults(func=_evaluate)

    _add_grid(sub)

    rep = sub.add_parser(
        "report", help="tables, claims, figures and videos from a grid directory", description=_report.__doc__
    )
    rep.add_argument("dir", help="grid directory")
    rep.add_argument("--no-videos", action="store_true", help="skip rendering the side-by-side videos")
    rep.add_argument(
        "--from-seeds",
        action="store_true",
        help="write summary.csv and claims.md again from DIR/seeds.csv alone (a published folder, after the "
        "analysis changed)",
    )
    rep.add_argument(
        "--publish",
        metavar="DEST",
        help="also copy the tables, claims, figures and the notebooks' example models to DEST (docs/results/...)",
    )
    rep.set_defaults(func=_report)

    render = sub.add_parser("render", help="render a trained controller to a video", description=_render.__doc__)
    render.add_argument("checkpoint", help="model.pt of a finished run, or its run directory")
    render.add_argument("--task", choices=TASKS, default=None, help="task (default: the one it learnt)")
    render.add_argument("--out", required=True, help="video file, .mp4 or .gif (a .png figure is written beside)")
    render.add_argument("--trials", type=_positive, default=3, help="test trials, one after another (default: 3)")
    render.add_argument("--steps", type=_positive, default=None, help="steps per trial (default: as trained)")
    render.add_argument("--lesion", choices=LESIONS, default=None, help="render the model with a lesion")
    render.add_argument("--width", type=_positive, default=640, help="frame width in pixels (default: 640)")
    render.add_argument("--height", type=_positive, default=480, help="frame height in pixels (default: 480)")
    render.add_argument("--fps", type=_positive, default=50, help="frames per second: 50 = half speed (default)")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(func=_render)
    return parser


def _chosen(argv: list[str]) -> tuple[str, str]:
    """``bilateral train``'s ``--method`` and ``--preset``, read before its other options are known (a
    value that is not a choice is left to the full parser, which says what the choices are)."""
    chosen = {"--method": "distal", "--preset": "paper"}
    choices = {"--method": METHODS, "--preset": TRAINING_PRESETS}
    if argv[:1] == ["train"]:
        for i, item in enumerate(argv):
            name, equals, value = item.partition("=")
            if name in chosen:
                value = value if equals else (argv[i + 1] if i + 1 < len(argv) else "")
                if value in choices[name]:
                    chosen[name] = value
    return chosen["--method"], chosen["--preset"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    method, preset = _chosen(argv)
    parser = build_parser(method, preset)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        hint = (
            f": not an option of {method} (bilateral train --method {method} --help lists its options)"
            if args.command == "train"
            else f" (bilateral {args.command} --help lists its options)"
        )
        parser.exit(2, f"bilateral {args.command}: error: unrecognized arguments: {' '.join(unknown)}{hint}\n")
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"bilateral {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(
            130, f"bilateral {args.command}: interrupted (re-run with --resume / the same grid command to continue)\n"
        )


if __name__ == "__main__":
    sys.exit(main())
