"""The Markdown summary as a pull-request comment: marker, order, datapoints, size."""

from __future__ import annotations

import re
from typing import Any

import pytest
from report_data import (
    HOSTILE_ID,
    HOSTILE_METRIC,
    HOSTILE_OUTPUTS,
    HOSTILE_SLICE,
    make_judgement,
    make_verdicts,
)

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import RunComparisonResult, compare_runs
from pytest_runcompare.render.markdown import (
    GITHUB_COMMENT_LIMIT,
    datapoint_link,
    marker_line,
    render_markdown,
    utf16_len,
)

URL = "https://ci.example/artifacts/42/report.html"


def _verdict(
    comparison: RunComparisonResult,
    metric: str,
    slice_: str | None,
    outcome: str,
    *,
    declared: bool = True,
) -> Any:
    """A verdict by hand, with the comparison's real figures (like report_data's)."""
    from pytest_runcompare.judge import Gate, Outcome, Verdict

    gate = Gate(metric=metric, slice=slice_, margin="0.02", declared=declared)
    d = comparison.get_metric_delta(metric, slice=slice_)
    est = d.oriented_delta or 0.0
    return Verdict(
        gate=gate,
        key=gate.key,
        outcome=Outcome(outcome),
        passed=outcome == "pass",
        improved=False,
        text=f"{gate.key}: {outcome}",
        warnings=(),
        baseline_aggregate=d.old_aggregate or 0.0,
        candidate_aggregate=d.new_aggregate or 0.0,
        estimate=est,
        bound=est - 0.05,
        ci_low=est - 0.06,
        ci_high=est + 0.06,
        confidence_level=0.9,
        margin=0.02,
        margin_text="0.02",
        p_value=0.5,
        p_adjusted=None,
        test="Tango score",
        test_reason="binary metric",
        tests_what="difference of rates",
        n_paired=d.n_paired,
        improved_count=d.improved_count,
        degraded_count=d.degraded_count,
        unchanged_count=d.unchanged_count,
        seed=0,
        numpy_version="2.0",
        scipy_version="1.14",
    )


def _run(records: list[dict[str, Any]], name: str) -> Any:
    return build_run(
        records,
        {
            "name": name,
            "metric_definitions": {"loss": {"higher_is_better": False}},
        },
    )


def test_marker_is_the_first_line_and_cannot_end_the_comment(comparison, judgement):
    md = render_markdown(comparison, judgement, marker="ci/gates.yaml")
    assert md.splitlines()[0] == "<!-- runcompare:ci/gates.yaml -->"
    assert marker_line("a --> <b>x</b>") == "<!-- runcompare:a_-____b_x_/b_ -->"
    assert marker_line("") == "<!-- runcompare:runcompare -->"


def test_header_does_not_double_the_role_words():
    base = _run(
        [{"id": "a", "output": "x", "metrics": {"ok": 1.0}}], "baseline (C=1.0)"
    )
    cand = _run(
        [{"id": "a", "output": "x", "metrics": {"ok": 1.0}}], "candidate (C=0.5)"
    )
    comparison = compare_runs(base, cand)
    judgement = make_judgement(comparison, [_verdict(comparison, "ok", None, "pass")])
    head = render_markdown(comparison, judgement).splitlines()[1]
    assert head == (
        "✅ **runcompare: PASS, all 1 gates passed** · candidate (C=0.5) vs "
        "baseline (C=1.0)"
    )


def test_regressed_metrics_use_the_oriented_sign():
    """A lower-is-better loss that rose is a negative change, as in the gates table."""
    base = _run(
        [{"id": f"q{k}", "output": "x", "metrics": {"loss": 1.0}} for k in range(4)],
        "old",
    )
    cand = _run(
        [{"id": f"q{k}", "output": "y", "metrics": {"loss": 1.5}} for k in range(4)],
        "new",
    )
    comparison = compare_runs(base, cand)
    judgement = make_judgement(comparison, [_verdict(comparison, "loss", None, "fail")])
    md = render_markdown(comparison, judgement)
    assert "**Regressed metrics (+ = better):** loss −0.5 (−50%)" in md
    assert "| ❌ | loss | fail | 1.000 | 1.500 | -0.500 |" in md


