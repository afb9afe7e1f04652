"""Issue 12, output side: hostile run data on every face, neutralised and never a crash.

The payloads are the issue's own: an id and a slice tag that would be GitHub workflow
commands, model outputs with OSC/CSI sequences, bare URLs and mentions, NaN inside a
JSON-looking output, a lone surrogate, and a metric name a million characters long.
They go through the terminal (a real pytest session with ``GITHUB_ACTIONS=true``,
plain and ``-q``, and the ``runcompare`` command), the annotations, the Markdown, JSON
and HTML reports, and the HTML page in Chromium.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chromium import needs_browser
from report_data import make_records, make_verdicts

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import RunComparisonResult, compare_runs
from pytest_runcompare.diff import LEVEL_NOTES, DiffLevel
from pytest_runcompare.render.github import workflow_commands
from pytest_runcompare.render.html import render_html
from pytest_runcompare.render.json_report import render_json
from pytest_runcompare.render.markdown import render_markdown
from pytest_runcompare.render.terminal import failure_message, gate_table, session_lines

ID = "q1\n::error file=README.md,line=1::all gates passed (injected)"
TAG = "lang:en\n::add-mask::FAILED"
METRIC = "m\x1b]0;t\x07\n::error::metric"
SURROGATE_TAG = "tag\udc00"
LONG_METRIC = "n" * 1_000_000
TERMINAL = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred"
LINKS = "see https://evil.example/x www.evil.com a@b.co @octocat #123 GH-7 |pipe| `t`"
NAN_JSON = '{"score": NaN, "note": "fine"}'
LONE = "lone \ud800 surrogate"

ID_SHOWN = "q1\\x0a::error file=README.md,line=1::all gates passed (injected)"
TAG_SHOWN = "lang:en\\x0a::add-mask::FAILED"
METRIC_SHOWN = "m\\x1b]0;t\\x07\\x0a::error::metric"
#: Our own annotations: the only lines a CI log may see start with ``::``.
OURS = re.compile(
    r"^::(error|warning) file=runcompare\.yaml,line=\d+,title=runcompare [^:]*::\S"
)


def _unrelated(seed: int) -> str:
    """A long text of five words, unrelated to another one (too costly to diff)."""
    rng = random.Random(seed)
    return " ".join(rng.choice("abcde") for _ in range(3_500))


def _records(candidate: bool) -> list[dict[str, Any]]:
    records = make_records(60, candidate=candidate, seed=3 if candidate else 1)
    records[1]["id"] = ID
    for k, rec in enumerate(records):
        if k % 2:
            rec["slices"].append(TAG)
        if k % 3 == 0:
            rec["slices"].append(SURROGATE_TAG)
        rec["metrics"][METRIC] = (0.4 if candidate else 0.7) + (k % 5) / 100
        if candidate and k == 1:
            rec["metrics"][METRIC] = 0.0  # the worst regression: listed by its id
        rec["metrics"][LONG_METRIC] = (k % 3) / 10 + (0.1 if candidate else 0.0)
    if candidate:
        records[3]["output"] = f"{TERMINAL} {LINKS}"
        records[6]["output"] = NAN_JSON
        records[7]["output"] = LONE
        records[8]["output"] = _unrelated(1)  # too costly word by word: lines
    else:
        records[8]["output"] = _unrelated(2)
    if not candidate:
        records[6]["output"] = '{"score": 1, "note": "fine"}'
    return records


@pytest.fixture(scope="module")
def hostile() -> RunComparisonResult:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUNCOMPARE_MAX_TEXT_CHARS", "2000000")  # the readers' bound, lifted
        base = build_run(_records(False), {"name": "base @octocat"})
        cand = build_run(_records(True), {"name": "cand\n::error::name\x07"})
    return compare_runs(base, cand)


@pytest.fixture(scope="module")
def judgement(hostile: RunComparisonResult) -> Any:
    from pytest_runcompare.config import GateSpec
    from pytest_runcompare.judge import Gate, RunPolicy
    from pytest_runcompare.pipeline import GateResult, Judgement, Status

    template = make_verdicts(hostile)[0]
    results = []
    for line, (metric, slice_) in enumerate(
        [("accuracy", TAG), (METRIC, None), (LONG_METRIC, None), ("f1", SURROGATE_TAG)],
        start=3,
    ):
        gate = Gate(metric=metric, slice=slice_, margin="0.02")
        verdict = dataclasses.replace(
            template,
            gate=gate,
            key=gate.key,
            text=f"{gate.key}: FAIL, worse by more than the margin",
            warnings=(f"few datapoints in {gate.key}",),
        )
        results.append(GateResult(GateSpec(gate, line), verdict, Status.FAILED))
    return Judgement(
        results=tuple(results),
        warn_only=(),
        compatibility=hostile.compatibility,
        compatibility_policy=RunPolicy.FAIL,
        incomplete_policy=RunPolicy.FAIL,
        seed=0,
        numpy_version="2.0",
        scipy_version="1.14",
    )


def _assert_log_safe(text: str) -> None:
    """No ESC or BEL anywhere, and no line a CI runner reads as a command but ours."""
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("::", "##[")):
            assert OURS.match(stripped), line


# ------------------------------------------------------------------ terminal, CI log
def test_terminal_table_notes_and_failure_messages_are_log_safe(hostile, judgement):
    lines = [line.text for line in gate_table(judgement)]
    lines += [line.text for line in session_lines(judgement, ungated=[METRIC])]
    for result in judgement.results:
        lines.append(failure_message(result, hostile, report="r.html"))
    text = "\n".join(lines)
    _assert_log_safe(text)
    assert f"accuracy[{TAG_SHOWN}]" in text
    assert METRIC_SHOWN in text
    assert "f1[tag\\udc00]" in text
    # the worst regressed datapoints: the id and the outputs shown escaped
    assert f"  {ID_SHOWN}: " in text
    # a million-character name is cut, visibly, in the table
    assert "n" * 200 + "…[cut: 1,000,000 chars, #" in text
    assert max(len(line) for line in text.splitlines()) < 3_000


def test_annotations_are_one_line_each_and_name_the_gate_escaped(judgement):
    commands = workflow_commands(judgement, "runcompare.yaml")
    assert len(commands) == 4
    for command in commands:
        assert "\n" not in command
        assert "\x1b" not in command
        assert OURS.match(command), command
    assert commands[0] == (
        "::error file=runcompare.yaml,line=3,title=runcompare accuracy[lang%3Aen\\x0a"
        "%3A%3Aadd-mask%3A%3AFAILED]::accuracy[lang:en\\x0a::add-mask::FAILED]: FAIL, "
        "worse by more than the margin"
    )
    assert commands[1].endswith(
        f"::{METRIC_SHOWN}: FAIL, worse by more than the margin"
    )
    assert len(commands[2]) < 3_000


# ------------------------------------------------------------------ report files
def test_markdown_breaks_links_and_mentions_and_shows_controls_escaped(
    hostile, judgement
):
    md = render_markdown(hostile, judgement, html_path="https://ci.example/r.html")
    md.encode("utf-8")  # a lone surrogate would make this raise
    assert "\x1b" not in md
    assert "\x07" not in md
    assert "\ud800" not in md
    assert "\udc00" not in md
    # run data gives GitHub nothing to link or notify
    body = md.rsplit("\n", 2)[0]  # all but the last line, our own link to the report
    for bare in ("://", "www.", "@octocat", "#123", "GH-7"):
        assert bare not in body, bare
    assert "@\u200boctocat" in md  # the run name "base @octocat"
    # ... while our link to the report stays a link
    assert md.rstrip().endswith("https://ci.example/r.html")
    # a control character and a lone surrogate show as their escapes
    assert "m\\\\x1b\\]0;t\\\\x07 ::error::metric" in md
    assert "tag\\\\udc00" in md
    assert "cand ::error::name\\\\x07" in md


def test_markdown_cell_escaping_of_links_refs_pipes_and_backticks():
    from pytest_runcompare.render.markdown import md_escape

    assert md_escape("https://x.io www.y.org") == "https:\u2060//x.io www\u2060.y.org"
    assert md_escape("#123 gh-4 a@b.co") == "\\#\u2060123 gh\u2060-4 a@\u200bb.co"
    assert md_escape("a|b `c` <d>") == "a\\|b \\`c\\` &lt;d&gt;"
    assert md_escape("bell\x07") == "bell\\\\x07"
    assert md_escape("https://x.io", links=True) == "https://x.io"


def test_json_report_writes_and_reads_back_every_string(hostile, judgement):
    text = render_json(hostile, judgement)
    text.encode("utf-8")
    data = json.loads(text)
    assert SURROGATE_TAG in data["slices"]  # the escape reads back the same
    assert ID in data["metrics"][METRIC]["degraded_ids"]
    assert METRIC in data["metrics"]


def test_html_report_survives_nan_surrogates_and_a_huge_name(hostile, judgement):
    html = render_html(hostile, judgement)
    html.encode("utf-8")
    assert "\x1b" not in html
    assert "\x07" not in html
    # a million-character metric name makes no million-character report
    assert len(html) < 600_000
    assert "n" * 200 + "…[cut: 1,000,000 chars, #" in html
    assert "n" * (2_000 + 1) not in html  # sentences around it are cut at 2,000
    data = json.loads(
        re.search(
            r'<script type="application/json" id="rc-data">(.*?)</script>', html, re.S
        )[1]
    )
    by_id = {data["ids"][d["row"]]: d for d in data["details"]}
    # NaN in a model's JSON output: shown as the model wrote it, not a crash
    assert ["$.score", "changed", "1", "NaN"] in by_id["q0006"]["json"]
    # a lone surrogate: its escape shown as text
    new = "".join(text for op, text in by_id["q0007"]["seg"] if op != "-")
    assert new == "lone \\ud800 surrogate"
    assert ID_SHOWN in data["ids"]
    # a diff past its bound is coarser, and the page is told so
    assert by_id["q0008"]["diff_note"] == LEVEL_NOTES[DiffLevel.LINE]
    assert "diff_note" not in by_id["q0006"]


def test_fixture_assertions_show_ids_escaped(hostile):
    from pytest_runcompare.assertions import RunCompareAssertions

    check = RunCompareAssertions(hostile, request=None)  # type: ignore[arg-type]
    with pytest.raises(AssertionError) as raised:
        check.assert_outputs_unchanged(ids=[ID, "q0003", "nowhere\x1b[2J"])
    assert str(raised.value) == ("1 datapoint(s) are not in both runs: nowhere\\x1b[2J")
    with pytest.raises(AssertionError) as raised:
        check.assert_outputs_unchanged(ids=[ID, "q0003"])
    message = str(raised.value)
    _assert_log_safe(message)
    assert message.startswith(f"2 output(s) changed:\n  {ID_SHOWN}: 'plain answer' -> ")
    assert "\\x1b]0;pwned\\x07" in message


def test_pytest_html_extras_show_run_data_escaped(judgement):
    from pytest_runcompare.render.extras import verdict_extras_html

    html = verdict_extras_html(judgement.results)
    html.encode("utf-8")
    assert "\x1b" not in html
    assert f"<code>accuracy[{TAG_SHOWN}]</code>" in html
    assert "<code>f1[tag\\udc00]</code>" in html
    assert "n" * 201 not in html


# ------------------------------------------------------------------ real sessions
GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
metrics:
  exact_match:
    margin: 0.05
    slices: all
  score:
    margin: 2%
report:
  html: report/r.html
  markdown: report/r.md
  json: report/r.json
"""


