"""The self-contained HTML diff report.

:func:`render_html` is a pure function of a comparison, its judgement and the
session's test records: same inputs, same bytes. The page embeds its data as JSON in
a ``type="application/json"`` block (with ``<``, ``>`` and ``&`` escaped so that no
string from a run can close it), draws charts as inline SVG, and carries a
Content-Security-Policy that allows only its own style and script, by hash: no
request to any address, no other script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement
    from pytest_runcompare.plan import Plan
    from pytest_runcompare.render.model import TestRecord
    from pytest_runcompare.trend import Trend

_TEMPLATES = "templates"
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def embed_json(data: Any) -> str:
    r"""JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\u`` escapes, so ``</script>`` or
    ``<!--`` in any string cannot end the block; ``JSON.parse`` gives the same
    values back. A NaN or infinity (which strict JSON cannot carry) becomes
    ``null``, and a lone surrogate (which UTF-8 cannot carry) the text of its
    escape (``\ud800``), so that the page shows it and can be written.
    """
    try:
        text = json.dumps(
            data, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except ValueError:  # a non-finite float somewhere: never a crash of the report
        text = json.dumps(
            _finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    text = _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", text)
    return text.translate(_JSON_ESCAPES)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def csp_hash(source: str) -> str:
    """The ``'sha256-…'`` source expression of an inline script or style."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(script: str, style: str) -> str:
    """A policy that allows nothing but our inline style and script (and data: images)."""
    return (
        "default-src 'none'; "
        f"script-src {csp_hash(script)}; "
        f"style-src {csp_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's jinja2 environment: package templates, autoescape, strict."""
    import jinja2

    from pytest_runcompare.render import model

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_runcompare.render", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=model.fmt_num,
        signed=model.fmt_signed,
        pct=model.fmt_pct,
        pval=model.fmt_p,
        sv=model.sort_value,
    )
    env.globals["ci"] = model.fmt_ci
    return env


def plan_view(plan: Plan | None) -> dict[str, Any] | None:
    """The power plan's figures as text, for the report's power table."""
    if plan is None or not plan.gates:
        return None
    from pytest_runcompare import text
    from pytest_runcompare.plan import chance

    rows = []
    for g in plan.gates:
        rows.append(
            {
                "key": g.key,
                "margin": g.margin_text,
                "mde": text.number(g.mde, digits=3),
                "n": f"{g.n_units}" + (" groups" if g.clustered else ""),
                "n_required": "" if g.n_required is None else f"{g.n_required:,}",
                "pass_chance": chance(g.pass_chance),
                "low": g.underpowered(plan.warn_below),
                "waived": g.waived,
                "note": g.reason or g.note or "",
            }
        )
    every = plan.all_pass
    return {
        "rows": rows,
        "power": text.share(plan.power),
        "warn_below": text.share(plan.warn_below),
        "assumption": plan.assumption,
        "all_pass": None if every is None else chance(every),
        "n_low": sum(1 for r in rows if r["low"]),
    }


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    """A static asset (CSS or JS) of the templates folder."""
    env = environment()
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return source


def render_html(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    tests: Sequence[TestRecord] = (),
    title: str | None = None,
    generated: str | None = None,
    max_outputs: int = 2000,
    plan: Plan | None = None,
    trend: Trend | None = None,
) -> str:
    """Render the self-contained HTML diff report.

    Parameters
    ----------
    comparison : RunComparisonResult
        The paired runs.
    judgement : Judgement
        The session's judgement: every gate's final status, verdict and reasons.
    tests : sequence of TestRecord
        The pytest session's tests to list beside the gates.
    title : str, optional
        Page title; default ``"<candidate> vs <baseline>"``.
    generated : str, optional
        A timestamp shown in the header (the only place a time appears; leave it
        out, or fix it, for byte-identical reports).
    max_outputs : int
        Full outputs, inputs and diffs are embedded for at most this many of the
        most changed datapoints; the report says how many were left out.
    plan : Plan, optional
        The power plan from the baseline alone, shown below the gates.
    trend : Trend, optional
        Each gated metric over the baseline's generations, the candidate last.

    Returns
    -------
    str
        One HTML document with inline CSS, JS and SVG, and no external reference.

    """
    from pytest_runcompare.render.model import view_model

    if max_outputs < 0:
        raise ValueError(f"max_outputs must be >= 0, got {max_outputs!r}")
    vm = view_model(
        comparison,
        judgement,
        tests=tests,
        title=title,
        generated=generated,
        max_outputs=max_outputs,
    )
    return render_page(vm, plan=plan, trend=trend)


def render_page(
    vm: dict[str, Any], *, plan: Plan | None = None, trend: Trend | None = None
) -> str:
    """The report page of a view-model (:func:`~.model.view_model`'s, or the engine's).

    The engine path (``render.engine_report``) builds its own view-model, with an
    ``engine`` key the page reads to say where its figures come from.
    """
    from pytest_runcompare.render import trend_view
    from pytest_runcompare.render.model import bounded
    from pytest_runcompare.untrusted import no_surrogates

    script = _asset("report.js")
    style = _asset("report.css")
    from markupsafe import Markup

    page = (
        environment()
        .get_template("report.html.j2")
        .render(
            vm=vm,
            csp=content_security_policy(script, style),
            script=Markup(script),
            style=Markup(style),
            data=Markup(embed_json(vm["explorer"])),
            plan=bounded(plan_view(plan)),
            history_trend=trend_view.html_view(trend),
        )
    )
    # A lone surrogate anywhere else (a name in the page's text) is shown as its
    # escape: the page must be writable as UTF-8 whatever a run holds.
    return no_surrogates(page)
