"""The report's statistics and the claims, on hand-made result tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from bilateral.report import compare, seed_means, summarize, t_interval, welch_interval
from bilateral.report.claims import claim_1, claim_2, claim_3, claims_report

HEADLINE = {"reach": "endpoint_error_m", "hold": "rms_deviation_m"}
VARIANTS = ("uni-dom", "uni-nondom", "bi", "bi-cc", "bi-spec", "bi-spec-cc")


def table(
    means: dict[str, dict[str, float]], spread: float = 0.0005, seeds: int = 5, shared: bool = False
) -> pd.DataFrame:
    """A results table: per task, each variant's seeds spread evenly around exactly the given mean (m),
    with standard deviation ``spread``; each variant's seeds in another order (runs of one seed share
    only part of their luck), or, ``shared``, all in the same order."""
    offsets = np.linspace(-1, 1, seeds)
    offsets *= spread / offsets.std(ddof=1)
    rows = []
    for task, by_variant in means.items():
        for k, (variant, mean) in enumerate(by_variant.items()):
            for s, offset in enumerate(offsets if shared else np.roll(offsets[:: (-1) ** k], k)):
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
        (base(hold={"uni-nondom": 0.04}), 0.0005, "contradicted"),  # the non-dominant hand loses its task
        # one comparison each way by its mean, neither decided
        (base(reach={"uni-nondom": 0.021}, hold={"uni-nondom": 0.0305}), 0.004, "undecided"),
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
        # every bilateral model decisively more than 10 % worse than the preferred hand on reach
        (base(reach={"bi-spec-cc": 0.024, "bi-spec": 0.05}), 0.0005, "contradicted"),
        # 20 % worse by its mean, but the intervals are too wide to say it is beyond the margin
        (base(reach={"bi-spec-cc": 0.024, "bi-spec": 0.05, "bi-cc": 0.05, "bi": 0.05}), 0.006, "undecided"),
    ],
)
def test_claim_2(means, spread, expected):
    assert claim_2(seed_means(table(means, spread))).verdict == expected


@pytest.mark.parametrize(
    "means, expected",
    [
        (base(), "holds"),
        # the paper's own pattern: the callosum helps both non-specialised pairs, and one specialised
        # pair but not the other ("though not always for the specialised models")
        (base(hold={"bi-spec-cc": 0.02}), "holds"),
        # it helps where the hemispheres are not specialised and hurts wherever they are: as much each way
        (base(reach={"bi-spec-cc": 0.04}, hold={"bi-spec-cc": 0.02}), "undecided"),
        # the non-specialised pairs go its way only by their means
        (base(reach={"bi-cc": 0.0498}, hold={"bi-cc": 0.0199}), "suggested"),
        # it hurts the non-specialised hold and both specialised pairs: more hurt than help
        (base(hold={"bi-cc": 0.03, "bi-spec-cc": 0.02}, reach={"bi-spec-cc": 0.04}), "contradicted"),
        # every pair decisively worse with the callosum
        (
            base(reach={"bi-cc": 0.06, "bi-spec-cc": 0.04}, hold={"bi-cc": 0.03, "bi-spec-cc": 0.02}),
            "contradicted",
        ),
    ],
)
def test_claim_3(means, expected):
    assert claim_3(seed_means(table(means))).verdict == expected


def test_claims_report_summarises_each_claim():
    text = claims_report(table(base()))
    for heading in ("## 1.", "## 2.", "## 3.", "## Summary"):
        assert heading in text
    assert text.split("## Summary")[1].count("| holds |") == 3
    flipped = table(base(reach={"bi-cc": 0.07, "bi-spec-cc": 0.04}, hold={"bi-cc": 0.03}))
    assert "| 3. the callosum tends to help | contradicted |" in claims_report(flipped)
    assert "not enough runs" in claims_report(table({"reach": {"uni-dom": 0.02}}))
    assert "## Every comparison made" in text and "Holm p" in text


def test_paired_and_welch_intervals_and_holm_know_their_answers():
    from bilateral.report.statistics import holm, paired, paired_interval

    d = np.array([0.1, 0.2, 0.15, 0.12])
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = a - d
    half = 3.1824 * d.std(ddof=1) / 2  # t(0.975, 3) s / sqrt(4)
    assert paired_interval(a, b) == pytest.approx((d.mean() - half, d.mean() + half), abs=1e-4)
    assert paired_interval(a, b)[0] > 0 > welch_interval(a, b)[0]  # shared luck cancels in the pairs
    assert paired("uni", "uni-dom") and paired("bi", "bi-spec-cc") and not paired("uni-dom", "bi")
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]).max() <= 1.0


def test_compare_pairs_runs_of_one_structure_and_not_across_structures():
    shared_luck = {"reach": {"uni-dom": 0.02, "uni-nondom": 0.0205, "bi": 0.0205}}
    per_seed = seed_means(table(shared_luck, spread=0.004, shared=True))  # every variant's seeds spread alike
    within = compare(per_seed, "reach", "uni-nondom", "uni-dom")
    across = compare(per_seed, "reach", "bi", "uni-dom")
    assert within["test"] == "paired" and within["verdict"] == "worse"  # 0.5 mm on every seed
    assert across["test"] == "Welch" and across["verdict"] == "not distinguishable"  # the spread hides it


def test_the_learned_threshold_is_a_quarter_of_a_passive_arms_error():
    from bilateral.evaluation import make_test_set, trial_metrics
    from bilateral.report.statistics import LEARNED, PASSIVE
    from bilateral.rollout import run_policy
    from bilateral_envs import ArmBatch, make_task

    for task in ("reach", "hold"):
        trials = make_test_set(task, 256, 50)
        hand, excitation = run_policy(lambda obs: np.zeros((len(obs), 6)), ArmBatch(make_task(task), 256), trials)
        passive = np.mean(
            [trial_metrics(task, hand[:, i], trials.target[i], excitation[:, i])[HEADLINE[task]] for i in range(256)]
        )
        assert passive == pytest.approx(PASSIVE[task], abs=1e-4) and LEARNED[task] == 0.25 * PASSIVE[task]
    row = summarize(table({"reach": {"bi": 0.05}}, spread=0.06)).iloc[0]  # seeds -2.6, 1.2, 5, 8.8, 12.6 cm
    assert row["learned"] == pytest.approx(0.8) and row["median"] == pytest.approx(0.05)  # 4 within 10.9 cm
