"""The Markdown summary, short enough for a pull-request comment.

Every string from a run (gate keys, metric names, slice tags, run names, ids and
outputs) is escaped for Markdown and HTML: a PR comment renders both, and a run is
untrusted input. GitHub also turns bare text into links and notifications
(``https://…``, ``www.…``, e-mail addresses, ``@user``, ``#123``): a word joiner
(U+2060) or zero-width space breaks each, and control characters are shown as escapes.

The summary starts with a hidden marker line naming the gates file, so that a CI
step can find and update its own comment, and always fits GitHub's comment limit:
the least important parts are left out first, and the summary says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pytest_runcompare import text as numbers
from pytest_runcompare.render.model import (
    Deltas,
    delta_row,
    fmt_p,
    fmt_pct,
    fmt_signed,
    gate_row,
    overall,
    permalink,
    top_regressed_slices,
)
from pytest_runcompare.untrusted import no_surrogates, one_line

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import GateResult, Judgement
    from pytest_runcompare.trend import Trend

#: The mark of a gate's tone: fails the session, a plain pass, or passes with a warning.
MARKS = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
#: GitHub refuses a comment longer than this (characters, counted in UTF-16 units).
GITHUB_COMMENT_LIMIT = 65_536
#: What the summary stays within: the limit less room for a CI step's own words.
MAX_CHARS = GITHUB_COMMENT_LIMIT - 1_536
#: Worst regressed datapoints listed per failing gate.
WORST_DATAPOINTS = 5
#: Failing gates that list their worst datapoints (the first ones of the table).
DETAILED_GATES = 10
#: Characters of one output shown (each side) in the list of worst datapoints.
OUTPUT_CHARS = 160
#: Warnings (run policies, compatibility) listed before the table.
MAX_WARNINGS = 10
#: Failing gates kept before the worst datapoints when room is short.
FIRST_ROWS = 25
#: Characters that start Markdown syntax inside a line (a cell never starts one).
_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~!])")
_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}
#: What GitHub links by itself: ``scheme://`` (the autolink extension), ``www.``,
#: issue references (``#12``, ``GH-12``); a word joiner after the first part breaks
#: each. (E-mail addresses and mentions are broken at their ``@``.)
_AUTOLINK = re.compile(r"(:)(?=//)|(www)(?=\.)|(#)(?=\d)|(gh)(?=-\d)", re.IGNORECASE)
_JOINER = "\u2060"
#: Characters kept in the marker: anything else could end the HTML comment.
_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9._/+=:@,-]")
#: Characters a URL keeps as they are inside a Markdown link (no space, no
#: parenthesis, no angle bracket, no backslash or backtick).
_URL_SAFE = ":/?#[]@!$&'*+,;=%~-._"
_TABLE_HEAD = (
    "| | gate | status | baseline | candidate | change (+ = better) | CI | margin "
    "| p (adj.) | n |",
    "|:-:|---|---|--:|--:|--:|--:|--:|--:|--:|",
)


def md_escape(
    text: object, limit: int = 120, *, links: bool = False, html: bool = False
) -> str:
    r"""Text safe in a Markdown table cell: no markup, no HTML, no link, one line, cut.

    Control characters (ESC, BEL...) and lone surrogates are shown as escapes
    (``\x1b``). ``links=True`` keeps URLs clickable, for our own (the report's).
    ``html=True`` is for text inside an HTML block (``<summary>``), where Markdown is
    not read: a backslash escape would show there, so only HTML is escaped.
    """
    s = str(text)
    if len(s) > 4 * limit:  # a 10 MB output is not split into words whole
        s = s[: 4 * limit]
    s = " ".join(s.split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = one_line(s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if not html:
        s = _SPECIAL.sub(r"\\\1", s)
    if not links:
        s = _AUTOLINK.sub(lambda m: m.group() + _JOINER, s)
    # A zero-width space after "@" keeps a run's text from mentioning GitHub users
    # and from being linked as an e-mail address.
    return s.replace("@", "@\u200b")


def marker_line(key: str) -> str:
    """The hidden line a CI step searches for to update its comment in place.

    ``key`` (the gates file's path) keeps only characters that cannot end the HTML
    comment; any other becomes ``_``.
    """
    safe = _MARKER_UNSAFE.sub("_", key)[:200].replace("--", "-_") or "runcompare"
    return f"<!-- runcompare:{safe} -->"


def datapoint_link(report_url: str, datapoint: str) -> str:
    """The report's permalink of one datapoint: ``<url>#dp=<url-encoded id>``.

    The fragment is the report's own (:func:`~pytest_runcompare.render.model.permalink`),
    with parentheses encoded too: an unbalanced one would end a Markdown link.
    """
    base = quote(report_url.split("#", 1)[0], safe=_URL_SAFE)
    fragment = permalink(datapoint).replace("(", "%28").replace(")", "%29")
    return base + fragment


def utf16_len(text: str) -> int:
    """The length GitHub counts: UTF-16 code units (an emoji may count twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


#: One regressed datapoint of a gate: id, old and new value, old and new output.
Worst = tuple[str, float, float, Any, Any]


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    """What the summary says of the runs besides the judgement.

    Either path's: :func:`memory_facts` for two loaded runs; the engine path builds
    its own (``render.engine_report``). ``sizes`` is the line under the heading,
    ``notes`` lines after it (already Markdown), ``worst`` a failing gate's worst
    datapoints, ``classes`` the classes line, ``full_report`` the link's words.
    """

    baseline: str
    candidate: str
    sizes: str
    deltas: Deltas
    worst: Callable[[GateResult], list[Worst]]
    classes: str | None = None
    notes: tuple[str, ...] = ()
    full_report: str = "Full report, with every changed output"


def memory_facts(comparison: RunComparisonResult, judgement: Judgement) -> SummaryFacts:
    """The summary's facts of two runs loaded in memory."""
    return SummaryFacts(
        baseline=comparison.baseline.name,
        candidate=comparison.candidate.name,
        sizes=(
            f"{comparison.n_common} paired datapoints ({comparison.coverage:.1%} of "
            f"the baseline), {len(comparison.new_only_datapoints)} new, "
            f"{len(comparison.old_only_datapoints)} dropped."
        ),
        deltas=comparison,
        worst=lambda result: worst_datapoints(comparison, result),
        classes=_classes_line(comparison, judgement),
    )


@dataclass(slots=True)
class _Part:
    """A part of the summary: fixed lines, then items that may be left out.

    ``left`` says, given how many items were left out, what to write instead.
    """

    what: str
    head: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    left: Callable[[int], str] | None = None
    #: when every item is left out, still say so (else the part goes silently)
    note_alone: bool = False
    kept: int = 0
    #: the frame (head, tail, note) is paid for
    started: bool = False

    def lines(self) -> list[str]:
        dropped = len(self.items) - self.kept
        note = [self.left(dropped)] if dropped and self.left is not None else []
        if not self.kept:
            return note if self.items and self.note_alone else []
        return [*self.head, *self.items[: self.kept], *note, *self.tail]

    def frame(self) -> int:
        """What the part costs beyond its items (its note counted at its longest)."""
        note = [] if self.left is None else [self.left(len(self.items))]
        return sum(utf16_len(x) + 1 for x in [*self.head, *self.tail, *note])


def _fit(steps: Sequence[tuple[_Part, int]], fixed: int, budget: int) -> bool:
    """Keep the parts' items step by step, most important first, within ``budget``.

    Each step lets a part keep up to that many of its first items, so a part can be
    kept in pieces of decreasing importance. Returns whether anything was left out
    for want of room.
    """
    used = fixed
    short = False
    for part, limit in steps:
        if not part.items or part.kept >= min(limit, len(part.items)):
            continue
        if not part.started:
            if used + part.frame() > budget:
                short = True
                continue
            used += part.frame()
            part.started = True
        while part.kept < min(limit, len(part.items)):
            cost = utf16_len(part.items[part.kept]) + 1
            if used + cost > budget:
                short = True
                break
            used += cost
            part.kept += 1
    return short


def _role_name(role: str, name: str) -> str:
    """``candidate NAME``, without doubling a name that already starts with the role."""
    shown = md_escape(name, 60)
    first = name.split(maxsplit=1)[0].lower() if name.strip() else ""
    return shown if first == role else f"{role} {shown}"


def _heading(facts: SummaryFacts, judgement: Judgement) -> str:
    """The first visible line: the overall verdict, then what was compared."""
    counts = judgement.counts()
    verdict = overall(judgement)
    total = counts["total"]
    if verdict == "fail":
        failed = counts["failed"] + counts["error"]
        head = f"❌ **runcompare: FAIL, {failed} of {total} gates failed**"
    elif verdict == "none":
        head = "**runcompare: no gates evaluated**"
    else:
        mark = MARKS["pass"] if verdict == "pass" else MARKS["inconclusive"]
        head = f"{mark} **runcompare: PASS, all {total} gates passed**"
        inconclusive = sum(
            1
            for r in judgement.blocking
            if gate_row(r)["status_word"] == "inconclusive (passes)"
        )
        notes = [
            f"{n} {word}"
            for n, word in (
                (counts["waived"], "waived"),
                (inconclusive, "inconclusive, passed by policy"),
            )
            if n
        ]
        if notes:
            head += f" ({', '.join(notes)})"
    if counts["warnings"]:
        head += f" ({counts['warnings']} warn-only flagged)"
    cand = _role_name("candidate", facts.candidate)
    base = _role_name("baseline", facts.baseline)
    return f"{head} · {cand} vs {base}"


def _gate_line(r: dict[str, Any]) -> str:
    p = fmt_p(r["p_value"])
    if r["p_adjusted"] is not None:
        p += f" ({fmt_p(r['p_adjusted'])})"
    why = (
        f" — {md_escape(r['waiver'], 80)}"
        if r["waiver"] and r["status"] == "waived"
        else ""
    )
    return (
        f"| {MARKS.get(r['tone'], '')} | {md_escape(r['label'])}"
        f"{'' if r['declared'] else ' (warn-only)'} "
        f"| {md_escape(r['status_word'])}{why} "
        f"| {r['baseline_text']} | {r['candidate_text']} "
        f"| {r['estimate_text']} | {r['ci_text']} "
        f"| {md_escape(r['margin_text'])} | {p} | {r['n_paired']} |"
    )


def _rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failing gates first (inconclusive-failing ones among them), then flagged, then passing."""
    return sorted(rows, key=lambda r: _ORDER.get(r["tone"], 3))


def _outputs(old: Any, new: Any) -> tuple[str, str]:
    """Old and new output as cell text, cut to ``OUTPUT_CHARS``.

    When a long common start would hide the change, both start near their first
    difference (``…`` marks the cut).
    """
    from pytest_runcompare.diff import as_text

    texts = [as_text(v)[: 8 * OUTPUT_CHARS] for v in (old, new)]
    same = 0
    for a, b in zip(*texts, strict=False):
        if a != b:
            break
        same += 1
    start = same - 20 if same > OUTPUT_CHARS // 2 else 0
    shown = []
    for t in texts:
        cell = md_escape(t[start:], OUTPUT_CHARS)
        shown.append(("…" + cell if start and cell else cell) or "*(empty)*")
    return shown[0], shown[1]


def worst_datapoints(
    comparison: RunComparisonResult, result: GateResult, k: int = WORST_DATAPOINTS
) -> list[Worst]:
    """The ``k`` datapoints that regressed most on a gate: id, old, new value and outputs."""
    import numpy as np

    gate = result.verdict.gate
    try:
        paired = comparison.paired(gate.metric, slice=gate.slice, step=gate.step)
    except Exception:  # a summary never hides the verdict behind its own error
        return []
    if paired.n == 0:
        return []
    d = paired.candidate - paired.baseline
    if not paired.higher_is_better:
        d = -d
    base = comparison.baseline
    cand = comparison.candidate
    base_table = base.datapoints if gate.step is None else base.steps[gate.step]
    cand_table = cand.datapoints if gate.step is None else cand.steps[gate.step]
    out = []
    for i in np.argsort(d, kind="stable")[:k].tolist():
        if not d[i] < 0:
            break
        key = paired.id_at(i)
        out.append(
            (
                key,
                float(paired.baseline[i]),
                float(paired.candidate[i]),
                base_table.outputs[base_table.index[key]],
                cand_table.outputs[cand_table.index[key]],
            )
        )
    return out


def _worst_part(
    worst_of: Callable[[GateResult], list[Worst]],
    failing: Sequence[GateResult],
    report_url: str | None,
) -> _Part:
    """One ``<details>`` per failing gate: its worst datapoints, old -> new output."""
    items = []
    for result in failing[:DETAILED_GATES]:
        worst = worst_of(result)
        if not worst:
            continue
        metric = md_escape(result.verdict.gate.metric, 60)
        what = (
            "the worst regressed datapoint"
            if len(worst) == 1
            else f"the {len(worst)} worst regressed datapoints"
        )
        rows = []
        for key, old, new, old_out, new_out in worst:
            name = md_escape(key, 80)
            if report_url:
                name = f"[{name}]({datapoint_link(report_url, key)})"
            old_text, new_text = _outputs(old_out, new_out)
            rows.append(
                f"| {name} | {numbers.number(old)} → {numbers.number(new)} "
                f"| {old_text} | {new_text} |"
            )
        items.append(
            "\n".join(
                [
                    f"<details><summary>{md_escape(result.key, 120, html=True)}: {what}</summary>",
                    "",
                    f"| datapoint | {metric} old → new | old output | new output |",
                    "|---|--:|---|---|",
                    *rows,
                    "",
                    "</details>",
                ]
            )
        )
    more = len(failing) - DETAILED_GATES
    tail = (
        [f"(worst datapoints of {more} more failing gates: see the full report)"]
        if more > 0
        else []
    )
    return _Part(
        "worst datapoints",
        head=[""],
        items=items,
        tail=tail,
        left=lambda n: f"(worst datapoints of {n} more failing gates left out)",
        note_alone=True,
    )


def _regressed_part(comparison: Deltas) -> _Part:
    """The metrics and slices that got worse, the sign oriented (+ = better)."""
    rows = [delta_row(d) for d in comparison.metric_deltas.values() if d.degraded]
    rows.sort(
        key=lambda r: (
            -abs(r["relative"]) if r["relative"] is not None else 0.0,
            r["metric"],
        )
    )
    items = []
    if rows:
        items.append(
            "**Regressed metrics (+ = better):** "
            + ", ".join(_delta_text(r) for r in rows[:5])
        )
    slices = top_regressed_slices(comparison, limit=5)
    if slices:
        items.append(
            "**Worst slices (+ = better):** "
            + ", ".join(
                f"{md_escape(s['metric'], 60)} on {md_escape(s['slice'], 60)} "
                f"{_delta_text(s, name=False, n=True)}"
                for s in slices
            )
        )
    return _Part("regressed metrics", items=[f"\n{x}" for x in items])


def _classes_line(comparison: RunComparisonResult, judgement: Judgement) -> str | None:
    """The classes whose F1 got worse after the classes' family adjustment, if any."""
    from pytest_runcompare.classes import cached, view

    report = cached(comparison, judgement)
    if report is None or not report.flagged:
        return None
    shown = {c["label"]: c["f1"] for c in view(report)["classes"] if c["flagged"]}
    line = (
        f"**Classes whose F1 got worse** (warn-only; Benjamini–Hochberg across "
        f"{len(report.labels)} classes, {report.confidence_level:.0%} intervals): "
        + ", ".join(
            f"{md_escape(label, 60)} F1 {f1['old']} → {f1['new']} ({f1['change']}, "
            f"{f1['interval']})"
            for label, f1 in list(shown.items())[:10]
        )
        + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
    )
    return line


def _delta_text(row: dict[str, Any], *, name: bool = True, n: bool = False) -> str:
    """``metric −0.075 (−59.1%)``: the change and its relative size, oriented."""
    flip = 1.0 if row["higher_is_better"] else -1.0
    rel = None if row["relative"] is None else flip * row["relative"]
    size = f", n={row['n']}" if n else ""
    change = f"{fmt_signed(row['oriented'])} ({fmt_pct(rel)}{size})"
    return f"{md_escape(row['metric'], 60)} {change}" if name else change


def render_markdown(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    html_path: str | None = None,
    report_url: str | None = None,
    marker: str = "runcompare",
    max_rows: int = 100,
    max_chars: int = MAX_CHARS,
    trend: Trend | None = None,
) -> str:
    """Render the Markdown summary for a pull-request comment.

    Parameters
    ----------
    comparison : RunComparisonResult
        The paired runs.
    judgement : Judgement
        The session's judgement: the header says what it says, each row shows a
        gate's final status (waivers, run policies and the inconclusive policy
        applied), in the colours of the HTML report.
    html_path : str, optional
        Where the HTML report was written. Only a relative path is shown whole: of
        an absolute one (a CI machine's) only the file name.
    report_url : str, optional
        Where a reviewer opens the HTML report (a CI artifact's URL): the summary
        links it, and each worst datapoint to its permalink (``#dp=<id>``).
    marker : str
        What the hidden first line names (the gates file's path), for a CI step
        that updates its own comment.
    max_rows : int
        Most gates in the table and most warn-only gates listed; the failing ones
        come first, and the summary says how many were left out.
    max_chars : int
        Length the summary stays within (GitHub's comment limit less a margin).
    trend : Trend, optional
        Each gated metric over the baseline's generations: one line per metric.

    Returns
    -------
    str
        GitHub-flavoured Markdown ending with a newline.

    """
    return render_summary(
        memory_facts(comparison, judgement),
        judgement,
        html_path=html_path,
        report_url=report_url,
        marker=marker,
        max_rows=max_rows,
        max_chars=max_chars,
        trend=trend,
    )


def render_summary(
    facts: SummaryFacts,
    judgement: Judgement,
    *,
    html_path: str | None = None,
    report_url: str | None = None,
    marker: str = "runcompare",
    max_rows: int = 100,
    max_chars: int = MAX_CHARS,
    trend: Trend | None = None,
) -> str:
    """:func:`render_markdown` from the summary's facts (either path's)."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
    from pytest_runcompare.judge import Outcome
    from pytest_runcompare.render import trend_view

    blocking = [gate_row(r) for r in judgement.blocking]
    warn_only = [gate_row(r) for r in judgement.warn_only if r.outcome is Outcome.FAIL]
    top = [marker_line(marker), _heading(facts, judgement), "", facts.sizes]
    top += facts.notes
    notes = [*judgement.compatibility.problems, *judgement.warnings]
    warnings = _Part(
        "warnings",
        items=[f"> ⚠️ {md_escape(p, 200)}" for p in notes],
        left=lambda n: f"> ⚠️ … and {n} more warnings (see the full report)",
    )
    ranked = _rank(blocking)
    failing = sum(1 for r in ranked if r["fails"])

    def gates_left(n: int) -> str:
        left = sum(1 for r in ranked[len(ranked) - n :] if r["fails"])
        tail = f"{left} failing the run" if left else "none failing the run"
        return f"\n… and {n} more gates, {tail} (see the full report)."

    table = _Part(
        "gates",
        head=["", *_TABLE_HEAD],
        items=[_gate_line(r) for r in ranked],
        left=gates_left,
    )
    failing_results = [r for r in _rank_results(judgement.blocking) if r.fails_session]
    worst = _worst_part(facts.worst, failing_results, report_url)
    regressed = _regressed_part(facts.deltas)
    trend_lines = trend_view.markdown_lines(trend, md_escape)
    trend_part = _Part("trend", head=trend_lines[:3], items=trend_lines[3:])
    classes_part = _Part(
        "classes", items=[] if facts.classes is None else [f"\n{facts.classes}"]
    )
    warn_part = _Part(
        "warn-only gates",
        head=[
            "",
            f"<details><summary>⚠️ {len(warn_only)} warn-only slice gates regressed "
            f"(of {len(judgement.warn_only)} judged; they never fail the build)"
            "</summary>",
            "",
            *_TABLE_HEAD,
        ],
        items=[_gate_line(r) for r in warn_only],
        tail=["", "</details>"],
        left=lambda n: f"\n… and {n} more (see the full report).",
    )
    link = _report_line(html_path, report_url, facts.full_report)
    cut_note = (
        f"\n*Shortened to stay under GitHub's {GITHUB_COMMENT_LIMIT:,}-character "
        "comment limit; the full report has everything.*"
    )
    fixed = sum(utf16_len(x) + 1 for x in [*top, *link, cut_note])
    rows = min(max_rows, len(ranked))
    everything = len(worst.items)
    # Most important first: the first failing gates, why they fail, what else
    # fails, the warnings, the passing gates, the rest.
    short = _fit(
        [
            (table, min(rows, failing, FIRST_ROWS)),
            (worst, everything),
            (table, min(rows, failing)),
            (warnings, MAX_WARNINGS),
            (table, rows),
            (regressed, 2),
            (trend_part, len(trend_part.items)),
            (classes_part, 1),
            (warn_part, max_rows),
        ],
        fixed,
        max_chars,
    )
    lines = [*top]
    for part in (
        warnings,
        table,
        worst,
        regressed,
        trend_part,
        classes_part,
        warn_part,
    ):
        lines += part.lines()
    if short:
        lines.append(cut_note)
    lines += link
    # A lone surrogate cannot be written as UTF-8: its escape is shown instead.
    return no_surrogates("\n".join(lines) + "\n")


def _rank_results(results: Sequence[GateResult]) -> list[GateResult]:
    from pytest_runcompare.render.model import tone

    return sorted(results, key=lambda r: _ORDER.get(tone(r), 3))


def _report_line(
    html_path: str | None,
    report_url: str | None,
    words: str = "Full report, with every changed output",
) -> list[str]:
    """Where the full report is: its URL linked, else its relative path or name."""
    if report_url:
        url = quote(report_url, safe=_URL_SAFE)
        return ["", f"[{words}]({url})"]
    if not html_path:
        return []
    path = PurePath(html_path)
    shown = path.name if path.is_absolute() else html_path
    return ["", f"{words}: " + md_escape(shown, 300, links=True)]
