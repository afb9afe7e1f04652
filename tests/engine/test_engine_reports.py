"""The engine path's HTML report and Markdown comment say what the in-memory ones say.

On one generated pair with outputs (3,000 datapoints, the gates of
``engine_data.GATES``, a few hostile ids, tags and outputs among the most changed
datapoints), the engine reports (DuckDB on the JSONL files) must show the in-memory
reports' gate table, verdicts, p-values, messages, metric and slice tables and the
Markdown's worst datapoints, say that they come from the engine path, escape every
string of the runs, and render byte for byte the same twice.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report.chromium import ARGS, CHROMIUM, needs_browser  # tests/report

from pytest_runcompare import pipeline
from pytest_runcompare.config import load_gates_file
from pytest_runcompare.engine import engine_source, open_comparison
from pytest_runcompare.pipeline import Outputs
from pytest_runcompare.render.engine_report import write_engine_reports
from pytest_runcompare.render.html import render_html
from pytest_runcompare.render.markdown import render_markdown

from .engine_data import GATES, records, write_jsonl

N = 3_000
HOSTILE_ID = "<b>id</b>\"'&</script>"
HOSTILE_TAG = "lang:<svg onload=alert(1)>"
HOSTILE_OUTPUTS = (
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2"> @octocat #12 [x](javascript:alert(1)) |',
)


def _with_outputs(recs: list[dict[str, Any]], candidate: bool) -> list[dict[str, Any]]:
    """Outputs on every datapoint; ``d000010`` and ``d000011`` change most, hostile."""
    by_id = {r["id"]: r for r in recs}
    for r in recs:
        word = "yes" if r["metrics"].get("correct") else "no"
        r["output"] = f"the answer to {r['id']} is {word}"
        r["input"] = f"question {r['id']}?"
    for key, text, metric in (
        ("d000010", HOSTILE_OUTPUTS[0], "score"),
        ("d000011", HOSTILE_OUTPUTS[1], "quality"),
    ):
        r = by_id[key]
        r["metrics"][metric] = 0.05 if candidate else 0.95  # the largest change
        r["output"] = text if candidate else "a plain answer"
    hostile = by_id["d000010"]
    if not candidate:
        hostile["output"] = HOSTILE_OUTPUTS[1]
    hostile["id"] = HOSTILE_ID
    hostile["input"] = f"question {HOSTILE_ID}?"
    hostile["slices"] = [*hostile["slices"], HOSTILE_TAG]
    return recs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pair, its gates, and the in-memory and engine judgements and reports."""
    tmp = tmp_path_factory.mktemp("engine_reports")
    base = write_jsonl(
        tmp / "baseline", _with_outputs(records(N, 1, candidate=False), False), "base"
    )
    cand = write_jsonl(
        tmp / "candidate", _with_outputs(records(N, 2, candidate=True), True), "cand"
    )
    gates = tmp / "runcompare.yaml"
    gates.write_text(GATES.format(baseline=base, candidate=cand), encoding="utf-8")
    config = load_gates_file(gates)
    request = pipeline.build_request(config)
    memory = pipeline.compare(
        pipeline.load(str(base)), pipeline.load(str(cand)), config
    )
    judged = pipeline.judge(memory, request)
    out = tmp / "out"
    written = _engine_reports(base, cand, config, request, out)
    return {
        "tmp": tmp,
        "base": base,
        "cand": cand,
        "gates": gates,
        "config": config,
        "request": request,
        "written": written,
        "html": (out / "engine.html").read_text(encoding="utf-8"),
        "markdown": (out / "engine.md").read_text(encoding="utf-8"),
        "memory_html": render_html(memory, judged),
        "memory_markdown": render_markdown(memory, judged, html_path="engine.html"),
    }


def _engine_reports(
    base: Path, cand: Path, config: Any, request: Any, out: Path
) -> list[Path]:
    comparison = open_comparison(
        engine_source(str(base), {"engine": "duckdb"}),
        engine_source(str(cand), {"engine": "duckdb"}),
        config,
    )
    judgement = pipeline.judge_engine(comparison, request)
    outputs = Outputs(
        html=out / "engine.html", markdown=out / "engine.md", json=out / "engine.json"
    )
    return write_engine_reports(comparison, judgement, outputs)