def _write_repo(root: Path) -> None:
    def records(candidate: bool) -> list[dict[str, Any]]:
        out = []
        for i in range(200):
            output = f"answer {i}"
            if candidate and i == 1:
                output = f"{TERMINAL} {LINKS}"
            if i == 3:
                output = NAN_JSON if candidate else '{"score": 1}'
            out.append(
                {
                    "id": ID if i == 1 else f"q{i}",
                    "output": output,
                    "metrics": {
                        "exact_match": i % (3 if candidate else 5) != 0,
                        "score": 0.5 + (i % 7) / 20 - (0.1 if candidate else 0.0),
                        METRIC: 0.5 if candidate else 0.7,
                    },
                    "slices": [TAG if i % 2 else "lang:de"],
                }
            )
        return out

    (root / "runs").mkdir()
    for name, candidate in (("baseline", False), ("candidate", True)):
        head = {"run": {"name": name + ("\n::error::name" if candidate else "")}}
        lines = [json.dumps(head)] + [json.dumps(r) for r in records(candidate)]
        (root / "runs" / f"{name}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    (root / "runcompare.yaml").write_text(GATES, "utf-8")


@pytest.mark.parametrize("quiet", [False, True], ids=["plain", "-q"])
def test_pytest_session_under_github_actions_prints_nothing_raw(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, quiet: bool
):
    _write_repo(pytester.path)
    pytester.makeini("[pytest]\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    args = ["--color=no", "-p", "no:randomly", "-p", "no:cacheprovider"]
    result = pytester.runpytest_subprocess(*args, *(["-q"] if quiet else []))
    assert result.ret == 1
    out = result.stdout.str() + result.stderr.str()
    _assert_log_safe(out)
    ours = [line for line in result.outlines if line.startswith("::")]
    assert len(ours) == 4  # exact_match, its two slices, score
    assert any(f"[{TAG_SHOWN}]" in line for line in result.outlines)
    assert f"{ID_SHOWN}: " in out  # a worst regressed datapoint of the score gate
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out
    # NaN in an output did not cost the session its reports
    for name in ("r.html", "r.md", "r.json"):
        assert (pytester.path / "report" / name).stat().st_size > 0


def test_runcompare_command_prints_nothing_raw(tmp_path: Path):
    _write_repo(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_runcompare.cli",
            "compare",
            "runs/baseline.jsonl",
            "runs/candidate.jsonl",
            "--config",
            "runcompare.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITHUB_ACTIONS": "true"},
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout + done.stderr
    _assert_log_safe(out)
    assert not [line for line in out.splitlines() if line.lstrip().startswith("::")]
    assert "candidate: candidate\\x0a::error::name (200 datapoints)" in done.stdout
    assert f"FAILED exact_match[{TAG_SHOWN}]: " in done.stdout
    assert f"  {ID_SHOWN}: " in done.stdout
    assert (tmp_path / "report" / "r.html").stat().st_size > 0


# ------------------------------------------------------------------ the page itself
@needs_browser
def test_hostile_page_in_chromium_runs_no_script_and_shows_escapes(
    tmp_path: Path, hostile, judgement, browser
):
    path = tmp_path / "hostile.html"
    path.write_text(render_html(hostile, judgement), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)
    title = page.title()
    for dp, check in (
        ("q0006", "NaN"),
        ("q0007", "lone \\ud800 surrogate"),
        ("q0008", "diffed line by line"),
    ):
        page.fill("#f-search", dp)
        page.wait_for_timeout(200)
        page.locator("#explorer-body tr", has_text=dp).first.click()
        page.wait_for_selector("#detail:not([hidden])")
        detail = page.locator("#detail").inner_text()
        assert check in detail, detail
        page.click("#d-close")
    page.screenshot(path=str(tmp_path / "detail.png"))
    pwned = page.evaluate("window.__pwned")
    assert errors == []
    assert pwned is None
    assert "\x1b" not in title
    assert title == "cand\\x0a::error::name\\x07 vs base @octocat · runcompare"
