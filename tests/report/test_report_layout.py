"""The HTML report's layout, colours, charts, slices grid and numbers (issue 13).

A real regression is built here: a candidate much worse on one language slice,
judged by the ``runcompare`` command with a gates file, so the page is the one a
reviewer gets. Browser tests (headless Chromium, like ``test_browser.py``) check it
at 1400 x 900; the others read the view-model and the page's bytes.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from chromium import needs_browser

from pytest_runcompare import RunWriter
from pytest_runcompare.cli import main
from pytest_runcompare.render import model
from pytest_runcompare.text import Scale

WIDTH, HEIGHT = 1400, 900
BAD, WARN = "rgb(198, 47, 58)", "rgb(168, 100, 0)"  # --bad, --warn


GATES = """\
metrics:
  accuracy:
    margin: 0.02
    slices: [lang:de]
  f1:
    margin: 0.05          # the data cannot tell: INCONCLUSIVE, which fails the build
  latency_s:
    direction: lower
    margin: 5%
    inconclusive: pass    # INCONCLUSIVE again, passing with a warning
  tokens:
    margin: 0.5           # never changes: a change of exactly zero
"""


def write_run(path: Path, name: str, *, regressed: bool, n: int = 400) -> None:
    """A QA eval over four languages; the regressed candidate breaks German."""
    rng = random.Random(7)
    langs = ["en", "de", "fr", "es"]
    with RunWriter(path, name=name, seed=0) as w:
        for k in range(n):
            lang = langs[k % 4]
            right = rng.random() < 0.85
            f1 = min(1.0, max(0.0, rng.gauss(0.8, 0.1)))
            latency = rng.lognormvariate(0, 0.3)
            if regressed and lang == "de" and rng.random() < 0.45:
                right, f1 = False, max(0.0, f1 - 0.4)
            w.add(
                id=f"q-{k}",
                input=f"question {k}",
                output=("yes" if right else "no") + f" answer {k}",
                expected="yes",
                metrics={
                    "accuracy": right,
                    "f1": f1,
                    "latency_s": latency,
                    "tokens": 12,
                },
                slices=[f"lang:{lang}"] + (["hard"] if k % 7 == 0 else []),
            )


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a regressed comparison: runs, gates file and its HTML report."""
    root = tmp_path_factory.mktemp("regression")
    write_run(root / "baseline", "model@main", regressed=False)
    write_run(root / "candidate", "model@feature", regressed=True)
    (root / "runcompare.yaml").write_text(GATES, encoding="utf-8")
    code = main(
        [
            "compare",
            str(root / "baseline"),
            str(root / "candidate"),
            "--config",
            str(root / "runcompare.yaml"),
            "--html",
            str(root / "report.html"),
        ]
    )
    assert code == 1  # the regression fails the build
    return root


