"""The sweep's Markdown summary, short enough for a pull-request comment.

The same conventions as the two-run summary (:mod:`pytest_runcompare.render.markdown`):
a hidden marker line first (a CI step finds and updates its comment by it), every
string from a run escaped for Markdown and HTML, GitHub's autolinks and mentions
broken, and the whole within GitHub's comment limit: candidate rows beyond it are
left out, failing ones last, with a note saying how many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_runcompare.render.markdown import (
    GITHUB_COMMENT_LIMIT,
    MARKS,
    MAX_CHARS,
    _report_line,
    _role_name,
    marker_line,
    md_escape,
    utf16_len,
)
from pytest_runcompare.untrusted import no_surrogates

if TYPE_CHECKING:
    from pytest_runcompare.sweep import SweepJudgement

#: Failed gates named per candidate (the rest counted).
FAILED_NAMED = 3


def _head(vm: dict[str, Any]) -> str:
    h = vm["header"]
    mark = {"fail": MARKS["fail"], "pass": MARKS["pass"]}.get(
        h["overall"], MARKS["inconclusive"]
    )
    verdict = "FAIL" if h["overall"] == "fail" else "PASS"
    return (
        f"{mark} **runcompare sweep: {verdict}, {h['n_passing']} of {h['size']} "
        f"candidates pass every gate** · vs {_role_name('baseline', h['baseline'])}"
    )


def _failed_text(row: dict[str, Any]) -> str:
    names = [md_escape(k, 40) for k in row["failed"]]
    more = row["n_failed"] - min(len(names), FAILED_NAMED)
    shown = ", ".join(names[:FAILED_NAMED])
    if more > 0:
        shown += f" +{more} more"
    return shown or "—"


def _row(row: dict[str, Any], column: int | None) -> str:
    mark = MARKS.get(row["tone"], "")
    name = md_escape(row["label"], 60)
    if row["mark"] == "best":
        name = f"**{name}** ★"
    elif row["mark"] == "runner-up":
        name += " (runner-up)"
    word = md_escape(row["word"], 40)
    if column is None:
        change = ci = "—"
    else:
        cell = row["cells"][column]
        change, ci = cell["change_text"], cell["ci_text"] or "—"
    rank = "—" if row["rank"] is None else str(row["rank"])
    return (
        f"| {rank} | {mark} | {name} | {word} | {change} | {ci} | {_failed_text(row)} |"
    )


def render_sweep_markdown(
    sweep: SweepJudgement,
    *,
    html_path: str | None = None,
    report_url: str | None = None,
    marker: str = "runcompare",
    max_chars: int = MAX_CHARS,
) -> str:
    """Render the sweep summary for a pull-request comment.

    The marker line, the verdict with what was compared, the sweep's sentence, one
    row per candidate in ranking order (overall verdict, the change of the ranking
    metric with its interval, the failed gates), the best-versus-runner-up
    sentence, and where the full report is. Rows that do not fit ``max_chars``
    (UTF-16 units, as GitHub counts) are left out from the end, the failing ones
    kept first; a note counts them.
    """
    from pytest_runcompare.render.sweep_model import sweep_view

    vm = sweep_view(sweep)
    h = vm["header"]
    column = next((i for i, g in enumerate(vm["gates"]) if g["ranking"]), None)
    metric = "—" if column is None else md_escape(vm["gates"][column]["key"], 60)
    top = [
        marker_line(marker),
        _head(vm),
        "",
        md_escape(h["sentence"], 300)
        + f". Each candidate's gates at α {h['candidate_alpha']:.3g} "
        f"({md_escape(h['correction'], 20)}, family α {h['alpha']:g}).",
    ]
    best = vm["best"]
    after = []
    if best is not None:
        after = [
            "",
            ("**Best:** " if best["distinguishable"] else "")
            + md_escape(best["text"], 600),
        ]
    for w in vm["warnings"][:10]:
        after.append(f"> ⚠️ {md_escape(w, 200)}")
    head = [
        "",
        f"| # | | candidate | verdict | {metric} change (+ = better) | CI "
        "| failed gates |",
        "|--:|:-:|---|---|--:|--:|---|",
    ]
    rows = vm["rows"]  # in ranking order
    lines_of = [_row(r, column) for r in rows]
    link = _report_line(html_path, report_url)
    fixed = sum(utf16_len(x) + 1 for x in [*top, *head, *after, *link])

    def note(left: int, failing: int) -> str:
        return (
            f"\n… and {left} more candidates ({failing} failing) left out to stay "
            f"under GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit; the "
            "full report has every one."
        )

    budget = max_chars - fixed - utf16_len(note(len(rows), len(rows))) - 1
    # Failing rows are kept first (they are what a reviewer must see), then the
    # rest, each group in ranking order; what is kept is shown in ranking order.
    priority = sorted(range(len(rows)), key=lambda i: (rows[i]["tone"] != "fail", i))
    kept: set[int] = set()
    used = 0
    for i in priority:
        cost = utf16_len(lines_of[i]) + 1
        if used + cost > budget:
            break
        used += cost
        kept.add(i)
    lines = [*top, *head, *(lines_of[i] for i in range(len(rows)) if i in kept)]
    if len(kept) < len(rows):
        dropped = [i for i in range(len(rows)) if i not in kept]
        lines.append(
            note(len(dropped), sum(1 for i in dropped if rows[i]["tone"] == "fail"))
        )
    lines += after
    lines += link
    return no_surrogates("\n".join(lines) + "\n")
