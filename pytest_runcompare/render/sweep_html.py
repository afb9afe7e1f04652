"""The self-contained HTML sweep report: one page for N candidates against one baseline.

:func:`render_sweep_html` is a pure function of a :class:`SweepJudgement`: same
inputs, same bytes. Like the two-run report it inlines its style (the two-run
report's CSS, then the sweep's) and script, allowed by hash in its
Content-Security-Policy, and embeds its plot data as escaped JSON: no request to
any address. Each candidate's row links to its two-run report when ``pair_links``
says where that is (:func:`pytest_runcompare.render.write.write_sweep_reports`
writes them beside the page).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pytest_runcompare.render.html import (
    _asset,
    content_security_policy,
    embed_json,
    environment,
)

if TYPE_CHECKING:
    from pytest_runcompare.sweep import SweepJudgement


def render_sweep_html(
    sweep: SweepJudgement,
    *,
    pair_links: Mapping[str, str] | None = None,
    title: str | None = None,
    generated: str | None = None,
) -> str:
    """Render the sweep report: its sentence, run table, parallel coordinates, scatter.

    Parameters
    ----------
    sweep : SweepJudgement
        Every candidate judged against the baseline.
    pair_links : mapping of str to str, optional
        A candidate's label to the address (relative to the page) of its two-run
        report; the run table and the plots link there.
    title : str, optional
        Page title; default ``"sweep of K candidates vs <baseline>"``.
    generated : str, optional
        A timestamp for the header (leave it out for byte-identical reports).

    Returns
    -------
    str
        One HTML document with inline CSS, JS and SVG, and no external reference.

    """
    from markupsafe import Markup

    from pytest_runcompare.render.sweep_model import sweep_view
    from pytest_runcompare.untrusted import no_surrogates

    vm = sweep_view(sweep, pair_links=pair_links, title=title, generated=generated)
    script = _asset("sweep.js")
    style = _asset("report.css") + "\n" + _asset("sweep.css")
    page = (
        environment()
        .get_template("sweep.html.j2")
        .render(
            vm=vm,
            csp=content_security_policy(script, style),
            script=Markup(script),
            style=Markup(style),
            data=Markup(embed_json(vm["plot"])),
        )
    )
    return no_surrogates(page)


def with_back_link(
    page: str, sweep_href: str, label: str, excused: str | None = None
) -> str:
    """A candidate's two-run report with a line at its top linking back to the sweep.

    ``sweep_href`` is the sweep page's address relative to the pair report. An
    ``excused`` candidate's line says why its failed gates do not fail the session
    (its own page still shows them failed). The page is returned unchanged if it
    does not have its one ``<main>``.
    """
    from urllib.parse import quote

    from markupsafe import escape

    if page.count("<main>") != 1:
        return page
    href = escape(quote(sweep_href, safe="/._-~"))
    line = (
        f'<main>\n<div class="notice info" id="sweep-back">{escape(label)} is one '
        f'candidate of a sweep: <a href="{href}">back to the sweep report</a>'
    )
    if excused is not None:
        line += f". Its failed gates do not fail the session: {escape(excused)}."
    line += "</div>"
    return page.replace("<main>", line, 1)
