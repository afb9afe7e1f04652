"""The Markdown summary, short enough for a pull-request comment.

Every string from a run (gate keys, metric names, slice tags, run names) is escaped
for Markdown and HTML: a PR comment renders both, and a run is untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_runcompare.report.model import (
    fmt_ci,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_signed,
    overall_outcome,
    top_regressed_slices,
    verdict_row,
    verdict_summary,
)

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.verdict import Verdict

MARKS = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
#: Characters that start Markdown syntax inside a line (a cell never starts one).
_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~!])")
_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}


def md_escape(text: object, limit: int = 120) -> str:
    """Text safe in a Markdown table cell: no markup, no HTML, one line, cut."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space after "@" keeps a run's text from mentioning GitHub users.
    return _SPECIAL.sub(r"\\\1", s).replace("@", "@\u200b")


def render_markdown(
    comparison: RunComparisonResult,
    verdicts: Sequence[Verdict],
    *,
    html_path: str | None = None,
    max_rows: int = 25,
) -> str:
    """Render a short Markdown summary: gates, top regressions, where the report is.

    Parameters
    ----------
    comparison : RunComparisonResult
        The paired runs.
    verdicts : sequence of Verdict
        The gates' judgements.
    html_path : str, optional
        Where the HTML report is (a path or URL), named in the last line.
    max_rows : int
        Most gates listed; failing and inconclusive ones come first, and the
        summary says how many were left out.

    Returns
    -------
    str
        GitHub-flavoured Markdown ending with a newline.

    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
    rows = [verdict_row(v) for v in verdicts]
    counts = verdict_summary(verdicts)
    base = md_escape(comparison.baseline.name, 60)
    cand = md_escape(comparison.candidate.name, 60)
    overall = overall_outcome(counts)
    if overall in ("fail", "inconclusive"):
        parts = [
            f"{n} {word}"
            for n, word in (
                (counts["blocking_fail"], "failed"),
                (counts["blocking"] - counts["blocking_fail"], "inconclusive"),
            )
            if n
        ]
        mark = "❌" if overall == "fail" else "⚠️"
        head = f"{mark} **runcompare: {', '.join(parts)} of {counts['total']} gates**"
    elif overall == "pass":
        head = f"✅ **runcompare: all {counts['total']} gates passed**"
    else:
        head = "**runcompare: no gates evaluated**"
    if counts["warnings"]:
        head += f" ({counts['warnings']} warn-only flagged)"
    lines = [
        f"{head} · candidate {cand} vs baseline {base}",
        "",
        f"{comparison.n_common} paired datapoints ({comparison.coverage:.1%} of the "
        f"baseline), {len(comparison.new_only_datapoints)} new, "
        f"{len(comparison.old_only_datapoints)} dropped.",
    ]
    from pytest_runcompare.summary import run_notes

    problems = [*comparison.compatibility.problems, *run_notes(comparison)]
    for p in problems:
        lines.append(f"> ⚠️ {md_escape(p, 200)}")
    if rows:
        shown = sorted(
            rows, key=lambda r: (not r["declared"], _ORDER.get(r["outcome"], 3))
        )
        shown = shown if len(shown) <= max_rows else shown[:max_rows]
        shown_keys = {id(r) for r in shown}
        shown = [r for r in rows if id(r) in shown_keys]  # keep the gates' order
        lines += [
            "",
            "| | gate | baseline | candidate | change (+ = better) | CI | margin | p (adj.) | n |",
            "|:-:|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in shown:
            p = fmt_p(r["p_value"])
            if r["p_adjusted"] is not None:
                p += f" ({fmt_p(r['p_adjusted'])})"
            # Warn-only slices never fail the run: they get a warning mark at most.
            mark = MARKS.get(r["outcome"], "")
            if not r["declared"] and r["outcome"] != "pass":
                mark = "⚠️"
            lines.append(
                f"| {mark} | {md_escape(r['key'])}"
                f"{'' if r['declared'] else ' (warn-only)'} "
                f"| {fmt_num(r['baseline'])} | {fmt_num(r['candidate'])} "
                f"| {fmt_signed(r['estimate'])} | {fmt_ci(r['ci_low'], r['ci_high'])} "
                f"| {md_escape(r['margin_text'])} | {p} | {r['n_paired']} |"
            )
        left = len(rows) - len(shown)
        if left:
            lines.append(f"\n… and {left} more gates, none failing the run.")
    degraded = sorted(
        (d for d in comparison.metric_deltas.values() if d.degraded),
        key=lambda d: (
            -abs(d.relative_delta) if d.relative_delta is not None else 0.0,
            d.name,
        ),
    )[:5]
    if degraded:
        items = ", ".join(
            f"{md_escape(d.name, 60)} {fmt_signed(d.delta)} ({fmt_pct(d.relative_delta)})"
            for d in degraded
        )
        lines += ["", f"**Regressed metrics:** {items}"]
    slices = top_regressed_slices(comparison, limit=5)
    if slices:
        items = ", ".join(
            f"{md_escape(s['metric'], 60)} on {md_escape(s['slice'], 60)} "
            f"{fmt_signed(s['delta'])} ({fmt_pct(s['relative'])}, n={s['n']})"
            for s in slices
        )
        lines += ["", f"**Worst slices:** {items}"]
    if html_path:
        lines += [
            "",
            f"Full report, with every changed output: {md_escape(html_path, 300)}",
        ]
    return "\n".join(lines) + "\n"
