"""The artifact views of the two-run report: confusion matrices, per-class scores
and metric curves (issue 14), in the HTML page, the Markdown summary and the JSON.

A classifier's runs are written here with known counts: three labels (one of them
markup, which must show as text), the candidate mistaking 40 of the 100 birds for
dogs; both runs carry a ``loss`` curve in ``run.yaml`` and the candidate a
``val_accuracy`` one. The page is judged by the ``runcompare`` command and checked
in headless Chromium.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chromium import needs_browser

from pytest_runcompare.cli import main

BIRD = "<b>bird</b>"  # markup in a label: the page must show it as text
#: Per expected label, the baseline's and the candidate's predictions (100 each).
PREDICTIONS = {
    "cat": ({"cat": 95, "dog": 5}, {"cat": 96, "dog": 4}),
    "dog": ({"dog": 90, "cat": 10}, {"dog": 91, "cat": 9}),
    BIRD: ({BIRD: 95, "dog": 5}, {BIRD: 60, "dog": 40}),
}
#: Rows = expected, columns = predicted, labels sorted ("<" before letters).
LABELS = [BIRD, "cat", "dog"]
BASELINE = [[95, 0, 5], [0, 95, 5], [0, 10, 90]]
CANDIDATE = [[60, 0, 40], [0, 96, 4], [0, 9, 91]]


def write_run(path: Path, name: str, role: int, curves: dict[str, Any]) -> None:
    path.mkdir(parents=True)
    lines = []
    for label, sides in PREDICTIONS.items():
        predicted = [p for p, k in sides[role].items() for _ in range(k)]
        for k, output in enumerate(predicted):
            lines.append(
                json.dumps(
                    {
                        "id": f"{label}-{k}",
                        "output": output,
                        "expected": label,
                        "metrics": {"correct": output == label},
                    }
                )
            )
    (path / "datapoints.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {
        "name": name,
        "complete": True,
        "metric_definitions": {
            "correct": {"higher_is_better": True, "kind": "binary"},
            "loss": {"higher_is_better": False},
        },
        "curves": curves,
    }
    (path / "run.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("artifact-views")
    steps = list(range(0, 1000, 10))
    write_run(
        root / "baseline",
        "classifier@main",
        0,
        {"loss": {"step": steps, "value": [2 / (1 + s / 100) for s in steps]}},
    )
    write_run(
        root / "candidate",
        "classifier@feature",
        1,
        {
            "loss": {"step": steps, "value": [2.2 / (1 + s / 80) for s in steps]},
            "val_accuracy": {"value": [0.5, 0.7, 0.8, 0.84, 0.85]},
        },
    )
    for out in (root, root / "again"):
        out.mkdir(exist_ok=True)
        main(
            [
                "compare",
                str(root / "baseline"),
                str(root / "candidate"),
                "--html",
                str(out / "report.html"),
                "--markdown",
                str(out / "report.md"),
                "--json",
                str(out / "report.json"),
            ]
        )
    return root


def test_the_report_bytes_are_the_same_for_the_same_runs(reports: Path) -> None:
    for suffix in ("html", "md", "json"):
        assert (reports / f"report.{suffix}").read_bytes() == (
            reports / "again" / f"report.{suffix}"
        ).read_bytes()


def test_json_report_carries_the_classes_and_the_curves(reports: Path) -> None:
    data = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    views = data["classes"]
    assert views["labels"] == LABELS
    assert views["baseline_matrix"] == BASELINE
    assert views["candidate_matrix"] == CANDIDATE
    assert views["difference"] == [[-35, 0, 35], [0, 1, -1], [0, -1, 1]]
    bird = views["classes"][0]
    assert bird["label"] == BIRD
    assert bird["recall"]["baseline"] == 0.95
    assert bird["recall"]["candidate"] == 0.6
    assert bird["flagged"] is True
    assert [c["flagged"] for c in views["classes"]] == [True, False, True]
    assert views["seed"] == 0
    assert data["curves"]["loss"]["baseline"]["n_points"] == 100
    assert data["curves"]["val_accuracy"]["baseline"] is None
    assert data["curves"]["val_accuracy"]["candidate"]["last"] == 0.85
    assert data["candidate"]["meta"]["curves"]["val_accuracy"]["step"] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_markdown_names_the_flagged_classes_escaped(reports: Path) -> None:
    text = (reports / "report.md").read_text(encoding="utf-8")
    [line] = [x for x in text.splitlines() if "Classes whose F1 got worse" in x]
    assert "&lt;b&gt;bird&lt;/b&gt; F1 0.974 → 0.750" in line
    assert "dog F1" in line  # the false dogs cost the dogs' precision
    assert "<b>" not in text


def test_markdown_has_no_classes_line_without_a_flagged_class(tmp_path: Path) -> None:
    same: dict[str, Any] = {}
    write_run(tmp_path / "a", "a", 0, same)
    write_run(tmp_path / "b", "b", 0, same)
    main(
        [
            "compare",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--markdown",
            str(tmp_path / "s.md"),
            "--html",
            str(tmp_path / "s.html"),
        ]
    )
    assert "Classes whose" not in (tmp_path / "s.md").read_text(encoding="utf-8")
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert 'id="classes"' in page  # the view is there, nothing flagged
    assert 'id="curves"' not in page  # no run carries a curve


def test_a_run_that_is_not_classification_has_no_classes_section(
    tmp_path: Path,
) -> None:
    for name in ("a", "b"):
        path = tmp_path / name
        path.mkdir()
        (path / "run.yaml").write_text(
            "metric_definitions: {m: {higher_is_better: true}}\n", encoding="utf-8"
        )
        (path / "datapoints.jsonl").write_text(
            json.dumps({"id": "1", "output": 0.5, "expected": 1.0, "metrics": {"m": 1}})
            + "\n",
            encoding="utf-8",
        )
    main(
        [
            "compare",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--html",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert 'id="classes"' not in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "r.json").read_text())["classes"] is None


# --------------------------------------------------------------------------- browser
@pytest.fixture
def page(browser: Any, reports: Path) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.requests = []  # type: ignore[attr-defined]
    report = (reports / "report.html").as_uri()
    page.on(
        "console",
        lambda m: (
            page.errors.append(m.text) if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: page.errors.append(str(e)))

    def route(r: Any) -> None:
        page.requests.append(r.request.url)
        if r.request.url == report:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(report)
    page.wait_for_selector("html[data-ready='1']")
    yield page
    context.close()


def cells(page: Any, table: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td.cm-cell')]"
        ".map(td => td.dataset.n))",
    )


@needs_browser
def test_classes_and_curves_render_offline_with_the_right_counts(page: Any) -> None:
    assert page.errors == []
    assert page.requests == [page.url]
    assert page.evaluate("window.__pwned") is None
    assert cells(page, "cm-baseline") == [[str(n) for n in r] for r in BASELINE]
    assert cells(page, "cm-candidate") == [[str(n) for n in r] for r in CANDIDATE]
    assert page.inner_text("#cm-baseline tbody tr:nth-child(1) th") == BIRD
    shown = page.eval_on_selector_all(
        "#cm-difference tbody tr:first-child td.cm-cell",
        "tds => tds.map(td => [td.innerText, td.classList.contains('worse'),"
        " td.classList.contains('better')])",
    )
    # fewer birds right (red on the diagonal), more birds called dogs (red off it)
    assert shown == [
        ["\u221235", True, False],
        ["·", False, False],
        ["+35", True, False],
    ]
    assert page.locator("#cm-difference b").count() == 0  # the label is text
    flagged = page.eval_on_selector_all(
        "#classes-table tbody tr.flagged", "rows => rows.map(r => r.dataset.label)"
    )
    assert flagged == [BIRD, "dog"]
    bird_f1 = page.inner_text("#classes-table tbody tr:first-child td:nth-child(5)")
    assert bird_f1.startswith("0.974 → 0.750")
    charts = page.locator("#curves .curve")
    assert charts.count() == 2
    assert page.locator("#curves [data-curve='loss'] polyline").count() == 2
    assert page.locator("#curves [data-curve='val_accuracy'] polyline.new").count() == 1
    assert page.locator("#curves [data-curve='val_accuracy'] polyline.old").count() == 0
    box = page.locator("#curves [data-curve='loss'] svg").bounding_box()
    assert box["width"] > 300
    assert box["height"] > 150
    page.evaluate("document.querySelector('header.top').style.position = 'static'")
    page.locator("#classes").scroll_into_view_if_needed()
    page.locator("#classes").screenshot(path="/tmp/classes.png")
    page.locator("#curves").screenshot(path="/tmp/curves.png")
