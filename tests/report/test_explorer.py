"""The datapoint explorer in headless Chromium: slice facets, tag search, flipped
and threshold filters, sorting by any metric, grid mode, keyboard and permalinks.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from chromium import NEEDS_BROWSER
from report_data import make_judgement

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.render.html import render_html
from pytest_runcompare.render.model import explorer, permalink

SHOTS = os.environ.get("RUNCOMPARE_SHOTS")  # a folder to keep the screenshots in
#: Ids a permalink must survive: a fragment mark, spaces, quotes, markup, percent.
ODD_IDS = (
    "q-17",
    "a b#c",
    'it\'s "quoted"',
    "</script><b>x</b>",
    "100% & more?x=1",
    "é/ü",
)


# ----------------------------------------------------------------- the data, no browser
def test_rows_carry_the_tags_of_either_run():
    base = build_run(
        [
            {"id": "a", "output": "x", "metrics": {"m": 1}, "slices": ["lang:de"]},
            {"id": "b", "output": "x", "metrics": {"m": 0}},
        ],
        {"name": "base"},
    )
    cand = build_run(
        [
            {"id": "a", "output": "y", "metrics": {"m": 0}, "slices": ["hard"]},
            {"id": "b", "output": "x", "metrics": {"m": 0.5}},
            {"id": "c", "output": "z", "metrics": {"m": 1}, "slices": ["lang:de"]},
        ],
        {"name": "cand"},
    )
    data = explorer(compare_runs(base, cand), 10)
    assert data["ids"] == ["a", "b", "c"]
    assert data["tags"] == ["hard", "lang:de"]
    rows = [[data["tags"][t] for t in data["tag_sets"][k]] for k in data["tag_of"]]
    assert rows == [["hard", "lang:de"], [], ["lang:de"]]
    assert [m["binary"] for m in data["metrics"]] == [False]


def test_binary_metrics_are_marked_binary(comparison):
    data = explorer(comparison, 10)
    binary = {m["name"]: m["binary"] for m in data["metrics"]}
    assert binary == {
        "<i>f1</i>": False,
        "accuracy": True,
        "f1": False,
        "latency_s": False,
    }


def test_permalink_encodes_like_encode_uri_component():
    assert permalink("q-17") == "#dp=q-17"
    assert permalink("a b#c") == "#dp=a%20b%23c"
    assert permalink("</script>") == "#dp=%3C%2Fscript%3E"
    assert permalink("it's") == "#dp=it's"


# ----------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def report_file(tmp_path_factory, comparison, judgement) -> Path:
    path = tmp_path_factory.mktemp("explorer") / "report.html"
    path.write_text(render_html(comparison, judgement), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def odd_report(tmp_path_factory) -> Path:
    """A report whose ids need encoding in a URL."""
    records = [
        {"id": i, "output": f"answer {k}", "metrics": {"ok": k % 2 == 0}}
        for k, i in enumerate(ODD_IDS)
    ]
    changed = [  # ok flips pass -> fail at k = 2 and 4, fail -> pass at k = 3
        {**r, "output": r["output"] + " changed", "metrics": {"ok": k % 3 == 0}}
        for k, r in enumerate(records)
    ]
    comparison = compare_runs(
        build_run(records, {"name": "base"}), build_run(changed, {"name": "cand"})
    )
    path = tmp_path_factory.mktemp("odd") / "report.html"
    path.write_text(render_html(comparison, make_judgement(comparison, [])), "utf-8")
    return path


class Page:
    def __init__(self, page, errors):
        self.page = page
        self.errors = errors

    def count(self) -> int:
        return int(self.page.locator("#f-count").inner_text().split(" of ")[0])

    def ids(self) -> list[str]:
        return self.page.locator("#explorer-body td.id").all_inner_texts()

    def pick(self, tag: str) -> None:
        self.page.locator(f"#f-facets label[title='{tag}'] input").check()

    def settle(self) -> None:
        self.page.wait_for_timeout(200)  # the search and threshold boxes are debounced

    def shot(self, name: str) -> None:
        if SHOTS:
            self.page.screenshot(path=str(Path(SHOTS) / name), full_page=False)


def _open(browser, path: Path, fragment: str = "") -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
    )
    page.goto(path.as_uri() + fragment)
    page.wait_for_selector("html[data-ready='1']")
    return Page(page, errors)


@pytest.fixture
def loaded(browser, report_file):
    p = _open(browser, report_file)
    yield p
    p.page.context.close()


def _tagged(comparison, tag: str) -> set[str]:
    """Ids carrying ``tag`` in either run."""
    out = set()
    for run in (comparison.baseline, comparison.candidate):
        rows = run.datapoints.slices.get(tag, [])
        out |= {run.datapoints.ids[int(i)] for i in rows}
    return out


def _all_ids(p: Page) -> list[str]:
    return p.page.evaluate(
        "() => { const out = []; const next = document.getElementById('p-next');"
        " for (;;) { document.querySelectorAll('#explorer-body td.id')"
        ".forEach(td => out.push(td.textContent));"
        " if (next.disabled) break; next.click(); } return out; }"
    )


pytestmark = NEEDS_BROWSER


@pytest.mark.usefixtures("loaded")
class TestFacets:
    def test_slice_column_shows_each_rows_tags(self, loaded):
        loaded.page.fill("#f-search", "q0000")
        loaded.settle()
        row = loaded.page.locator("#explorer-body tr").first
        assert row.locator("td.tags-cell .slice").all_inner_texts() == [
            "hard",
            "lang:de",
        ]

    def test_one_facet_keeps_that_slice(self, loaded, comparison):
        german = _tagged(comparison, "lang:de")
        assert len(german) == 20
        loaded.pick("lang:de")
        assert loaded.count() == 20
        assert set(_all_ids(loaded)) == german
        loaded.shot("facets.png")
        assert loaded.errors == []

    def test_values_of_one_facet_add_up_and_facets_intersect(self, loaded, comparison):
        german, english = _tagged(comparison, "lang:de"), _tagged(comparison, "lang:en")
        hard = _tagged(comparison, "hard")
        loaded.pick("lang:de")
        loaded.pick("lang:en")
        assert loaded.count() == len(german | english) == 59
        loaded.page.locator("#f-facets label[title='lang:en'] input").uncheck()
        loaded.pick("hard")
        assert set(_all_ids(loaded)) == german & hard
        assert loaded.count() == 5

    def test_search_finds_tags(self, loaded, comparison):
        loaded.page.fill("#f-search", "lang:de")
        loaded.settle()
        assert set(_all_ids(loaded)) == _tagged(comparison, "lang:de")
        loaded.page.fill("#f-search", "lang:<svg")  # a hostile tag, shown as text
        loaded.settle()
        assert loaded.count() == 1
        assert loaded.page.locator("#explorer-body svg, #f-facets svg").count() == 0
        assert loaded.errors == []


class TestFilters:
    def test_flipped_pass_to_fail_and_back(self, loaded, comparison):
        paired = comparison.paired("accuracy")
        ids = paired.ids.tolist()
        old, new = paired.baseline.tolist(), paired.candidate.tolist()
        to_fail = {i for i, a, b in zip(ids, old, new, strict=True) if a > b}
        to_pass = {i for i, a, b in zip(ids, old, new, strict=True) if a < b}
        assert len(to_fail) == 10
        assert to_pass == set()
        labels = loaded.page.locator("#f-flip option").all_inner_texts()
        assert labels == ["—", "pass → fail (accuracy)", "fail → pass (accuracy)"]
        loaded.page.select_option("#f-flip", "pf")
        assert set(_all_ids(loaded)) == to_fail
        loaded.page.select_option("#f-flip", "fp")
        assert loaded.page.locator("#p-info").inner_text() == "no datapoint matches"

    def test_flipped_both_ways_where_both_happen(self, browser, odd_report):
        p = _open(browser, odd_report)
        try:
            p.page.select_option("#f-flip", "pf")
            assert sorted(p.ids()) == sorted([ODD_IDS[2], ODD_IDS[4]])
            p.page.select_option("#f-flip", "fp")
            assert p.ids() == [ODD_IDS[3]]
            p.page.select_option("#f-flip", "")
            assert p.count() == len(ODD_IDS)
            assert p.errors == []
        finally:
            p.page.context.close()

    def test_worse_by_more_than_x_in_any_metric(self, loaded, comparison):
        paired = comparison.paired("f1")
        change = dict(
            zip(
                paired.ids.tolist(),
                (paired.candidate - paired.baseline).tolist(),
                strict=True,
            )
        )
        loaded.page.select_option("#f-metric", "accuracy")
        loaded.page.select_option("#f-worse-metric", label="f1")
        loaded.page.fill("#f-worse", "0.2")
        loaded.settle()
        expected = {i for i, d in change.items() if d < -0.2}
        assert len(expected) == 12
        assert set(_all_ids(loaded)) == expected
        loaded.page.fill("#f-worse", "")
        loaded.settle()
        assert loaded.count() == len(comparison.common_datapoints) + 2

    def test_worse_follows_the_metrics_direction(self, loaded, comparison):
        paired = comparison.paired("latency_s")  # lower is better: worse = slower
        slower = {
            i
            for i, d in zip(
                paired.ids.tolist(),
                (paired.candidate - paired.baseline).tolist(),
                strict=True,
            )
            if d > 0
        }
        loaded.page.select_option("#f-worse-metric", label="latency_s")
        loaded.page.fill("#f-worse", "0")
        loaded.settle()
        assert set(_all_ids(loaded)) == slower

    def test_sort_by_another_metrics_change(self, loaded, comparison):
        paired = comparison.paired("latency_s")
        change = dict(
            zip(
                paired.ids.tolist(),
                (paired.candidate - paired.baseline).tolist(),
                strict=True,
            )
        )
        loaded.page.select_option("#f-metric", "accuracy")
        loaded.page.select_option("#f-sort", label="latency_s: worst first")
        assert loaded.page.locator("#th-by").inner_text() == "change of latency_s"
        shown = [change[i] for i in _all_ids(loaded) if i in change]
        assert len(shown) == len(change)
        assert shown == sorted(
            shown, reverse=True
        )  # lower is better: largest rise first
        loaded.page.select_option("#f-sort", label="latency_s: best first")
        shown = [change[i] for i in _all_ids(loaded) if i in change]
        assert shown == sorted(shown)
        loaded.page.select_option("#f-sort", "abs")
        assert loaded.page.locator("#th-by").is_hidden()
        assert loaded.errors == []


class TestGrid:
    def test_grid_shows_old_and_new_of_many_with_the_word_diff(self, loaded):
        page = loaded.page
        page.select_option("#f-sort", "id")
        page.click("#v-grid")
        assert page.locator("#explorer-table-box").is_hidden()
        cards = page.locator("#explorer-grid .card-dp")
        assert cards.count() == 50
        first = cards.first
        assert first.locator(".card-head .id").inner_text() == "<b>id</b>\"'&</script>"
        q0 = page.locator("#explorer-grid .card-dp", has_text="q0000")
        assert q0.locator("pre").nth(0).locator("del").all_inner_texts() == ["that"]
        assert q0.locator("pre").nth(1).locator("ins").all_inner_texts() == ["berlin"]
        loaded.shot("grid.png")
        q0.click()
        assert page.locator("#d-title").inner_text() == "q0000"
        page.click("#d-close")
        page.click("#v-table")
        assert page.locator("#explorer-grid").is_hidden()
        assert loaded.count() == page.locator("#explorer-body tr").count() + 12
        assert page.locator("#explorer-grid b, #explorer-grid script").count() == 0
        assert loaded.errors == []


class TestKeyboard:
    def test_j_k_move_enter_opens_escape_closes(self, loaded):
        page = loaded.page
        page.select_option("#f-sort", "id")
        page.locator("#explorer-body tr").first.focus()
        page.keyboard.press("Escape")
        ids = loaded.ids()
        page.locator("h2", has_text="Datapoints").click()  # focus out of the select
        page.keyboard.press("j")
        page.keyboard.press("j")
        assert page.locator("#explorer-body tr.cursor td.id").inner_text() == ids[1]
        page.keyboard.press("k")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert page.locator("#explorer-body tr.cursor td.id").inner_text() == ids[2]
        page.keyboard.press("Enter")
        assert page.locator("#detail").is_visible()
        assert page.locator("#d-title").inner_text() == ids[2]
        page.keyboard.press("j")  # the open panel follows the cursor
        assert page.locator("#d-title").inner_text() == ids[3]
        page.keyboard.press("Escape")
        assert page.locator("#detail").is_hidden()
        assert loaded.errors == []

    def test_the_cursor_crosses_pages(self, loaded):
        page = loaded.page
        page.select_option("#f-sort", "id")
        page.locator("h2", has_text="Datapoints").click()
        for _ in range(51):
            page.keyboard.press("j")
        assert page.locator("#p-info").inner_text() == "page 2 of 2"
        assert page.locator("#explorer-body tr.cursor").count() == 1
        page.keyboard.press("k")
        assert page.locator("#p-info").inner_text() == "page 1 of 2"

    def test_keys_typed_in_the_search_box_stay_there(self, loaded):
        page = loaded.page
        page.fill("#f-search", "")
        page.focus("#f-search")
        page.keyboard.type("jk")
        assert page.input_value("#f-search") == "jk"
        assert page.locator("#explorer-body tr.cursor").count() == 0


class TestPermalink:
    @pytest.mark.parametrize("dp", ODD_IDS)
    def test_permalink_opens_the_datapoint(self, browser, odd_report, dp):
        p = _open(browser, odd_report, permalink(dp))
        try:
            assert p.page.locator("#detail").is_visible()
            assert p.page.locator("#d-title").inner_text() == dp
            href = p.page.get_attribute("#d-link", "href")
            assert href == permalink(dp) == "#dp=" + quote(dp, safe="-_.!~*'()")
            assert p.page.evaluate("location.hash") == permalink(dp)
            assert p.page.locator("#detail b, #detail script").count() == 0
            assert p.errors == []
        finally:
            p.page.context.close()

    def test_opening_and_closing_sets_the_address(self, loaded):
        page = loaded.page
        page.fill("#f-search", "q0007")
        loaded.settle()
        page.locator("#explorer-body tr").first.click()
        assert page.evaluate("location.hash") == "#dp=q0007"
        page.click("#d-close")
        assert page.evaluate("location.hash") == ""

    def test_a_changed_fragment_opens_its_datapoint(self, loaded):
        page = loaded.page
        page.evaluate(
            "location.hash = '#dp=' + encodeURIComponent(\"<b>id</b>\\\"'&</script>\")"
        )
        page.wait_for_selector("#detail:not([hidden])")
        assert page.locator("#d-title").inner_text() == "<b>id</b>\"'&</script>"
        assert page.evaluate("window.__pwned") is None

    @pytest.mark.parametrize(
        "fragment", ["#dp=%E0%A4%A", "#dp=nope", "#dp=", "#summary"]
    )
    def test_a_bad_or_unknown_permalink_opens_nothing(
        self, browser, report_file, fragment
    ):
        p = _open(browser, report_file, fragment)
        try:
            assert p.page.locator("#detail").is_hidden()
            assert p.errors == []
        finally:
            p.page.context.close()
