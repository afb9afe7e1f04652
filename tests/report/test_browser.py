"""The HTML report in headless Chromium: loads offline, filters, diffs, resists injection."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import NEEDS_BROWSER
from report_data import HOSTILE_ID, HOSTILE_OUTPUTS

from pytest_runcompare.render.html import render_html
from pytest_runcompare.render.model import TestRecord

pytestmark = NEEDS_BROWSER


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, comparison, judgement) -> Path:
    tests = (
        TestRecord(
            "tests/test_gates.py::test_accuracy", "failed", "accuracy regressed"
        ),
        TestRecord("tests/test_gates.py::test_latency", "passed", ""),
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(comparison, judgement, tests=tests), encoding="utf-8")
    return path


class Loaded:
    def __init__(self, page, errors, requests):
        self.page = page
        self.errors = errors
        self.requests = requests

    def count(self) -> int:
        return int(self.page.locator("#f-count").inner_text().split(" of ")[0])

    def ids(self) -> list[str]:
        return self.page.locator("#explorer-body td.id").all_inner_texts()

    def filter(self, *, metric=None, status="all", changed=False, search="", sort=None):
        p = self.page
        if metric is not None:
            p.select_option("#f-metric", metric)
        p.select_option("#f-status", status)
        p.set_checked("#f-changed", changed)
        if sort is not None:
            p.select_option("#f-sort", sort)
        p.fill("#f-search", search)
        p.wait_for_timeout(200)  # the search box is debounced

    def open(self, datapoint_id: str) -> None:
        self.filter(search=datapoint_id)
        row = self.page.locator("#explorer-body tr", has_text=datapoint_id).first
        row.click()
        self.page.wait_for_selector("#detail:not([hidden])")


@pytest.fixture
def loaded(browser, report_file):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        requests.append(r.request.url)
        if r.request.url == report_file.as_uri():
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(report_file.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    yield Loaded(page, errors, requests)
    context.close()


def test_page_loads_offline_without_console_errors(loaded):
    assert loaded.errors == []
    assert loaded.requests == [loaded.page.url]
    assert loaded.page.locator("#overall").inner_text().strip() == "✘ FAIL"
    assert loaded.page.evaluate("window.__pwned") is None


def test_filters_narrow_rows(loaded, comparison):
    delta = comparison.metric_deltas["accuracy"]
    n = len(comparison.common_datapoints) + 2
    loaded.filter(metric="accuracy")
    assert loaded.count() == n
    loaded.filter(metric="accuracy", status="d")
    assert loaded.count() == delta.degraded_count
    assert set(loaded.ids()) == set(delta.degraded_ids)
    loaded.filter(metric="accuracy", status="i")
    assert loaded.count() == delta.improved_count
    loaded.filter(metric="accuracy", status="u")
    assert loaded.count() == delta.unchanged_count
    loaded.filter(status="new")
    assert loaded.ids() == ["new-1"]
    loaded.filter(status="old")
    assert loaded.ids() == ["gone-1"]
    loaded.filter(changed=True)
    assert loaded.count() == comparison.changed_output_count
    loaded.filter(metric="accuracy", status="d", changed=True)
    assert loaded.count() == len(
        set(delta.degraded_ids) & {c.id for c in comparison.changed_outputs()}
    )
    loaded.filter(search="q001")
    assert sorted(loaded.ids()) == [f"q001{k}" for k in range(10)]
    loaded.filter(search="berlin")  # text search over outputs
    assert loaded.count() == sum(
        "berlin" in str(c.new_output) for c in comparison.changed_outputs()
    )
    loaded.filter(search="no such thing anywhere")
    assert loaded.count() == 0
    assert loaded.page.locator("#p-info").inner_text() == "no datapoint matches"


def test_rows_sorted_by_size_of_change(loaded, comparison):
    loaded.filter(metric="f1", sort="abs")
    paired = comparison.paired("f1")
    changes = dict(
        zip(
            paired.ids.tolist(),
            (paired.candidate - paired.baseline).tolist(),
            strict=True,
        )
    )
    shown = [abs(changes[i]) for i in loaded.ids() if i in changes]
    assert shown == sorted(shown, reverse=True)
    loaded.filter(metric="f1", sort="worst")
    shown = [changes[i] for i in loaded.ids() if i in changes]
    assert shown == sorted(shown)


def test_diff_opens_and_highlights_changed_words(loaded, tmp_path):
    loaded.open("q0000")
    page = loaded.page
    assert page.locator("#d-title").inner_text() == "q0000"
    assert page.locator("#d-old del").all_inner_texts() == ["that"]
    assert page.locator("#d-new ins").all_inner_texts() == ["berlin"]
    assert "berlin paris is the capital" in page.locator("#d-new").inner_text()
    assert page.locator("#d-expected").inner_text() == "paris"
    assert "accuracy" in page.locator("#d-metrics").inner_text()
    page.screenshot(path=str(tmp_path / "diff.png"))
    page.click("#d-mode-plain")
    assert page.locator("#d-new ins").count() == 0
    assert "berlin paris" in page.locator("#d-new").inner_text()
    page.click("#d-mode-diff")
    assert page.locator("#d-new ins").count() == 1
    page.click("#d-close")
    assert page.locator("#detail").is_hidden()


def test_json_output_shows_structural_diff(loaded):
    loaded.open("q0006")
    rows = loaded.page.locator("#d-json tbody tr").all_inner_texts()
    assert any("$.confidence" in r and "changed" in r for r in rows)
    assert any("$.sources[1]" in r and "added" in r for r in rows)


@pytest.mark.parametrize("hostile", [*HOSTILE_OUTPUTS, HOSTILE_ID])
def test_hostile_strings_show_as_text_and_set_nothing(loaded, comparison, hostile):
    page = loaded.page
    if hostile == HOSTILE_ID:
        loaded.open("<b>id</b>")
        assert page.locator("#d-title").inner_text() == HOSTILE_ID
        assert HOSTILE_ID in loaded.ids()
    else:
        (dp,) = [c.id for c in comparison.changed_outputs() if c.new_output == hostile]
        loaded.open(dp)
        assert page.locator("#d-new").inner_text() == hostile
        page.click("#d-mode-plain")
        assert page.locator("#d-new").inner_text() == hostile
    assert (
        page.locator(
            "#detail img, #detail script, #explorer-body img, #explorer-body b"
        ).count()
        == 0
    )
    assert page.evaluate("window.__pwned") is None
    assert loaded.errors == []


def test_tables_sort_and_steps_switch(loaded):
    page = loaded.page
    keys = lambda: page.locator("#gates-table tbody tr").evaluate_all(  # noqa: E731
        "rows => rows.map(r => r.dataset.key)"
    )
    before = keys()
    page.click("#gates-table th:nth-child(6)")  # change, ascending
    assert keys()[0] == "accuracy"
    page.click("#gates-table th:nth-child(6)")
    assert keys()[0] == "latency_s"
    assert sorted(keys()) == sorted(before)
    assert page.locator(".step-panel[data-step-index='0']").is_visible()
    assert page.locator(".step-panel[data-step-index='1']").is_hidden()
    page.select_option("#step-select", "1")
    assert page.locator(".step-panel[data-step-index='1']").is_visible()
    assert page.locator(".step-panel[data-step-index='0']").is_hidden()
    page.check("#lineage-changed")
    assert page.locator("#lineage-table tr.same").first.is_hidden()


def test_summary_screenshot(loaded, tmp_path):
    path = tmp_path / "summary.png"
    loaded.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
