"""pytest-html integration: each gate's figures in pytest-html's own report.

A plugin module registered by the runcompare plugin only when pytest-html is active
(``config.pluginmanager.hasplugin("html")``), or by hand with
``-p pytest_runcompare.pytest_html_extras``. It adds the verdict table of
:func:`pytest_runcompare.render.extras.verdict_extras_html` to the ``extras`` of a
gate's call report. pytest-html is imported only inside the hook, and the hook never
raises: a report that cannot be decorated is left as it is.
"""

from __future__ import annotations

from typing import Any

import pluggy

# pytest's own marker, without importing pytest in a module the core may list.
hookimpl = pluggy.HookimplMarker("pytest")


def _gate_key(item: Any) -> str | None:
    for name, value in getattr(item, "user_properties", ()):
        if name == "runcompare_gate":
            return str(value)
    return None


@hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Attach the gate's verdict table to its call-phase report."""
    report = yield
    if report.when != "call":
        return report
    key = _gate_key(item)
    if key is None:
        return report
    try:
        from pytest_html import extras

        from pytest_runcompare.render.extras import verdict_extras_html
        from pytest_runcompare.session import get_session

        result = get_session(item.config).gate_result(key)
        snippet = verdict_extras_html([result])
    except Exception:
        return report
    if snippet:
        report.extras = [*getattr(report, "extras", []), extras.html(snippet)]
    return report
