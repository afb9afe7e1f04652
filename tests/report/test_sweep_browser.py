"""The sweep report in headless Chromium: offline, brushing filters the run table,
a run opens its two-run report, and 100 candidates still work."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from chromium import NEEDS_BROWSER
from sweep_data import HOSTILE_LABEL, HOSTILE_PARAM, make_sweep

from pytest_runcompare.pipeline import Outputs
from pytest_runcompare.render.write import write_sweep_reports

pytestmark = NEEDS_BROWSER

#: What the 100-candidate sweep page (without its pair reports) stays under.
MAX_PAGE_BYTES_100 = 600_000


def _top(c: Any, metric: str) -> float:
    for r in c.judgement.gates:
        g = r.verdict.gate
        if g.metric == metric and g.slice is None and g.step is None:
            return float(r.verdict.candidate_aggregate)
    raise KeyError(metric)


class Page:
    def __init__(self, page: Any, errors: list[str], requests: list[str]) -> None:
        self.page = page
        self.errors = errors
        self.requests = requests

    def visible(self) -> set[str]:
        rows = self.page.locator("#run-body tr:not([hidden])")
        return {rows.nth(i).get_attribute("data-label") for i in range(rows.count())}

    def tick_y(self, key: str, text: str) -> float:
        """The page y of the middle of an axis tick labelled exactly ``text``."""
        ys = self.page.locator(f'#pc g.axis[data-key="{key}"] text.tick').evaluate_all(
            """(ts, text) => ts.filter(t => t.firstChild.nodeValue === text)
                .map(t => { const b = t.getBoundingClientRect();
                            return b.top + b.height / 2; })""",
            text,
        )
        assert len(ys) == 1, (key, text, ys)
        return float(ys[0])

    def axis_x(self, key: str) -> float:
        box = self.page.locator(
            f'#pc g.axis[data-key="{key}"] line.ax-line'
        ).first.bounding_box()
        assert box is not None
        return box["x"] + box["width"] / 2

    def brush(self, key: str, y0: float, y1: float) -> None:
        x = self.axis_x(key)
        mouse = self.page.mouse
        mouse.move(x, y0)
        mouse.down()
        mouse.move(x, (y0 + y1) / 2, steps=3)
        mouse.move(x, y1, steps=3)
        mouse.up()

    def click_axis(self, key: str, y: float) -> None:
        self.page.mouse.click(self.axis_x(key), y)


def _open(browser: Any, path: Path) -> tuple[Any, Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    folder = path.parent.as_uri()

    def route(r: Any) -> None:
        requests.append(r.request.url)
        if r.request.url.startswith(folder + "/"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    return context, Page(page, errors, requests)


@pytest.fixture(scope="module")
def small(tmp_path_factory: Any) -> tuple[Any, Path]:
    sweep, _, _ = make_sweep(6, hostile=True)
    html = tmp_path_factory.mktemp("sweep") / "report.html"
    write_sweep_reports(sweep, Outputs(html=html))
    return sweep, html


@pytest.fixture
def loaded(browser: Any, small: tuple[Any, Path]) -> Any:
    context, page = _open(browser, small[1])
    yield page
    context.close()


def test_sweep_page_loads_offline_without_console_errors(loaded, small):
    sweep, html = small
    page = loaded.page
    assert loaded.errors == []
    assert loaded.requests == [html.as_uri()]
    assert page.evaluate("window.__pwned") is None
    names = page.locator("#pc text.ax-name").evaluate_all(
        "ts => ts.map(t => t.firstChild.nodeValue)"
    )
    assert names[:3] == ["lr", "depth", HOSTILE_PARAM[:21] + "…"]
    assert page.locator("#pc text.ax-name").nth(2).get_attribute("data-full") == (
        HOSTILE_PARAM
    )
    assert page.locator("#pc text.tick", has_text="n/a").count() == 1
    assert page.locator("#sentence").inner_text() == sweep.sentence
    assert page.locator("#overall").inner_text().strip() == "✘ FAIL"
    assert loaded.visible() == {c.label for c in sweep.candidates}
    # one line per candidate and one for the baseline, drawn distinctly
    assert page.locator("#pc path.run").count() == 7
    assert page.locator("#pc path.run.baseline").count() == 1
    assert page.locator(".mark.best").count() == 1
    best = page.locator("#run-body tr.mark-best").get_attribute("data-label")
    assert best == sweep.best.best
    page.screenshot(path="/tmp/sweep.png", full_page=True)


def test_brushing_axes_filters_the_run_table(loaded, small):
    sweep, _ = small
    acc = {c.label: _top(c, "accuracy") for c in sweep.candidates}
    lr = {c.label: c.run.meta.params["lr"] for c in sweep.candidates}
    # accuracy between the ticks 0.76 and 0.80 (values are multiples of 0.005, so
    # a pixel beyond each tick decides nothing)
    top, bottom = (
        loaded.tick_y("m:accuracy", "0.80"),
        loaded.tick_y("m:accuracy", "0.76"),
    )
    loaded.brush("m:accuracy", bottom + 1, top - 1)
    inside = {k for k, v in acc.items() if 0.76 <= v <= 0.80}
    assert inside
    assert inside != set(acc)
    assert loaded.visible() == inside
    assert loaded.page.locator("#run-count").inner_text() == f"{len(inside)} of 6"
    out = loaded.page.locator("#pc path.run.out").count()
    assert out == 6 - len(inside)
    # a second brush on the log axis of the learning rate: around its tick 0.01
    y = loaded.tick_y("p:lr", "0.01")
    loaded.brush("p:lr", y - 8, y + 8)
    both = {k for k in inside if lr[k] == 0.01}
    assert loaded.visible() == both
    # clicking a brush clears it: the accuracy brush alone is left
    loaded.click_axis("p:lr", y)
    assert loaded.visible() == inside
    loaded.page.click("#clear-brushes")
    assert loaded.visible() == set(acc)
    assert loaded.page.locator("#pc rect.brush[visibility='visible']").count() == 0


def test_a_run_opens_its_two_run_report(loaded, small):
    _sweep, html = small
    page = loaded.page
    link = page.locator("#run-body a.pair", has_text=HOSTILE_LABEL)
    href = link.get_attribute("href")
    assert href is not None
    assert href.startswith("report.pairs/")
    assert (html.parent / href).is_file()
    link.click()
    page.wait_for_selector("html[data-ready='1']")
    assert page.url == (html.parent / href).as_uri()
    assert page.title().startswith(f"{HOSTILE_LABEL} vs ")
    assert page.evaluate("window.__pwned") is None
    back = page.locator("#sweep-back")
    assert back.inner_text() == (
        f"{HOSTILE_LABEL} is one candidate of a sweep: back to the sweep report"
    )
    back.locator("a").click()
    page.wait_for_selector("#run-table")
    assert page.url == html.as_uri()
    assert loaded.errors == []


def test_run_table_sorts_by_a_gate_column(loaded, small):
    sweep, _ = small
    page = loaded.page
    page.locator("#run-table thead th", has_text="f1").click()
    labels = page.locator("#run-body tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-label'))"
    )
    change = {
        c.label: next(r.verdict.estimate for r in c.judgement.gates if r.key == "f1")
        for c in sweep.candidates
    }
    assert labels == sorted(change, key=lambda k: change[k])


def test_scatter_plots_the_chosen_param_and_metric(loaded, small):
    page = loaded.page
    assert page.locator("#sc circle.pt").count() == 6
    assert page.locator("#sc rect.pt.baseline").count() == 1
    page.select_option("#sc-x", "p:depth")
    page.select_option("#sc-y", "d:f1")
    assert page.locator("#sc text.ax-name").all_text_contents() == [
        "depth",
        "change in f1 (+ = better)",
    ]
    assert page.locator("#sc circle.pt").count() == 6


def test_a_hundred_candidates_render_and_filter(browser, tmp_path):
    sweep, _, _ = make_sweep(100, n=120)
    html = tmp_path / "report.html"
    write_sweep_reports(sweep, Outputs(html=html))
    size = html.stat().st_size
    assert size < MAX_PAGE_BYTES_100, size
    assert len(list((tmp_path / "report.pairs").iterdir())) == 100
    context, loaded = _open(browser, html)
    try:
        page = loaded.page
        assert loaded.errors == []
        assert page.locator("#run-body tr").count() == 100
        assert page.locator("#pc path.run").count() == 101
        # the categorical axis: the optimizer named "sgd"
        y = loaded.tick_y("p:optimizer", "sgd")
        loaded.brush("p:optimizer", y - 6, y + 6)
        sgd = {
            c.label for c in sweep.candidates if c.run.meta.params["optimizer"] == "sgd"
        }
        assert loaded.visible() == sgd
        page.screenshot(path="/tmp/sweep100.png")
        assert loaded.errors == []
    finally:
        context.close()
        shutil.rmtree(tmp_path / "report.pairs")


def test_metric_axes_switch_to_the_change_and_brush_it(loaded, small):
    sweep, _ = small
    page = loaded.page
    page.select_option("#pc-mode", "change")
    assert page.locator('#pc g.axis[data-key="d:accuracy"]').count() == 1
    assert page.locator('#pc g.axis[data-key="m:accuracy"]').count() == 0
    # the baseline sits at 0 on every change axis; keep the runs that improved
    zero = loaded.tick_y("d:accuracy", "0")
    top = page.locator('#pc g.axis[data-key="d:accuracy"] line.ax-line').bounding_box()
    loaded.brush("d:accuracy", zero - 1, top["y"])
    better = {
        c.label
        for c in sweep.candidates
        if next(r for r in c.judgement.gates if r.key == "accuracy").verdict.estimate
        >= 0
    }
    assert better
    assert better != {c.label for c in sweep.candidates}
    assert loaded.visible() == better
    page.select_option("#pc-mode", "metric")  # switching clears the brushes
    assert loaded.visible() == {c.label for c in sweep.candidates}
    assert loaded.errors == []