def _element(page: str, element_id: str) -> str:
    """The element of ``page`` with ``id="element_id"`` (a table or a div), whole."""
    start = page.index(f'id="{element_id}"')
    start = page.rindex("<", 0, start)
    tag = re.match(r"<(\w+)", page[start:])
    assert tag is not None
    name = tag.group(1)
    depth, at = 0, start
    for m in re.finditer(rf"<(/?){name}\b", page[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            at = start + m.end()
            break
    return page[start : page.index(">", at) + 1]


def _shown(html: str) -> str:
    """``html`` with each sort key (``data-v``, a float's repr) to 9 digits.

    Sums taken in another order differ in their last bits (the engine tests hold
    statistics equal to a relative 1e-9); every figure shown is the same.
    """

    def nine(m: re.Match[str]) -> str:
        return f'data-v="{float(m.group(1)):.9g}"'

    return re.sub(r'data-v="(-?[0-9.e+-]+)"', nine, html)


def test_the_engine_writes_html_markdown_and_json(runs: dict[str, Any]) -> None:
    assert [p.name for p in runs["written"]] == [
        "engine.html",
        "engine.md",
        "engine.json",
    ]


@pytest.mark.parametrize(
    "element",
    [
        "gates-table",
        "warn-gates-table",
        "metrics-table",
        "slice-grid",
        "slices-table",
        "distributions",
    ],
)
def test_engine_html_tables_equal_the_in_memory_report(
    runs: dict[str, Any], element: str
) -> None:
    # the gate table holds every verdict, p-value, interval and message
    engine = _shown(_element(runs["html"], element))
    assert engine == _shown(_element(runs["memory_html"], element))


def test_engine_html_headline_and_overall_equal_the_in_memory_report(
    runs: dict[str, Any],
) -> None:
    for part in ("overall", "lineage-table"):
        assert _element(runs["html"], part) == _element(runs["memory_html"], part)
    for page in (runs["html"], runs["memory_html"]):
        assert "What needs attention" in page
    head = runs["html"].split("<h2>What needs attention</h2>", 1)[1].split("</ul>")[0]
    mem = runs["memory_html"].split("<h2>What needs attention</h2>", 1)[1]
    assert head == mem.split("</ul>")[0]


def test_engine_html_says_it_came_from_the_engine_path(runs: dict[str, Any]) -> None:
    note = _element(runs["html"], "engine-note")
    assert "Engine path (duckdb)" in note
    assert "per-datapoint detail is limited to the top 20 changed datapoints" in note
    assert "with their outputs" in note
    assert "not every datapoint" in _element(runs["html"], "explorer-note")
    assert 'id="engine-note"' not in runs["memory_html"]


def test_engine_markdown_equals_the_in_memory_summary_but_its_engine_lines(
    runs: dict[str, Any],
) -> None:
    engine = runs["markdown"].splitlines()
    memory = runs["memory_markdown"].splitlines()
    note = [k for k, line in enumerate(engine) if line.startswith("ℹ️ *Engine path")]
    assert len(note) == 1
    assert "top 20 changed datapoints per metric" in engine[note[0]]
    del engine[note[0] - 1 : note[0] + 1]  # the note and its blank line
    assert engine[-1].startswith("Full report (engine path: the top 20 changed")
    assert memory[-1].startswith("Full report, with every changed output")
    # gates, verdicts, p-values, messages, worst datapoints with their outputs
    assert engine[:-1] == memory[:-1]
    assert any("the 5 worst regressed datapoints" in line for line in engine)


def test_hostile_ids_tags_and_outputs_are_escaped(runs: dict[str, Any]) -> None:
    page, md = runs["html"], runs["markdown"]
    assert "window.__pwned" in page  # the outputs are embedded: as data
    for raw in (*HOSTILE_OUTPUTS, HOSTILE_ID, HOSTILE_TAG, "<img src=x", "<svg onload"):
        assert raw not in page
        assert raw not in md
    assert page.count("<script") == 2  # the data block and the page's script
    assert "\\u003c/script\\u003e\\u003cscript\\u003e" in page
    assert "@\u200boctocat" in md
    assert "[x](javascript" not in md  # no link: its brackets are escaped
    assert "\\[x\\](javascript" in md


def test_two_renders_are_byte_identical(runs: dict[str, Any]) -> None:
    again = runs["tmp"] / "again"
    written = _engine_reports(
        runs["base"], runs["cand"], runs["config"], runs["request"], again
    )
    for first, second in zip(runs["written"], written, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_runcompare_compare_engine_writes_every_report(runs: dict[str, Any]) -> None:
    out = runs["tmp"] / "cli"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runcompare.cli",
            "compare",
            "--engine",
            "duckdb",
            "--config",
            str(runs["gates"]),
            str(runs["base"]),
            str(runs["cand"]),
            "--html",
            str(out / "r.html"),
            "--markdown",
            str(out / "r.md"),
            "--json",
            str(out / "r.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    for kind, name in (("html", "r.html"), ("markdown", "r.md"), ("json", "r.json")):
        assert f"{kind} report: {out / name}" in done.stdout
    assert (out / "r.html").read_bytes() == runs["written"][0].read_bytes()
    assert json.loads((out / "r.json").read_text())["engine"]["name"] == "duckdb"


# ------------------------------------------------------------------ in a browser
@pytest.fixture(scope="module")
def page(runs: dict[str, Any]) -> Any:
    """The engine HTML report in headless Chromium, offline; console errors kept."""
    from playwright.sync_api import sync_playwright

    report = runs["written"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.errors, tab.requests = [], []
        tab.on(
            "console",
            lambda m: (
                tab.errors.append(m.text) if m.type in ("error", "warning") else None
            ),
        )
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))

        def route(r: Any) -> None:
            tab.requests.append(r.request.url)
            if r.request.url == report.as_uri():
                r.continue_()
            else:
                r.abort()

        tab.route("**/*", route)
        tab.goto(report.as_uri())
        tab.wait_for_selector("html[data-ready='1']")
        yield tab
        browser.close()


def _open(tab: Any, text: str) -> None:
    tab.select_option("#f-metric", "score")
    tab.fill("#f-search", text)
    tab.wait_for_timeout(200)  # the search box is debounced
    tab.locator("#explorer-body tr", has_text=text).first.click()
    tab.wait_for_selector("#detail:not([hidden])")


@needs_browser
def test_engine_report_in_a_browser_loads_offline_and_diffs_top_datapoints(
    page: Any, tmp_path: Path
) -> None:
    assert page.errors == []
    assert page.requests == [page.url]
    assert page.locator("#overall").inner_text().strip() == "✘ FAIL"
    assert "Engine path (duckdb)" in page.locator("#engine-note").inner_text()
    shown = page.evaluate(
        "JSON.parse(document.getElementById('rc-data').textContent).ids.length"
    )
    assert page.locator("#f-count").inner_text().split(" of ")[-1].split()[0] == str(
        shown
    )
    page.screenshot(path=str(tmp_path / "engine-summary.png"))
    _open(page, "<b>id</b>")
    assert page.locator("#d-title").inner_text() == HOSTILE_ID
    assert page.locator("#d-new").inner_text() == HOSTILE_OUTPUTS[0]
    assert page.locator("#d-old").inner_text() == HOSTILE_OUTPUTS[1]
    assert page.locator("#d-new ins").count() >= 1  # the word diff is drawn
    assert page.locator("#d-input").inner_text() == f"question {HOSTILE_ID}?"
    assert page.locator("#detail img, #detail script, #explorer-body b").count() == 0
    page.screenshot(path=str(tmp_path / "engine-diff.png"))
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []


def _java() -> bool:
    import shutil

    if shutil.which("java") is None:
        return False
    return subprocess.run(["java", "-version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _java(), reason="Spark needs Java: no working `java` on PATH")
def test_spark_reports_equal_the_duckdb_ones(runs: dict[str, Any]) -> None:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    comparison = open_comparison(
        engine_source(str(runs["base"]), {"engine": "spark"}),
        engine_source(str(runs["cand"]), {"engine": "spark"}),
        runs["config"],
    )
    judgement = pipeline.judge_engine(comparison, runs["request"])
    out = runs["tmp"] / "spark"
    outputs = Outputs(html=out / "engine.html", markdown=out / "engine.md")
    html, md = write_engine_reports(comparison, judgement, outputs)

    def same(text: str) -> str:
        return (
            _shown(text)
            .replace("(spark)", "(duckdb)")
            .replace("spark engine:", "duckdb engine:")
        )

    assert same(md.read_text(encoding="utf-8")) == runs["markdown"]
    assert same(html.read_text(encoding="utf-8")) == _shown(runs["html"])


def test_a_run_against_itself_lists_no_datapoint_and_says_none_changed(
    runs: dict[str, Any],
) -> None:
    comparison = open_comparison(
        engine_source(str(runs["base"]), {"engine": "duckdb"}),
        engine_source(str(runs["base"]), {"engine": "duckdb"}),
        runs["config"],
    )
    judgement = pipeline.judge_engine(comparison, runs["request"])
    out = runs["tmp"] / "aa"
    html, md = write_engine_reports(
        comparison, judgement, Outputs(html=out / "r.html", markdown=out / "r.md")
    )
    page = html.read_text(encoding="utf-8")
    assert "per metric (no datapoint changed)." in md.read_text(encoding="utf-8")
    assert '"ids":[]' in page
    assert "their outputs, inputs and diffs were fetched from the engine" in page
