"""The paper's three claims (DESIGN §1), each judged on a grid's numbers by its own function.

A claim *holds* when every comparison it needs goes its way with a 95 % Welch interval that
excludes zero (for "as good as": an interval whose upper end is below ``EQUIVALENCE_MARGIN`` of the
reference's mean); it is *suggested* when the means go its way (for "as good as": a mean within the
same margin) but some interval does not decide; and it *does not hold* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bilateral.report.statistics import EQUIVALENCE_MARGIN, compare, seed_means
from bilateral.report.units import fmt
from bilateral.variants import BILATERAL
from bilateral_envs.tasks import TASK_NAMES as TASKS

PREFERRED = {"reach": ("uni-dom", "uni-nondom"), "hold": ("uni-nondom", "uni-dom")}  # (preferred, other) hand
CALLOSUM_PAIRS = {"non-specialised": ("bi", "bi-cc"), "specialised": ("bi-spec", "bi-spec-cc")}  # (without, with)
HOLDS, SUGGESTED, FAILS, UNDECIDED = "holds", "suggested", "does not hold", "not enough runs"


@dataclass
class Claim:
    """One claim's verdict and the lines of evidence behind it (Markdown)."""

    number: int
    title: str
    verdict: str
    lines: list[str] = field(default_factory=list)


def line(c: dict) -> str:
    """One comparison as a sentence with its numbers."""
    m = c["metric"]
    ci = (
        "CI n/a (one seed)"
        if not np.isfinite(c["ci_low"])
        else f"95 % CI [{fmt(m, c['ci_low'])}, {fmt(m, c['ci_high'])}]"
    )
    return (
        f"`{c['a']}` {fmt(m, c['a_mean'])} vs `{c['b']}` {fmt(m, c['b_mean'])} "
        f"(difference {fmt(m, c['diff'])}, {ci}, seeds {c['n'][0]}/{c['n'][1]}): **{c['verdict']}**"
    )


def verdict(decided: list[bool], leaning: list[bool], need: int) -> str:
    """``holds`` if all ``need`` comparisons are decided its way, ``suggested`` if all lean its way."""
    if len(decided) < need:
        return UNDECIDED
    if all(decided):
        return HOLDS
    if all(leaning):
        return SUGGESTED
    return FAILS


def claim_1(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """Each specialised unilateral controller beats the other one on its preferred task."""
    claim = Claim(1, "Each specialised unilateral controller beats the other one on its preferred task", UNDECIDED)
    comparisons = [c for task in TASKS if (c := compare(per_seed, task, *PREFERRED[task], method))]
    claim.lines = [f"- {c['task']}: {line(c)}" for c in comparisons]
    claim.verdict = verdict([c["verdict"] == "better" for c in comparisons], [c["diff"] < 0 for c in comparisons], 2)
    return claim


def claim_2(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """On both tasks, some bilateral model beats the non-preferred hand and is as good as or better than
    the preferred hand (no correction for choosing the best of the four)."""
    claim = Claim(
        2,
        "On both tasks, some bilateral model beats the non-preferred hand and is as good as or better than "
        "the preferred hand",
        UNDECIDED,
    )
    decided, leaning = [], []
    for task in TASKS:
        preferred, other = PREFERRED[task]
        best = None
        for b in BILATERAL:
            vs_other, vs_pref = (
                compare(per_seed, task, b, other, method),
                compare(per_seed, task, b, preferred, method),
            )
            if not vs_other or not vs_pref:
                continue
            strong = vs_other["verdict"] == "better" and vs_pref["as_good"]
            weak = vs_other["diff"] < 0 and vs_pref["as_good_mean"]
            score = (strong, weak, -vs_pref["a_mean"])
            if best is None or score > best[0]:
                best = (score, b, vs_other, vs_pref)
        if best is None:
            claim.lines.append(f"- {task}: not enough runs")
            continue
        (strong, weak, _), b, vs_other, vs_pref = best
        decided.append(strong)
        leaning.append(strong or weak)
        claim.lines += [
            f"- {task}, best candidate `{b}`:",
            f"  - vs the non-preferred hand: {line(vs_other)}",
            f"  - vs the preferred hand: {line(vs_pref)}"
            + (f"; as good (within {EQUIVALENCE_MARGIN:.0%})" if vs_pref["as_good"] else "")
            + (f"; mean within {EQUIVALENCE_MARGIN:.0%}" if vs_pref["as_good_mean"] and not vs_pref["as_good"] else ""),
        ]
    claim.verdict = verdict(decided, leaning, 2)
    return claim


def claim_3(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """The callosum tends to help, though not always for the specialised models: decided on the two
    non-specialised pairs (``bi-cc`` vs ``bi`` on each task); the specialised pairs are reported
    beside them and cannot veto it (the claim allows them to go either way)."""
    claim = Claim(3, "The callosum tends to help, though not always for specialised models", UNDECIDED)
    deciding = []
    for kind, (without, with_cc) in CALLOSUM_PAIRS.items():
        for task in TASKS:
            c = compare(per_seed, task, with_cc, without, method)
            if c:
                claim.lines.append(f"- {task}, {kind}: {line(c)}")
                if kind == "non-specialised":
                    deciding.append(c)
    claim.verdict = verdict([c["verdict"] == "better" for c in deciding], [c["diff"] < 0 for c in deciding], 2)
    claim.lines += [
        "",
        "Decided on the non-specialised pairs (`bi-cc` vs `bi`, each task); the specialised pairs are "
        "shown beside them: the claim expects them to go either way.",
    ]
    return claim


CLAIMS = (claim_1, claim_2, claim_3)
SHORT = (
    "specialised unilateral controllers win their preferred task",
    "a bilateral model matches the preferred hand on both tasks",
    "the callosum tends to help",
)


def claims_report(
    results: pd.DataFrame,
    title: str = "Claims of the paper, checked on this grid",
    method: str = "distal",
    note: str = "",
) -> str:
    """Markdown: each claim with the numbers that decide it, and a summary table. ``results`` holds
    one combination's runs (``statistics.Combination.rows``)."""
    per_seed = seed_means(results)
    out = [
        f"# {title}",
        "",
        "Headline metrics on the fixed test trials (lower is better): reach — mean final endpoint error; "
        "hold — mean RMS deviation of the hand from the target. Each seed is one training run; "
        "differences are `a - b` of the means over seeds with 95 % Welch t intervals (CI). A claim *holds* "
        'when every comparison it needs goes its way with a CI that excludes zero (for "as good as": a CI '
        f"whose upper end is below {EQUIVALENCE_MARGIN:.0%} of the reference's mean), is *suggested* when the "
        'means go its way (for "as good as": a mean within the same margin) but some CI does not decide, and '
        "*does not hold* otherwise. No correction is made for choosing the best of the four bilateral models in "
        "claim 2.",
        "",
    ]
    if note:
        out += [note, ""]
    claims = [judge(per_seed, method) for judge in CLAIMS]
    for claim in claims:
        out += [f"## {claim.number}. {claim.title}", "", *claim.lines, "", f"Verdict: **{claim.verdict}**", ""]
    out += ["## Summary", "", "| claim | verdict |", "| --- | --- |"]
    out += [f"| {c.number}. {name} | {c.verdict} |" for c, name in zip(claims, SHORT, strict=True)]
    return "\n".join(out) + "\n"