def test_failing_gates_come_first_and_warn_only_ones_are_collapsed(comparison):
    verdicts = make_verdicts(comparison)
    passing_warn_only = _verdict(comparison, "f1", "lang:en", "pass", declared=False)
    judgement = make_judgement(comparison, [*verdicts, passing_warn_only])
    md = render_markdown(comparison, judgement)
    table = [
        line.split(" | ")[1]
        for line in md.splitlines()
        if line.startswith(("| ❌", "| ✅", "| ⚠️"))
    ]
    # failing (the inconclusive one that fails among them), then passing, then the
    # warn-only gate that regressed; the warn-only gate that passed is not listed
    assert table[:4] == ["accuracy", "f1", "accuracy\\[lang:de\\]", "latency\\_s"]
    assert "f1\\[lang:en\\]" not in md
    details = md[md.index("<details><summary>⚠️") :]
    assert details.startswith(
        "<details><summary>⚠️ 1 warn-only slice gates regressed (of 2 judged; they "
        "never fail the build)</summary>\n\n| | gate |"
    )
    assert "| ⚠️ | f1\\[hard\\] (warn-only) | warn-only fail |" in details


def test_worst_datapoints_of_each_failing_gate_link_into_the_report(
    comparison, judgement
):
    md = render_markdown(comparison, judgement, report_url=URL)
    summaries = re.findall(r"<details><summary>(.*?)</summary>", md)
    assert summaries[:3] == [
        "accuracy: the 5 worst regressed datapoints",
        "f1: the 5 worst regressed datapoints",
        "accuracy[lang:de]: the 2 worst regressed datapoints",  # only 2 got worse
    ]
    block = md[md.index("<details><summary>accuracy:") :]
    block = block[: block.index("</details>")]
    rows = [line for line in block.splitlines() if line.startswith("| [")]
    assert len(rows) == 5
    assert rows[0].startswith(f"| [q0000]({URL}#dp=q0000) | 1 → 0 | ")
    assert "berlin" in rows[0]  # the new, wrong answer
    assert md.rstrip().endswith(f"[Full report, with every changed output]({URL})")


def test_hostile_ids_and_outputs_are_escaped_in_links_and_details(comparison):
    verdicts = [
        _verdict(comparison, "f1", None, "fail"),
        _verdict(comparison, HOSTILE_METRIC, HOSTILE_SLICE, "fail"),
    ]
    md = render_markdown(
        comparison, make_judgement(comparison, verdicts), report_url=URL
    )
    for hostile in (HOSTILE_ID, *HOSTILE_OUTPUTS):
        assert hostile not in md
    assert "<script" not in md
    assert "<img" not in md
    # inside the raw HTML of <summary> Markdown is not read: HTML-escaped only
    assert (
        "<summary>&lt;i&gt;f1&lt;/i&gt;[lang:&lt;svg onload=alert(1)&gt;]: the worst "
        "regressed datapoint</summary>"
    ) in md
    link = datapoint_link(URL, HOSTILE_ID)
    assert link == f"{URL}#dp=%3Cb%3Eid%3C%2Fb%3E%22'%26%3C%2Fscript%3E"  # as the page
    assert datapoint_link("https://x.example/a b(1).html#old", "q (1)") == (
        "https://x.example/a%20b%281%29.html#dp=q%20%281%29"
    )


def test_long_outputs_are_cut_and_shown_from_their_first_difference():
    common = "Step by step: " + "the answer follows from the premises. " * 20
    base = _run([{"id": "q1", "output": common + "PARIS", "metrics": {"ok": 1}}], "a")
    cand = _run([{"id": "q1", "output": common + "BERLIN", "metrics": {"ok": 0}}], "b")
    comparison = compare_runs(base, cand)
    judgement = make_judgement(comparison, [_verdict(comparison, "ok", None, "fail")])
    md = render_markdown(comparison, judgement)
    row = next(line for line in md.splitlines() if line.startswith("| q1 |"))
    assert (
        row == "| q1 | 1 → 0 | …from the premises. PARIS | …from the premises. BERLIN |"
    )


