"""Gate figures as an HTML snippet for other reports (pytest-html ``extras``).

Pure and light: :mod:`html` escaping only, no jinja2, so that the pytest layer can
call it for every test report. The pytest-html wiring wraps the string with
``pytest_html.extras.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from pytest_runcompare.render.model import (
    fmt_p,
    gate_row,
)
from pytest_runcompare.untrusted import NAME_CHARS, clip_words, log_text, one_line

if TYPE_CHECKING:
    from pytest_runcompare.pipeline import GateResult

_COLOURS = {"pass": "#1c8a4c", "fail": "#c62f3a", "inconclusive": "#a86400"}
_CELL = "padding:2px 8px;border-bottom:1px solid #e3e6ec;text-align:right"


def verdict_extras_html(results: Sequence[GateResult]) -> str:
    """An HTML table of the gates' figures, every string escaped.

    Run data in it (the key, the message) is shown as :mod:`pytest_runcompare.untrusted`
    shows it elsewhere: bounded, control characters and lone surrogates escaped.

    One row per gate: its final status, gate key, baseline and candidate aggregates,
    change, interval, margin, p-value (adjusted), n, and the verdict's sentence.
    Returns an empty string for no verdicts.
    """
    if not results:
        return ""
    head = "".join(
        f'<th style="{_CELL}">{h}</th>'
        for h in (
            "verdict",
            "gate",
            "baseline",
            "candidate",
            "change (+ = better)",
            "CI",
            "margin",
            "p (adj.)",
            "n",
        )
    )
    rows = []
    for result in results:
        r = gate_row(result)
        colour = _COLOURS.get(r["tone"], "#6b7385")
        p = fmt_p(r["p_value"])
        if r["p_adjusted"] is not None:
            p += f" ({fmt_p(r['p_adjusted'])})"
        cells = [
            f'<td style="{_CELL};color:{colour};font-weight:bold">'
            f"{escape(r['status_word'].upper())}</td>",
            f'<td style="{_CELL};text-align:left">'
            f"<code>{escape(one_line(r['key'], NAME_CHARS))}</code></td>",
            *(
                f'<td style="{_CELL}">{escape(text)}</td>'
                for text in (
                    r["baseline_text"],
                    r["candidate_text"],
                    r["estimate_text"],
                    r["ci_text"],
                    r["margin_text"],
                    p,
                    str(r["n_paired"]),
                )
            ),
        ]
        rows.append(f'<tr class="runcompare-verdict">{"".join(cells)}</tr>')
        rows.append(
            f'<tr><td colspan="9" style="padding:2px 8px 8px;color:#3a4254">'
            f"{escape(log_text(clip_words(r['message'], NAME_CHARS)))}</td></tr>"
        )
    return (
        '<table class="runcompare-gates" style="border-collapse:collapse;'
        f'font-size:13px;margin:6px 0"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
