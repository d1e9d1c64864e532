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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"bilateral {args.command}: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
