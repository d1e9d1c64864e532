"""Reproduce the paper's comparison: seven controllers x two tasks x N seeds, then the report.

    python experiments/paper_comparison.py --budget paper --seeds 5 --out runs/paper
    python experiments/paper_comparison.py --budget strong --seeds 5 --out runs/strong

The study written down as a config: ``STUDY`` below is the grid (its options are the fields of
``bilateral.grid.GridSpec`` and ``bilateral.grid.settings.Execution``, as ``bilateral grid``'s are). The run
is resumable: run the same command again after an interruption and only unfinished runs are (re)done.
See ``bilateral/grid`` for the directory layout and ``bilateral/report`` for what the report holds.
"""

from __future__ import annotations

import argparse

from bilateral.grid import GridSpec, run_grid
from bilateral.grid.settings import Execution
from bilateral.report import report
from bilateral.settings import add_options, from_options

STUDY = GridSpec(budget="paper", seeds=5)  # DESIGN §1: every variant on both tasks, the authors' budget


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/paper", help="grid directory (default: runs/paper)")
    parser.add_argument("--no-videos", action="store_true", help="do not render the side-by-side videos")
    add_options(parser, GridSpec, group="the grid (default: STUDY)")
    add_options(parser, Execution, group="execution")
    args = parser.parse_args(argv)
    grid = STUDY.replace(**from_options(args, GridSpec))
    counts = run_grid(grid, args.out, Execution.make(from_options(args, Execution)))
    print(counts)
    written = report(args.out, videos=not args.no_videos)
    print(f"{written['runs']} runs reported in {args.out}: summary.csv, claims.md, figures/, videos/")


if __name__ == "__main__":
    main()
