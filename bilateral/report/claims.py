"""The paper's three claims (DESIGN §1), each judged on a grid's numbers by its own function.

Every comparison is a difference of two variants' means over seeds with a 95 % interval, paired over
seeds where the runs are paired and Welch's where they are not (``statistics.compare``). A claim has
one of four outcomes:

- **holds**: every comparison it needs goes its way decisively (an interval that excludes zero; for
  "as good as", an interval whose upper end is below ``EQUIVALENCE_MARGIN`` of the reference's mean);
- **suggested**: the means go its way, but some interval does not decide;
- **undecided**: no lean either way, or intervals too wide to say;
- **contradicted**: decisively the other way (each claim's function says what that takes).

The comparisons a report makes form one family; ``family`` lists them with Holm-adjusted p-values, so
that a comparison picked out of them as a finding is corrected for the number made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bilateral.report.statistics import EQUIVALENCE_MARGIN, compare, holm, seed_means
from bilateral.report.units import fmt
from bilateral.variants import BILATERAL
from bilateral_envs.tasks import TASK_NAMES as TASKS

PREFERRED = {"reach": ("uni-dom", "uni-nondom"), "hold": ("uni-nondom", "uni-dom")}  # (preferred, other) hand
CALLOSUM_PAIRS = {"non-specialised": ("bi", "bi-cc"), "specialised": ("bi-spec", "bi-spec-cc")}  # (without, with)
HOLDS, SUGGESTED, UNDECIDED, CONTRADICTED = "holds", "suggested", "undecided", "contradicted"
NOT_ENOUGH = "not enough runs"


@dataclass
class Claim:
    """One claim's verdict, the lines of evidence behind it (Markdown) and the comparisons made."""

    number: int
    title: str
    verdict: str
    lines: list[str] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)


def line(c: dict) -> str:
    """One comparison as a sentence with its numbers."""
    m = c["metric"]
    ci = (
        "CI n/a (one seed)"
        if not np.isfinite(c["ci_low"])
        else f"95 % CI [{fmt(m, c['ci_low'])}, {fmt(m, c['ci_high'])}], {c['test']}, p = {c['p']:.3g}"
    )
    return (
        f"`{c['a']}` {fmt(m, c['a_mean'])} vs `{c['b']}` {fmt(m, c['b_mean'])} "
        f"(difference {fmt(m, c['diff'])}, {ci}, seeds {c['n'][0]}/{c['n'][1]}): **{c['verdict']}**"
    )