def test_absolute_report_path_shows_only_its_name(comparison, judgement):
    md = render_markdown(
        comparison, judgement, html_path="/home/runner/work/r/out.html"
    )
    assert "/home/runner" not in md
    assert md.rstrip().endswith("Full report, with every changed output: out.html")


@pytest.fixture(scope="module")
def huge() -> tuple[RunComparisonResult, Any]:
    """500 failing slice gates with long names, and 20,000-character outputs."""
    n = 1000
    tags = [f"topic:{k:03d}-" + "x" * 150 for k in range(500)]

    def records(candidate: bool) -> list[dict[str, Any]]:
        return [
            {
                "id": f"q{k:04d}",
                "output": f"{'new' if candidate else 'old'} {k} <b>" + "w " * 10_000,
                "metrics": {"ok": 0.0 if candidate and k < 500 else 1.0},
                "slices": [tags[k % 500]],
            }
            for k in range(n)
        ]

    comparison = compare_runs(_run(records(False), "old"), _run(records(True), "new"))
    verdicts = [_verdict(comparison, "ok", tag, "fail") for tag in tags]
    verdicts += [_verdict(comparison, "ok", None, "pass")]
    verdicts += [
        _verdict(comparison, "ok", tag, "fail", declared=False) for tag in tags[:300]
    ]
    return comparison, make_judgement(comparison, verdicts)


@pytest.mark.parametrize("max_rows", [100, 10_000])
def test_500_failing_gates_stay_under_the_comment_limit(huge, max_rows):
    comparison, judgement = huge
    md = render_markdown(comparison, judgement, max_rows=max_rows, report_url=URL)
    assert utf16_len(md) < GITHUB_COMMENT_LIMIT
    assert md.splitlines()[1].startswith("❌ **runcompare: FAIL, 500 of 501 gates")
    # the failing gates are what is kept first; the rest is said to be left out
    assert md.count("| ❌ |") >= 100
    assert "| ✅ |" not in md
    assert "failing the run (see the full report)." in md
    assert "<details><summary>ok[topic:000-" in md
    assert max(len(line) for line in md.splitlines()) < 2_000  # outputs were cut
    assert md.rstrip().endswith(f"[Full report, with every changed output]({URL})")


def test_shortened_summary_says_so(huge):
    comparison, judgement = huge
    md = render_markdown(comparison, judgement, max_rows=10_000)
    assert (
        "*Shortened to stay under GitHub's 65,536-character comment limit; the full "
        "report has everything.*"
    ) in md
    small = render_markdown(comparison, judgement, max_rows=3)
    assert "Shortened" not in small
    assert "… and 498 more gates, 497 failing the run (see the full report)." in small


def test_report_url_comes_from_the_option_over_the_gates_file(tmp_path, monkeypatch):
    from pytest_runcompare.config import parse_gates
    from pytest_runcompare.pipeline import build_request

    monkeypatch.chdir(tmp_path)
    gates = {"metrics": {"ok": {"margin": 0.1}}, "report": {"url": URL}}
    config = parse_gates(gates, path=tmp_path / "ci" / "gates.yaml")
    outputs = build_request(config).outputs
    assert (outputs.url, outputs.marker) == (URL, "ci/gates.yaml")
    other = "https://ci.example/run/7/report.html"
    assert build_request(config, report_url=other).outputs.url == other
    # a gates file outside the current directory is named, never its absolute path
    elsewhere = parse_gates(gates, path=tmp_path.parent / "g.yaml")
    assert build_request(elsewhere).outputs.marker == "g.yaml"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "must be an http:// or https:// URL with a host"),
        ("/home/runner/report.html", "must be an http:// or https:// URL with a host"),
        ("https://x.example/a b.html", "must not hold spaces or control characters"),
        (42, "must be a URL, got int 42"),
    ],
)
def test_a_report_url_that_is_not_http_is_refused(url, problem):
    from pytest_runcompare.config import parse_gates
    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.pipeline import build_request

    with pytest.raises(
        ConfigError, match=rf"^gates: report\.url: {re.escape(problem)}"
    ):
        parse_gates({"metrics": {"ok": {"margin": 0.1}}, "report": {"url": url}})
    config = parse_gates({"metrics": {"ok": {"margin": 0.1}}})
    with pytest.raises(ConfigError, match=rf"^--report-url: {re.escape(problem)}"):
        build_request(config, report_url=url)


