"""The results committed under docs/results/ agree with themselves: each ``summary.csv`` and
``claims.md`` is what the report derives from the committed per-seed table (``seeds.csv``;
``bilateral report FOLDER --from-seeds`` writes them again). (That the report derives the same tables
from the same runs is tests/test_grid.py's pinned tiny grid.)"""

import io
from pathlib import Path

import pandas as pd
import pytest

from bilateral.compat import upgrade_results
from bilateral.report import claims_text
from bilateral.report.statistics import summarize

# The committed tables are float64 text and the derivation float64 arithmetic, so machines agree to ~1e-15;
# 1e-6 relative leaves room for that and still catches any change in how a number is derived.
RESULTS = Path(__file__).parent.parent / "docs" / "results"
PUBLISHED = sorted(p.parent for p in RESULTS.glob("*/summary.csv"))


def test_the_study_is_published():
    assert {p.name for p in PUBLISHED} >= {"paper", "strong"}


def intact(root: Path) -> pd.DataFrame:
    seeds = upgrade_results(pd.read_csv(root / "seeds.csv"))
    return seeds[seeds["lesion"] == "none"]


@pytest.mark.parametrize("root", PUBLISHED, ids=lambda p: p.name)
def test_summary_is_the_per_seed_table_summarised(root):
    derived = pd.read_csv(io.StringIO(summarize(intact(root)).to_csv(index=False)))  # read back as the file is
    committed = pd.read_csv(root / "summary.csv")
    pd.testing.assert_frame_equal(derived, committed, check_dtype=False, rtol=1e-6)


@pytest.mark.parametrize("root", PUBLISHED, ids=lambda p: p.name)
def test_claims_are_the_per_seed_table_judged(root):
    derived = summarize(intact(root))
    assert (root / "claims.md").read_text() == claims_text(intact(root), derived)
