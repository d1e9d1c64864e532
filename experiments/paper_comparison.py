"""Reproduce the paper's comparison: seven controllers x two tasks x N seeds, then the report.

    python experiments/paper_comparison.py --budget paper --seeds 5 --out runs/paper
    python experiments/paper_comparison.py --budget quick --seeds 3 --out runs/quick   # minutes

The same as ``bilateral grid``; this script is the study written down as a config. Every argument
is a field of ``Study`` below. The run is resumable: run the same command again after an
interruption and only unfinished runs are (re)done. See ``bilateral/grid.py`` for the directory
layout and ``bilateral/report.py`` for what the report holds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from bilateral.grid import GridSpec, run_grid
from bilateral.report import report


@dataclass
class Study:
    """The comparison of DESIGN §1."""

    out: str = "runs/paper"  # grid directory
    budget: str = "paper"  # "quick", "paper" (the authors' example) or "strong" (our preset)
    seeds: int = 5  # training runs per variant and task
    workers: int = 2  # runs in parallel (one process each; this machine has 2 cores)
    methods: str = "distal"  # comma-separated: distal, ppo, sac, bilateral-ppo
    videos: bool = True  # render side-by-side rollout videos into the report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(Study):
        if f.type == "bool":
            parser.add_argument(f"--no-{f.name}", dest=f.name, action="store_false", help=f"do not {f.name}")
        else:
            parser.add_argument(f"--{f.name}", type=type(f.default), default=f.default, help=f"(default: {f.default})")
    study = Study(**vars(parser.parse_args()))
    grid = GridSpec(budget=study.budget, seeds=study.seeds, methods=tuple(study.methods.split(",")))
    counts = run_grid(grid, study.out, workers=study.workers)
    print(counts)
    written = report(study.out, videos=study.videos)
    print(f"{written['runs']} runs reported in {study.out}: summary.csv, claims.md, figures/, videos/")


if __name__ == "__main__":
    main()
