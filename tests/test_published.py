"""The results committed under docs/results/ agree with themselves: each ``summary.csv`` and the
paper's claims in each ``claims.md`` are what ``bilateral report`` derives from the committed per-seed
table (``seeds.csv``). (That the report derives the same tables from the same runs is tests/test_grid.py's
pinned tiny grid.)"""

from pathlib import Path

import pandas as pd
import pytest

from bilateral.report.claims import claims_report
from bilateral.report.statistics import PAPER, summarize

# The committed tables are float64 text and the derivation float64 arithmetic, so machines agree to ~1e-15;
# 1e-6 relative leaves room for that and still catches any change in how a number is derived.
RESULTS = Path(__file__).parent.parent / "docs" / "results"
PUBLISHED = sorted(p.parent for p in RESULTS.glob("*/summary.csv"))


def test_the_study_is_published():
    assert {p.name for p in PUBLISHED} >= {"paper", "strong"}


@pytest.mark.parametrize("root", PUBLISHED, ids=lambda p: p.name)
def test_summary_is_the_per_seed_table_summarised(root):
    seeds = pd.read_csv(root / "seeds.csv")
    derived = summarize(seeds[seeds["lesion"] == "none"])
    committed = pd.read_csv(root / "summary.csv")
    pd.testing.assert_frame_equal(derived.reset_index(drop=True), committed, check_dtype=False, rtol=1e-6)


@pytest.mark.parametrize("root", PUBLISHED, ids=lambda p: p.name)
def test_claims_are_the_per_seed_table_judged(root):
    seeds = pd.read_csv(root / "seeds.csv")
    intact = PAPER.rows(seeds[(seeds["lesion"] == "none") & (seeds["method"] == "distal")])
    assert (root / "claims.md").read_text().startswith(claims_report(intact))
