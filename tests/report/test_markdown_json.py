from __future__ import annotations

import json
import re

import pytest
from report_data import HOSTILE_METRIC, HOSTILE_SLICE, make_judgement

from pytest_runcompare.render.extras import verdict_extras_html
from pytest_runcompare.render.json_report import SCHEMA_VERSION, render_json
from pytest_runcompare.render.markdown import md_escape, render_markdown
from pytest_runcompare.render.model import TestRecord


def test_markdown_has_gate_table_marks_regressions_and_link(comparison, judgement):
    md = render_markdown(comparison, judgement, html_path="artifacts/report.html")
    lines = md.splitlines()
    assert lines[0] == "<!-- runcompare:runcompare -->"
    assert lines[1].startswith(
        "❌ **runcompare: FAIL, 3 of 4 gates failed** (1 warn-only flagged)"
    )
    assert "| ❌ | accuracy | fail | 0.800 | 0.633 | -0.167 | [-0.227, -0.107] |" in md
    assert "| ✅ | latency\\_s | pass |" in md
    # an inconclusive gate whose policy fails the build is a failure, said so
    assert "| ❌ | accuracy\\[lang:de\\] | fail (inconclusive) |" in md
    assert "| ⚠️ | f1\\[hard\\] (warn-only) | warn-only fail |" in md
    assert "**Regressed metrics (+ = better):**" in md
    assert "**Worst slices (+ = better):**" in md
    assert md.rstrip().endswith("artifacts/report.html")


def test_markdown_escapes_untrusted_strings(comparison, judgement):
    md = render_markdown(comparison, judgement)
    for hostile in (HOSTILE_METRIC, HOSTILE_SLICE, "<script>x</script>"):
        assert hostile not in md
    assert "&lt;i&gt;f1&lt;/i&gt;" in md
    # the only markup is our own: the marker and the collapsed sections
    tags = set(re.findall(r"<[^>]*>", md))
    assert tags <= {
        "<!-- runcompare:runcompare -->",
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
    }


def test_md_escape():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("[x](javascript:1)") == "\\[x\\](javascript:1)"
    assert md_escape("ping @octocat") == "ping @\u200boctocat"
    assert md_escape("two\nlines") == "two lines"
    assert md_escape("x" * 200, limit=10) == "x" * 9 + "…"


def test_markdown_caps_rows_failures_first(comparison, judgement):
    md = render_markdown(comparison, judgement, max_rows=2)
    assert md.count("| ❌ |") == 2
    assert "| ✅ |" not in md
    assert "… and 2 more gates, 1 failing the run (see the full report)." in md
    with pytest.raises(ValueError, match="max_rows must be >= 1"):
        render_markdown(comparison, judgement, max_rows=0)


def test_markdown_without_gates(comparison):
    md = render_markdown(comparison, make_judgement(comparison, []))
    assert md.splitlines()[1].startswith("**runcompare: no gates evaluated**")


def test_json_report_is_complete_and_strict(comparison, judgement):
    tests = [TestRecord("t.py::test_x", "failed", "boom")]
    text = render_json(comparison, judgement, tests=tests)
    data = json.loads(text)  # strict: no NaN tokens
    assert "NaN" not in text
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["summary"] == {
        "passed": False,
        "counts": {
            "passed": 1,
            "failed": 3,
            "waived": 0,
            "error": 0,
            "total": 4,
            "inconclusive": 1,
            "warn_only": 1,
            "warnings": 1,
        },
    }
    gates = data["judgement"]["gates"] + data["judgement"]["warn_only"]
    assert [g["key"] for g in gates] == [r.key for r in judgement.gates]
    assert gates[0]["status"] == "failed"
    assert gates[0]["verdict"]["outcome"] == "fail"
    assert gates[0]["verdict"]["gate"]["metric"] == "accuracy"
    assert data["metrics"]["accuracy"]["degraded_count"] == len(
        data["metrics"]["accuracy"]["degraded_ids"]
    )
    assert set(data["slices"]) == set(comparison.slice_names)
    assert set(data["steps"]) == {"retrieve", "answer"}
    assert data["datapoints"]["new_only"] == ["new-1"]
    assert data["datapoints"]["old_only"] == ["gone-1"]
    assert data["tests"] == [
        {
            "nodeid": "t.py::test_x",
            "outcome": "failed",
            "message": "boom",
        }
    ]
    changed = {e["field"] for e in data["lineage"] if e["changed"]}
    assert {"params.lr", "params.prompt", "code_version.commit", "name"} <= changed
    assert render_json(comparison, judgement, tests=tests) == text


def test_extras_html_table_escapes_and_lists_every_gate(judgement):
    snippet = verdict_extras_html(judgement.gates)
    assert snippet.count('class="runcompare-verdict"') == len(judgement.gates)
    assert "<em>" not in snippet
    assert "&lt;em&gt;not markup&lt;/em&gt;" in snippet
    assert "FAIL" in snippet
    assert "PASS" in snippet
    assert verdict_extras_html([]) == ""
