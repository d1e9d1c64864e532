"""The report's statistics and the claims, on hand-made result tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from bilateral.report import compare, seed_means, summarize, t_interval, welch_interval
from bilateral.report.claims import claim_1, claim_2, claim_3, claims_report

HEADLINE = {"reach": "endpoint_error_m", "hold": "rms_deviation_m"}
VARIANTS = ("uni-dom", "uni-nondom", "bi", "bi-cc", "bi-spec", "bi-spec-cc")


def table(means: dict[str, dict[str, float]], spread: float = 0.0005, seeds: int = 5) -> pd.DataFrame:
    """A results table: per task, each variant's seeds spread evenly around exactly the given mean (m),
    with standard deviation ``spread``."""
    offsets = np.linspace(-1, 1, seeds)
    offsets *= spread / offsets.std(ddof=1)
    rows = []
    for task, by_variant in means.items():
        for variant, mean in by_variant.items():
            for s, offset in enumerate(offsets):
                for trial in range(3):
                    rows.append(
                        {
                            "method": "distal",
                            "task": task,
                            "variant": variant,
                            "seed": s,
                            "lesion": "none",
                            "trial": trial,
                            HEADLINE[task]: mean + offset,
                        }
                    )
    return pd.DataFrame(rows)


def base(**changes) -> dict[str, dict[str, float]]:
    """A grid where every claim holds; ``changes`` overrides ``{task: {variant: mean}}``."""
    means = {
        "reach": {"uni-dom": 0.02, "uni-nondom": 0.06, "bi": 0.05, "bi-cc": 0.04, "bi-spec": 0.03, "bi-spec-cc": 0.02},
        "hold": {
            "uni-dom": 0.03,
            "uni-nondom": 0.01,
            "bi": 0.02,
            "bi-cc": 0.015,
            "bi-spec": 0.012,
            "bi-spec-cc": 0.009,
        },
    }
    for task, values in changes.items():
        means[task].update(values)
    return means


def test_student_t_intervals_over_seeds():
    low, high = t_interval([1.0, 2.0, 3.0])  # mean 2, s = 1, t(0.975, 2) = 4.3027
    assert (low, high) == pytest.approx((2 - 4.3027 / np.sqrt(3), 2 + 4.3027 / np.sqrt(3)), abs=1e-4)
    assert np.isnan(t_interval([1.0])[0]) and t_interval([2.0, 2.0]) == (2.0, 2.0)
    assert t_interval([1.0, np.nan, 3.0]) == pytest.approx((2.0 - 12.706, 2.0 + 12.706), abs=1e-3)
    low, high = welch_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert low < 0 < high
    # summary.csv carries the same interval as the verdicts use: wider than a bootstrap of three seeds
    results = table({"reach": {"bi": 0.088}}, spread=0.0003, seeds=3)
    row = summarize(results).iloc[0]
    per_seed = seed_means(results)["endpoint_error_m"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval(per_seed))
    assert row["ci_high"] - row["ci_low"] > per_seed.max() - per_seed.min()


def test_compare_says_better_worse_and_as_good():
    per_seed = seed_means(table(base()))
    c = compare(per_seed, "reach", "uni-dom", "uni-nondom")
    assert c["verdict"] == "better" and c["ci_high"] < 0
    assert compare(per_seed, "hold", "uni-dom", "uni-nondom")["verdict"] == "worse"
    as_good = compare(per_seed, "reach", "bi-spec-cc", "uni-dom")  # equal means, small spread
    assert as_good["as_good"] and as_good["as_good_mean"] and as_good["verdict"] == "not distinguishable"
    assert compare(per_seed, "reach", "tri", "uni-dom") is None


@pytest.mark.parametrize(
    "means, spread, expected",
    [
        (base(), 0.0005, "holds"),
        # both in the right order, but with this spread over five seeds the intervals straddle zero
        (base(reach={"uni-nondom": 0.021}, hold={"uni-dom": 0.0105}), 0.002, "suggested"),
        (base(hold={"uni-nondom": 0.04}), 0.0005, "does not hold"),  # the non-dominant hand loses its task
    ],
)
def test_claim_1(means, spread, expected):
    assert claim_1(seed_means(table(means, spread))).verdict == expected


@pytest.mark.parametrize(
    "means, spread, expected",
    [
        (base(), 0.0005, "holds"),
        # on reach the best bilateral model's mean is 8 % worse than the preferred hand's: within the
        # 10 % "as good as" margin by its mean, but its interval reaches beyond it
        (base(reach={"bi-spec-cc": 0.0216, "bi-spec": 0.05}), 0.004, "suggested"),
        # 20 % worse than the preferred hand: not as good, even by its mean
        (base(reach={"bi-spec-cc": 0.024, "bi-spec": 0.05}), 0.0005, "does not hold"),
    ],
)
def test_claim_2(means, spread, expected):
    assert claim_2(seed_means(table(means, spread))).verdict == expected


@pytest.mark.parametrize(
    "means, expected",
    [
        (base(), "holds"),
        # the paper's own pattern: the callosum helps the non-specialised pairs and not the specialised
        # ones; those cannot veto it
        (base(reach={"bi-spec-cc": 0.04}, hold={"bi-spec-cc": 0.02}), "holds"),
        # the non-specialised pairs go its way only by their means
        (base(reach={"bi-cc": 0.0498}, hold={"bi-cc": 0.0199}), "suggested"),
        (base(hold={"bi-cc": 0.03}), "does not hold"),  # the callosum hurts on hold
    ],
)
def test_claim_3(means, expected):
    assert claim_3(seed_means(table(means))).verdict == expected


def test_claims_report_summarises_each_claim():
    text = claims_report(table(base()))
    for heading in ("## 1.", "## 2.", "## 3.", "## Summary"):
        assert heading in text
    assert text.split("## Summary")[1].count("| holds |") == 3
    flipped = table(base(reach={"bi-cc": 0.07}, hold={"bi-cc": 0.03}))
    assert "| 3. the callosum tends to help | does not hold |" in claims_report(flipped)
    assert "not enough runs" in claims_report(table({"reach": {"uni-dom": 0.02}}))