@pytest.fixture(scope="module")
def page_text(regression: Path) -> str:
    return (regression / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def view(regression: Path) -> dict[str, Any]:
    """The view-model of the same comparison, judged by the same pipeline."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import RunSource, load_gates_file

    config = load_gates_file(regression / "runcompare.yaml")
    request = pipeline.build_request(
        config,
        baseline=RunSource(str(regression / "baseline")),
        candidate=RunSource(str(regression / "candidate")),
    )
    assert request.baseline is not None
    assert request.candidate is not None
    comparison = pipeline.compare(
        pipeline.load(request.baseline), pipeline.load(request.candidate), config
    )
    return model.view_model(comparison, pipeline.judge(comparison, request))


def gate_row(page_text: str, key: str) -> str:
    match = re.search(rf'<tr class="(\w+)" data-key="{re.escape(key)}"', page_text)
    assert match, key
    return match.group(1)


# ------------------------------------------------------------------ colours
def test_inconclusive_is_red_when_it_fails_the_build_and_amber_when_it_passes(
    view: dict[str, Any], page_text: str
) -> None:
    rows = {r["key"]: r for r in view["verdicts"]}
    assert rows["f1"]["outcome"] == "inconclusive"
    assert rows["f1"]["status_word"] == "fail (inconclusive)"
    assert rows["f1"]["tone"] == model.Tone.FAIL
    assert rows["latency_s"]["outcome"] == "inconclusive"
    assert rows["latency_s"]["status_word"] == "inconclusive (passes)"
    assert rows["latency_s"]["tone"] == model.Tone.WARN
    assert gate_row(page_text, "f1") == "fail"
    assert gate_row(page_text, "latency_s") == "inconclusive"
    assert gate_row(page_text, "accuracy[lang:de]") == "fail"
    assert gate_row(page_text, "tokens") == "pass"


def test_a_warn_only_chip_is_amber_even_when_its_data_failed(
    view: dict[str, Any], page_text: str
) -> None:
    flagged = [r for r in view["warn_only"] if r["key"] == "f1[lang:de]"]
    assert flagged
    assert flagged[0]["outcome"] == "fail"
    assert '<span class="wchip inconclusive" title="warn-only fail: ' in page_text
    assert 'class="wchip fail"' not in page_text


# ------------------------------------------------------------------ numbers
def test_a_change_of_zero_reads_0_and_float_noise_is_zero() -> None:
    scale = Scale(0.848, 0.743)
    assert scale.change(1.388e-17) == "0"
    assert scale.change(0.0) == "0"
    assert scale.change(-0.29) == "-0.290"
    assert scale.value(0.75) == "0.750"
    assert scale.change(4.3e-05) == "+4.3e-05"  # real, but below the decimals
    assert Scale.relative(-0.0889) == "-8.9%"
    assert Scale(12.0).value(12) == "12.0"


def test_a_metric_reads_with_the_same_decimals_in_every_table(
    view: dict[str, Any], page_text: str
) -> None:
    tokens = next(d for d in view["deltas"] if d["metric"] == "tokens")
    assert (tokens["old_text"], tokens["delta_text"]) == ("12.0", "0")
    accuracy = [s for s in view["slices"] if s["metric"] == "accuracy"]
    assert {len(s["old_text"].split(".")[1]) for s in accuracy} == {3}
    de = next(s for s in accuracy if s["slice"] == "lang:de")
    assert (de["old_text"], de["new_text"], de["delta_text"]) == (
        "0.750",
        "0.460",
        "\u22120.290",
    )
    assert de["relative_text"] == "\u221238.7%"
    assert not re.search(r"[+\u2212-]\d(\.\d+)?e-1\d", page_text)  # no float noise
    assert '<span class="trend same">0</span>' in page_text  # tokens' zero change


# ------------------------------------------------------------------ distributions
def test_distributions_overlay_baseline_and_candidate_with_their_means(
    view: dict[str, Any],
) -> None:
    f1 = next(d for d in view["distributions"] if d["metric"] == "f1")
    classes = {b["cls"] for b in f1["spread"]["bars"]}
    assert classes == {"old", "new"}
    assert [m["cls"] for m in f1["spread"]["marks"]] == ["m-old", "m-new"]
    assert f1["worse"] + f1["better"] + f1["unchanged"] == 400
    zero = f1["change"]["marks"][0]
    assert zero["cls"] == "zero"
    # bars left of the zero line are worse (f1: higher is better), right of it better
    for bar in f1["change"]["bars"]:
        side = "bad" if bar["x"] + bar["w"] <= zero["x"] + 0.5 else "good"
        assert bar["cls"] == side


def test_a_change_chart_where_every_change_is_the_same_reads_that_value() -> None:
    from pytest_runcompare.building import build_run
    from pytest_runcompare.comparison import compare_runs

    def run(bump: float) -> Any:
        return build_run(
            [{"id": f"q{k}", "metrics": {"score": k + bump}} for k in range(20)],
            {"name": "r"},
        )

    d = model.distribution(compare_runs(run(0.0), run(2.0)), "score")
    change = d["change"]
    assert len(change["bars"]) == 1
    labels = [t["text"] for t in change["ticks"]]
    assert labels == ["0", "+2.0"]  # the metric's decimals (values near 10)
    xs = [t["x"] for t in change["ticks"]]
    assert xs[1] - xs[0] >= 40  # apart, never drawn over each other
    assert 0 < change["bars"][0]["x"] < change["w"]


def test_the_report_is_the_same_bytes_twice(regression: Path) -> None:
    again = regression / "again.html"
    main(
        [
            "compare",
            str(regression / "baseline"),
            str(regression / "candidate"),
            "--config",
            str(regression / "runcompare.yaml"),
            "--html",
            str(again),
        ]
    )
    assert again.read_bytes() == (regression / "report.html").read_bytes()


# ------------------------------------------------------------------ slices grid
def test_the_slice_grid_puts_the_worst_slice_first_and_marks_gates(
    view: dict[str, Any], page_text: str
) -> None:
    grid = view["slice_grid"]
    names = [m["name"] for m in grid["metrics"]]
    assert names == ["accuracy", "f1", "latency_s", "tokens"]
    assert grid["rows"][0]["slice"] == "lang:de"
    worst = [r["worst"] for r in grid["rows"]]
    assert worst == sorted(worst)
    de = grid["rows"][0]["cells"]
    assert de[0]["gated"]
    assert de[0]["flagged"]
    assert de[0]["tone"] == "fail"
    assert not de[1]["gated"]
    assert de[1]["flagged"]
    assert de[1]["tone"] == "inconclusive"
    en = next(r for r in grid["rows"] if r["slice"] == "lang:en")["cells"]
    assert not en[0]["gated"]
    assert not en[0]["flagged"]
    assert page_text.count('class="num cell worse gated flagged fail"') == 1


# ------------------------------------------------------------------ in the browser
@pytest.fixture
def page(browser: Any, regression: Path) -> Any:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((regression / "report.html").as_uri())
    yield page
    context.close()
    assert errors == []


def colour(page: Any, selector: str, prop: str = "color") -> str:
    return str(page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}"))


@needs_browser
def test_screenshot_of_a_regression_at_1400_has_no_scrollbar_and_a_red_gate(
    page: Any, tmp_path: Path
) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert colour(page, "#overall", "backgroundColor") == BAD
    row = '#gates-table tr[data-status][data-key="accuracy[lang:de]"]'
    page.eval_on_selector(row, "e => e.scrollIntoView({block: 'center'})")
    box = page.locator(row).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTH
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= HEIGHT
    # nothing (the sticky header) covers the row: it is what a reviewer sees there
    assert page.evaluate(
        "([s, x, y]) => document.querySelector(s).contains("
        "document.elementFromPoint(x, y))",
        [row, box["x"] + 40, box["y"] + box["height"] / 2],
    )
    assert colour(page, row + " .badge") == BAD
    test_cell = page.locator(row + " td.test").bounding_box()
    assert test_cell is not None
    assert test_cell["x"] + test_cell["width"] <= WIDTH
    shot = tmp_path / "regression-1400x900.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000


@needs_browser
def test_badges_follow_the_policy_in_the_browser(page: Any) -> None:
    assert colour(page, '#gates-table tr[data-status][data-key="f1"] .badge') == BAD
    assert (
        colour(page, '#gates-table tr[data-status][data-key="latency_s"] .badge')
        == WARN
    )
    assert colour(page, ".wchip") == WARN
    assert colour(page, "#slice-grid .mk.fail", "backgroundColor") == BAD


@needs_browser
def test_a_gate_explanation_opens_and_closes_and_sorting_keeps_it_below_its_gate(
    page: Any,
) -> None:
    why = '#gates-table tr.why-row[data-key="tokens"]'
    toggle = '#gates-table tr[data-status][data-key="tokens"] button.why-toggle'
    assert page.locator(why).is_hidden()  # a plain pass starts closed
    page.click(toggle)
    assert page.locator(why).is_visible()
    assert page.get_attribute(toggle, "aria-expanded") == "true"
    page.click(toggle)
    assert page.locator(why).is_hidden()
    assert page.locator('#gates-table tr.why-row[data-key="f1"]').is_visible()
    page.click("#gates-table th:nth-child(6)")  # change, ascending
    keys = page.locator("#gates-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    assert keys[:2] == ["accuracy[lang:de]", "accuracy[lang:de]"]  # row, then why
    assert keys == [k for k in keys[::2] for _ in (0, 1)]  # every pair kept
    assert keys[-2:] == ["tokens", "tokens"]


@needs_browser
def test_the_slice_grid_and_charts_fit_the_window(page: Any) -> None:
    grid = page.locator("#slice-grid").bounding_box()
    assert grid is not None
    assert grid["x"] + grid["width"] <= WIDTH
    first = page.locator("#slice-grid tbody tr").first.locator("td").first
    assert first.inner_text() == "lang:de"
    assert page.locator("#distributions svg.chart").count() == 7  # tokens: no change
    for box in page.locator("#distributions .dist").evaluate_all(
        "ds => ds.map(d => d.getBoundingClientRect().right)"
    ):
        assert box <= WIDTH
