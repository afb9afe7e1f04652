"""The Markdown summary, short enough for a pull-request comment.

Every string from a run (gate keys, metric names, slice tags, run names) is escaped
for Markdown and HTML: a PR comment renders both, and a run is untrusted input.
GitHub also turns bare text into links and notifications (``https://…``,
``www.…``, e-mail addresses, ``@user``, ``#123``): a word joiner (U+2060) or
zero-width space breaks each, and control characters are shown as escapes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pytest_runcompare.render.model import (
    fmt_p,
    fmt_pct,
    fmt_signed,
    gate_row,
    overall,
    top_regressed_slices,
)
from pytest_runcompare.untrusted import no_surrogates, one_line

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement

#: The mark of a gate's tone: fails the session, a plain pass, or passes with a warning.
MARKS = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
#: Characters that start Markdown syntax inside a line (a cell never starts one).
_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~!])")
_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}
#: What GitHub links by itself: ``scheme://`` (the autolink extension), ``www.``,
#: issue references (``#12``, ``GH-12``); a word joiner after the first part breaks
#: each. (E-mail addresses and mentions are broken at their ``@``.)
_AUTOLINK = re.compile(r"(:)(?=//)|(www)(?=\.)|(#)(?=\d)|(gh)(?=-\d)", re.IGNORECASE)
_JOINER = "\u2060"


def md_escape(text: object, limit: int = 120, *, links: bool = False) -> str:
    r"""Text safe in a Markdown table cell: no markup, no HTML, no link, one line, cut.

    Control characters (ESC, BEL...) and lone surrogates are shown as escapes
    (``\x1b``). ``links=True`` keeps URLs clickable, for our own (the report's).
    """
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = one_line(s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    if not links:
        s = _AUTOLINK.sub(lambda m: m.group() + _JOINER, s)
    # A zero-width space after "@" keeps a run's text from mentioning GitHub users
    # and from being linked as an e-mail address.
    return s.replace("@", "@\u200b")


def render_markdown(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    html_path: str | None = None,
    max_rows: int = 25,
) -> str:
    """Render a short Markdown summary: gates, top regressions, where the report is.

    Parameters
    ----------
    comparison : RunComparisonResult
        The paired runs.
    judgement : Judgement
        The session's judgement: the header says what it says, each row shows a
        gate's final status (waivers, run policies and the inconclusive policy
        applied).
    html_path : str, optional
        Where the HTML report is (a path or URL), named in the last line.
    max_rows : int
        Most gates listed; failing and flagged ones come first, and the summary
        says how many were left out.

    Returns
    -------
    str
        GitHub-flavoured Markdown ending with a newline.

    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
    rows = [gate_row(r) for r in judgement.gates]
    counts = judgement.counts()
    base = md_escape(comparison.baseline.name, 60)
    cand = md_escape(comparison.candidate.name, 60)
    verdict = overall(judgement)
    total = counts["total"]
    if verdict == "fail":
        failed = counts["failed"] + counts["error"]
        head = f"❌ **runcompare: {failed} of {total} gates failed**"
    elif verdict == "none":
        head = "**runcompare: no gates evaluated**"
    else:
        mark = "✅" if verdict == "pass" else "⚠️"
        head = f"{mark} **runcompare: all {total} gates passed**"
        notes = [
            f"{n} {word}"
            for n, word in (
                (counts["waived"], "waived"),
                (
                    sum(
                        1
                        for r in rows
                        if r["declared"] and r["status_word"] == "inconclusive (passes)"
                    ),
                    "inconclusive, passed by policy",
                ),
            )
            if n
        ]
        if notes:
            head += f" ({', '.join(notes)})"
    if counts["warnings"]:
        head += f" ({counts['warnings']} warn-only flagged)"
    lines = [
        f"{head} · candidate {cand} vs baseline {base}",
        "",
        f"{comparison.n_common} paired datapoints ({comparison.coverage:.1%} of the "
        f"baseline), {len(comparison.new_only_datapoints)} new, "
        f"{len(comparison.old_only_datapoints)} dropped.",
    ]
    for p in [*judgement.compatibility.problems, *judgement.warnings]:
        lines.append(f"> ⚠️ {md_escape(p, 200)}")
    if rows:
        shown = sorted(
            rows, key=lambda r: (not r["declared"], _ORDER.get(r["tone"], 3))
        )
        shown = shown if len(shown) <= max_rows else shown[:max_rows]
        shown_keys = {id(r) for r in shown}
        shown = [r for r in rows if id(r) in shown_keys]  # keep the gates' order
        lines += [
            "",
            "| | gate | status | baseline | candidate | change (+ = better) | CI | margin | p (adj.) | n |",
            "|:-:|---|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in shown:
            p = fmt_p(r["p_value"])
            if r["p_adjusted"] is not None:
                p += f" ({fmt_p(r['p_adjusted'])})"
            why = (
                f" — {md_escape(r['waiver'], 80)}"
                if r["waiver"] and r["status"] == "waived"
                else ""
            )
            lines.append(
                f"| {MARKS.get(r['tone'], '')} | {md_escape(r['label'])}"
                f"{'' if r['declared'] else ' (warn-only)'} "
                f"| {md_escape(r['status_word'])}{why} "
                f"| {r['baseline_text']} | {r['candidate_text']} "
                f"| {r['estimate_text']} | {r['ci_text']} "
                f"| {md_escape(r['margin_text'])} | {p} | {r['n_paired']} |"
            )
        left = [r for r in rows if id(r) not in shown_keys]
        if left:
            failing = sum(1 for r in left if r["fails"])
            tail = f"{failing} failing the run" if failing else "none failing the run"
            lines.append(f"\n… and {len(left)} more gates, {tail}.")
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
            "Full report, with every changed output: "
            + md_escape(html_path, 300, links=True),
        ]
    # A lone surrogate cannot be written as UTF-8: its escape is shown instead.
    return no_surrogates("\n".join(lines) + "\n")
