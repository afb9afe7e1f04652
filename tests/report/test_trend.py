"""The trend of each gated metric over the baseline's generations, in every report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from chromium import needs_browser

from pytest_runcompare.baseline import promote
from pytest_runcompare.building import build_run
from pytest_runcompare.cli import main
from pytest_runcompare.loaders.registry import load_run
from pytest_runcompare.trend import Role, baseline_trend
from pytest_runcompare.writer import save_run

N = 100
GATES = (
    "metrics:\n"
    "  score: {direction: higher, margin: 0.05}\n"
    "  latency: {direction: lower, margin: 5}\n"
)


def _records(shift: float) -> list[dict[str, Any]]:
    return [
        {
            "id": f"q{i}",
            "output": f"a{i}",
            "metrics": {
                "score": round(0.5 + (i % 10) / 40 + shift, 6),
                "latency": 100 + i % 7 - 100 * shift,
            },
        }
        for i in range(N)
    ]


def _write(path: Path, shift: float, commit: str = "a") -> Path:
    meta = {"name": f"shift {shift}", "code_version": {"commit": commit * 40}}
    return save_run(build_run(_records(shift), meta, path=str(path)), path)


def _baseline(tmp_path: Path, promotions: int) -> Path:
    """``baseline.jsonl`` (shift 0) promoted with shifts 0.01, 0.02, ..."""
    path = _write(tmp_path / "runs" / "baseline.jsonl", 0.0)
    for k in range(1, promotions + 1):
        candidate = _write(
            tmp_path / "runs" / "next.jsonl", k / 100, "bcdefghijklmn"[k - 1]
        )
        promote(load_run(candidate), path, outcomes={})
    return path


def _reports(tmp_path: Path, baseline: str, shift: float = 0.025) -> dict[str, str]:
    (tmp_path / "gates.yaml").write_text(GATES)
    candidate = _write(tmp_path / "cand.jsonl", shift, "f")
    out = {k: tmp_path / f"report.{k}" for k in ("html", "md", "json")}
    code = main(
        [
            "compare",
            baseline,
            str(candidate),
            "--config",
            str(tmp_path / "gates.yaml"),
            "--html",
            str(out["html"]),
            "--markdown",
            str(out["md"]),
            "--json",
            str(out["json"]),
        ]
    )
    assert code in (0, 1)
    return {k: p.read_text() for k, p in out.items()}


def test_markdown_has_one_line_per_gated_metric_with_the_candidate_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = _baseline(tmp_path, 3)
    md = _reports(tmp_path, str(baseline))["md"]
    lines = md.splitlines()
    start = lines.index(
        "**Trend** (mean over the last 4 baselines, oldest first; "
        "`runcompare history` lists them):"
    )
    assert lines[start + 2 : start + 4] == [
        "- score: 0.6125 → 0.6225 → 0.6325 → 0.6425 → **0.6375** (candidate)",
        # The smallest step (0.5, the candidate's) sets the decimals.
        "- latency: 102.95 → 101.95 → 100.95 → 99.95 → **100.45** (candidate)",
    ]


def test_html_draws_one_chart_per_metric_with_every_point(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, 3)
    html = _reports(tmp_path, str(baseline))["html"]
    section = html[html.index('<section id="trend">') :]
    section = section[: section.index("</section>")]
    charts = re.findall(r'<svg class="trend-chart (\w+)"', section)
    # The candidate's score is lower than the current baseline's (worse); its
    # latency is higher than the baseline's, and lower is better: worse too.
    assert charts == ["worse", "worse"]
    titles = re.findall(r"<circle class=\"(\w+)\"[^>]*><title>([^<]*)</title>", section)
    assert titles[:5] == [
        ("generation", "generation 0001: 0.6125, aaaaaaa"),
        ("generation", f"generation 0002: 0.6225, bbbbbbb, {_time(section, 1)}"),
        ("generation", f"generation 0003: 0.6325, ccccccc, {_time(section, 2)}"),
        ("baseline", f"baseline (current): 0.6425, ddddddd, {_time(section, 3)}"),
        ("candidate", "candidate: 0.6375, fffffff"),
    ]
    assert len(titles) == 10
    # Higher values are drawn higher: the score rises from left to right.
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', section)[:4]]
    assert ys == sorted(ys, reverse=True)
    assert "<script" not in section
    assert "http" not in section


def _time(section: str, index: int) -> str:
    """The promotion time the index-th logged generation shows (taken from the page)."""
    found = re.findall(r", (\d{4}-\d\d-\d\dT[\d:]+\+00:00)</title>", section)
    return found[index - 1]


def test_json_report_carries_the_trend(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, 2)
    data = json.loads(_reports(tmp_path, str(baseline))["json"])
    score = data["trend"]["metrics"][0]
    assert data["trend"]["baseline"] == str(baseline)
    assert score["metric"] == "score"
    assert [p["label"] for p in score["points"]] == [
        "0001",
        "0002",
        "current",
        "candidate",
    ]
    assert [p["role"] for p in score["points"]] == [
        "generation",
        "generation",
        "baseline",
        "candidate",
    ]
    assert [p["mean"] for p in score["points"]] == pytest.approx(
        [0.6125, 0.6225, 0.6325, 0.6375]
    )


def test_no_history_no_trend_anywhere(tmp_path: Path) -> None:
    baseline = _write(tmp_path / "runs" / "baseline.jsonl", 0.0)
    reports = _reports(tmp_path, str(baseline))
    assert "Trend" not in reports["md"]
    assert 'id="trend"' not in reports["html"]
    assert "trend" not in json.loads(reports["json"])


def test_an_older_generation_ends_its_trend_there(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, 3)
    data = json.loads(_reports(tmp_path, f"{baseline}@previous")["json"])
    points = data["trend"]["metrics"][0]["points"]
    assert [p["label"] for p in points] == ["0001", "0002", "0003", "candidate"]
    assert points[2]["role"] == "baseline"
    assert [p["mean"] for p in points] == pytest.approx(
        [0.6125, 0.6225, 0.6325, 0.6375]
    )


def test_the_trend_shows_the_last_ten_baselines(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, 12)
    trend = baseline_trend(
        str(baseline),
        load_run(baseline),
        load_run(_write(tmp_path / "cand.jsonl", 0.5)),
        [("score", True)],
    )
    assert trend is not None
    points = trend.metrics[0].points
    assert [p.label for p in points] == [
        *(f"{n:04d}" for n in range(4, 13)),
        "current",
        "candidate",
    ]
    assert [p.role for p in points][-2:] == [Role.BASELINE, Role.CANDIDATE]
    assert [p.mean for p in points] == pytest.approx(
        [0.6125 + k / 100 for k in range(3, 13)] + [0.6125 + 0.5]
    )


EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_classifier"


def test_the_readme_trend_lines_are_the_bundled_examples(tmp_path: Path) -> None:
    import shutil

    from pytest_runcompare.render.markdown import md_escape
    from pytest_runcompare.render.trend_view import markdown_lines

    runs = tmp_path / "runs"
    shutil.copytree(EXAMPLE / "runs", runs)
    baseline = runs / "baseline"
    # As the README's history: to C=0.5, to the regressed candidate, back to C=0.5.
    for name in ("candidate", "candidate_regressed", "candidate"):
        promote(load_run(runs / name), baseline, outcomes={})
    regressed = load_run(runs / "candidate_regressed")
    metrics = [("correct", True), ("p_true", True), ("log_loss", False)]
    trend = baseline_trend(str(baseline), load_run(baseline), regressed, metrics)
    lines = markdown_lines(trend, md_escape)[3:]
    readme = (Path(__file__).parents[2] / "README.md").read_text().splitlines()
    start = readme.index(
        "**Trends.** When the baseline has history, the two-run reports show each gated"
    )
    shown = [line for line in readme[start : start + 20] if line.startswith("- ")]
    assert lines == shown


@needs_browser
def test_the_trend_renders_in_chromium_offline_and_themed(
    tmp_path: Path, browser: Any
) -> None:
    baseline = _baseline(tmp_path, 3)
    _reports(tmp_path, str(baseline))
    report = tmp_path / "report.html"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        requests.append(r.request.url)
        r.continue_() if r.request.url == report.as_uri() else r.abort()

    page.route("**/*", route)
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    assert errors == []
    assert requests == [report.as_uri()]
    charts = page.locator("#trend svg.trend-chart")
    assert charts.count() == 2
    assert charts.first.is_visible()
    # The stylesheet (allowed by its hash) colours the worse candidate's point red.
    fill = page.evaluate(
        "getComputedStyle(document.querySelector("
        "'#trend svg.trend-chart circle.candidate')).fill"
    )
    assert fill == "rgb(198, 47, 58)"
    line = page.evaluate(
        "getComputedStyle(document.querySelector('#trend polyline.history')).fill"
    )
    assert line == "none"
    page.close()