def test_cli_report_url_links_the_summary_to_the_report(tmp_path):
    import json

    from pytest_runcompare.cli import main

    def write(name: str, ok: list[int]) -> str:
        head = {
            "run": {
                "name": name,
                "metric_definitions": {"ok": {"higher_is_better": True}},
            }
        }
        rows = [
            {"id": f"q/{k}", "output": f"answer {v}", "metrics": {"ok": v}}
            for k, v in enumerate(ok)
        ]
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(json.dumps(x) for x in [head, *rows]) + "\n")
        return str(path)

    base = write("baseline", [1] * 40)
    cand = write("candidate", [1] * 30 + [0] * 10)
    md = tmp_path / "summary.md"
    code = main(
        [
            "compare",
            base,
            cand,
            "--margin",
            "0.02",
            "--markdown",
            str(md),
            "--html",
            str(tmp_path / "report.html"),
            "--report-url",
            URL,
        ]
    )
    text = md.read_text(encoding="utf-8")
    assert code == 1
    assert text.splitlines()[0] == "<!-- runcompare:runcompare -->"
    assert f"| [q/30]({URL}#dp=q%2F30) | 1 → 0 | answer 1 | answer 0 |" in text
    assert text.rstrip().endswith(f"[Full report, with every changed output]({URL})")
    assert str(tmp_path) not in text


def _pytest_repo(pytester: pytest.Pytester) -> None:
    """A repository whose candidate got 10 of 40 datapoints wrong."""
    import json

    for name, ok in (("baseline", [1] * 40), ("candidate", [1] * 30 + [0] * 10)):
        head = {"run": {"name": name}}
        rows = [
            {"id": f"q{k}", "output": f"answer {v}", "metrics": {"ok": v}}
            for k, v in enumerate(ok)
        ]
        path = pytester.path / "runs" / f"{name}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(json.dumps(x) for x in [head, *rows]) + "\n")
    pytester.makefile(
        ".yaml",
        runcompare=(
            "baseline: runs/baseline.jsonl\ncandidate: runs/candidate.jsonl\n"
            "metrics:\n  ok:\n    direction: higher\n    margin: 0.02\n"
            f"report:\n  url: {URL}\n"
        ),
    )


def test_pytest_option_report_url_links_the_summary(pytester: pytest.Pytester):
    _pytest_repo(pytester)
    other = "https://ci.example/run/7/report.html"
    result = pytester.runpytest(
        "--runcompare-markdown=out.md", f"--runcompare-report-url={other}"
    )
    assert result.ret == 1
    text = (pytester.path / "out.md").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "<!-- runcompare:runcompare.yaml -->"
    assert f"| [q30]({other}#dp=q30) | 1 → 0 | answer 1 | answer 0 |" in text
    assert text.rstrip().endswith(f"[Full report, with every changed output]({other})")
    assert str(pytester.path) not in text
    # without the option, the gates file's report.url
    pytester.runpytest("--runcompare-markdown=out.md")
    text = (pytester.path / "out.md").read_text(encoding="utf-8")
    assert f"| [q30]({URL}#dp=q30) |" in text


def test_pytest_option_report_url_must_be_http(pytester: pytest.Pytester):
    _pytest_repo(pytester)
    result = pytester.runpytest("--runcompare-report-url=file:///tmp/r.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--runcompare-report-url: must be an http:// or https:// URL with a "
            "host, got 'file:///tmp/r.html'*"
        ]
    )