def claim_1(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """Each specialised unilateral controller beats the other one on its preferred task: holds when both
    comparisons are decided its way, contradicted when either is decided the other way."""
    claim = Claim(1, "Each specialised unilateral controller beats the other one on its preferred task", NOT_ENOUGH)
    comparisons = [c for task in TASKS if (c := compare(per_seed, task, *PREFERRED[task], method))]
    claim.lines = [f"- {c['task']}: {line(c)}" for c in comparisons]
    claim.comparisons = comparisons
    if len(comparisons) == 2:
        if any(c["verdict"] == "worse" for c in comparisons):
            claim.verdict = CONTRADICTED
        elif all(c["verdict"] == "better" for c in comparisons):
            claim.verdict = HOLDS
        else:
            claim.verdict = SUGGESTED if all(c["diff"] < 0 for c in comparisons) else UNDECIDED
    return claim


def claim_2(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """On both tasks, some bilateral model beats the non-preferred hand and is as good as or better than
    the preferred hand (no correction for choosing the best of the four). Holds when on both tasks
    one model does both decisively; contradicted when on some task every bilateral model is decisively
    worse than the non-preferred hand or decisively more than the margin worse than the preferred one."""
    claim = Claim(
        2,
        "On both tasks, some bilateral model beats the non-preferred hand and is as good as or better than "
        "the preferred hand",
        NOT_ENOUGH,
    )
    outcomes = []
    for task in TASKS:
        preferred, other = PREFERRED[task]
        candidates = []
        for b in BILATERAL:
            vs_other, vs_pref = compare(per_seed, task, b, other, method), compare(per_seed, task, b, preferred, method)
            if vs_other and vs_pref:
                candidates.append((b, vs_other, vs_pref))
        if not candidates:
            claim.lines.append(f"- {task}: not enough runs")
            continue
        strong = [c for c in candidates if c[1]["verdict"] == "better" and c[2]["as_good"]]
        weak = [c for c in candidates if c[1]["diff"] < 0 and c[2]["as_good_mean"]]
        failing = all(c[1]["verdict"] == "worse" or c[2]["beyond_margin"] for c in candidates)
        outcomes.append(HOLDS if strong else SUGGESTED if weak else CONTRADICTED if failing else UNDECIDED)
        b, vs_other, vs_pref = min(strong or weak or candidates, key=lambda c: c[2]["a_mean"])
        claim.comparisons += [c for _, x, y in candidates for c in (x, y)]
        claim.lines += [
            f"- {task}, best candidate `{b}` ({outcomes[-1]} on this task):",
            f"  - vs the non-preferred hand: {line(vs_other)}",
            f"  - vs the preferred hand: {line(vs_pref)}"
            + (f"; as good (within {EQUIVALENCE_MARGIN:.0%})" if vs_pref["as_good"] else "")
            + (f"; mean within {EQUIVALENCE_MARGIN:.0%}" if vs_pref["as_good_mean"] and not vs_pref["as_good"] else "")
            + (f"; decisively more than {EQUIVALENCE_MARGIN:.0%} worse" if vs_pref["beyond_margin"] else ""),
        ]
    if len(outcomes) == 2:
        for verdict in (CONTRADICTED, UNDECIDED, SUGGESTED, HOLDS):  # the weaker task decides
            if verdict in outcomes:
                claim.verdict = verdict
                break
    return claim


def callosum_verdict(comparisons: dict[tuple[str, str], dict]) -> str:
    """Claim 3's rule on the four callosum pairs ``{(kind, task): compare(with, without)}``: the
    callosum *tends* to help, *though not always for the specialised models*.

    - holds: both non-specialised pairs helped decisively, more pairs decisively helped than hurt, and
      at most one specialised pair hurt decisively ("not always", not "never");
    - contradicted: more pairs decisively hurt than helped;
    - suggested: both non-specialised pairs and most of the four lean towards help;
    - undecided: anything else (as many pairs each way).
    """
    values = list(comparisons.values())
    helped = sum(c["verdict"] == "better" for c in values)
    hurt = sum(c["verdict"] == "worse" for c in values)
    plain = [c for (kind, _), c in comparisons.items() if kind == "non-specialised"]
    specialised_hurt = sum(c["verdict"] == "worse" for (kind, _), c in comparisons.items() if kind == "specialised")
    if hurt > helped:
        return CONTRADICTED
    if all(c["verdict"] == "better" for c in plain) and helped > hurt and specialised_hurt <= 1:
        return HOLDS
    if all(c["diff"] < 0 for c in plain) and sum(c["diff"] < 0 for c in values) > len(values) / 2:
        return SUGGESTED
    return UNDECIDED


def claim_3(per_seed: pd.DataFrame, method: str = "distal") -> Claim:
    """The callosum tends to help, though not always for the specialised models: all four callosum pairs
    (with vs without, non-specialised and specialised, each task) count (``callosum_verdict``)."""
    claim = Claim(3, "The callosum tends to help, though not always for specialised models", NOT_ENOUGH)
    pairs = {}
    for kind, (without, with_cc) in CALLOSUM_PAIRS.items():
        for task in TASKS:
            if c := compare(per_seed, task, with_cc, without, method):
                pairs[(kind, task)] = c
                claim.lines.append(f"- {task}, {kind}: {line(c)}")
    claim.comparisons = list(pairs.values())
    if len(pairs) == 4:
        claim.verdict = callosum_verdict(pairs)
    claim.lines += [
        "",
        "All four pairs count: the claim holds when both non-specialised pairs help decisively, more pairs help "
        "than hurt, and at most one specialised pair hurts; it is contradicted when more pairs decisively hurt "
        "than help.",
    ]
    return claim


def family(claims: list[Claim]) -> list[str]:
    """Every comparison the claims made, once each, with its p-value and its Holm-adjusted p-value
    over all of them (Markdown table rows)."""
    seen = {}
    for claim in claims:
        for c in claim.comparisons:
            seen.setdefault((c["task"], c["a"], c["b"]), c)
    rows = list(seen.values())
    adjusted = holm([c["p"] for c in rows]) if rows else []
    out = [
        "| task | a − b | difference | 95 % CI | test | p | Holm p |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c, p_holm in sorted(zip(rows, adjusted, strict=True), key=lambda x: x[1]):
        m = c["metric"]
        ci = f"[{fmt(m, c['ci_low'])}, {fmt(m, c['ci_high'])}]" if np.isfinite(c["ci_low"]) else "n/a"
        out.append(
            f"| {c['task']} | `{c['a']}` − `{c['b']}` | {fmt(m, c['diff'])} | {ci} | {c['test']} | "
            f"{c['p']:.3g} | {p_holm:.3g} |"
        )
    return out


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
    """Markdown: each claim with the numbers that decide it, a summary table, and every comparison made
    with Holm-adjusted p-values. ``results`` holds one combination's runs (``statistics.Combination.rows``)."""
    per_seed = seed_means(results)
    out = [
        f"# {title}",
        "",
        "Headline metrics on the fixed test trials (lower is better): reach — mean final endpoint error; "
        "hold — mean RMS deviation of the hand from the target. Each seed is one training run; "
        "differences are `a - b` of the means over seeds with 95 % t intervals (CI): **paired** over seeds "
        "where the two variants' runs of a seed start from the same weights and see the same trials (two "
        "unilateral, or two bilateral, variants), **Welch** otherwise (unilateral vs bilateral). A claim "
        '*holds* when every comparison it needs goes its way with a CI that excludes zero (for "as good '
        f"as\": a CI whose upper end is below {EQUIVALENCE_MARGIN:.0%} of the reference's mean); is "
        "*suggested* when the means go its way but some CI does not decide; is *contradicted* when it is "
        "decisively the other way (each claim says what that takes); and is *undecided* otherwise. No "
        "correction is made for choosing the best of the four bilateral models in claim 2; the last table "
        "lists every comparison made, with Holm-adjusted p-values for reading any of them as a finding.",
        "",
    ]
    if note:
        out += [note, ""]
    claims = [judge(per_seed, method) for judge in CLAIMS]
    for claim in claims:
        out += [f"## {claim.number}. {claim.title}", "", *claim.lines, "", f"Verdict: **{claim.verdict}**", ""]
    out += ["## Summary", "", "| claim | verdict |", "| --- | --- |"]
    out += [f"| {c.number}. {name} | {c.verdict} |" for c, name in zip(claims, SHORT, strict=True)]
    out += ["", "## Every comparison made", "", *family(claims)]
    return "\n".join(out) + "\n"
