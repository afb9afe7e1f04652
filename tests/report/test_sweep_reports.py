"""The sweep report's view-model, Markdown summary, JSON and writing, on real sweeps."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from sweep_data import GATES, HOSTILE_LABEL, HOSTILE_PARAM, make_sweep

from pytest_runcompare import pipeline
from pytest_runcompare.config import Require, SweepSettings, parse_gates
from pytest_runcompare.pipeline import Outputs
from pytest_runcompare.render.markdown import utf16_len
from pytest_runcompare.render.sweep_html import render_sweep_html
from pytest_runcompare.render.sweep_json import SWEEP_SCHEMA_VERSION, render_sweep_json
from pytest_runcompare.render.sweep_markdown import render_sweep_markdown
from pytest_runcompare.render.sweep_model import (
    _param_column,
    pair_file_names,
    sweep_view,
)
from pytest_runcompare.render.write import (
    ReportWriteError,
    sweep_pair_paths,
    write_sweep_reports,
)
from pytest_runcompare.sweep import judge_sweep


@pytest.fixture(scope="module")
def made() -> Any:
    return make_sweep(6, hostile=True)


@pytest.fixture(scope="module")
def sweep(made: Any) -> Any:
    return made[0]


def _gate(c: Any, key: str) -> Any:
    return next(r for r in c.judgement.gates if r.key == key)


# --------------------------------------------------------------------------- pairs
def test_pair_file_names_keep_safe_labels_and_make_the_rest_safe_and_unique():
    names = pair_file_names(["cand-01", "a/b", "../x", "A", "a", "con", "", "ü"])
    assert names["cand-01"] == "cand-01.html"
    for label in ("a/b", "../x", "A", "a", "con", "", "ü"):
        assert names[label] != label + ".html"
        assert names[label].endswith(".html")
        stem = names[label][: -len(".html")]
        assert all(ch.isalnum() or ch in "._-" for ch in stem), stem
        assert "/" not in names[label]
        assert not names[label].startswith(".")
    assert names["a/b"].startswith("a_b-")
    assert names["../x"].startswith("x-")
    assert len({n.lower() for n in names.values()}) == len(names)
    assert pair_file_names(["a/b"]) == {"a/b": names["a/b"]}  # same label, same name


def test_pair_paths_go_in_a_folder_beside_the_html_report(tmp_path):
    paths = sweep_pair_paths(tmp_path / "out" / "sweep.html", ["x", "y z"])
    assert paths["x"] == tmp_path / "out" / "sweep.pairs" / "x.html"
    assert paths["y z"].parent == tmp_path / "out" / "sweep.pairs"


# --------------------------------------------------------------------------- model
def test_rows_follow_the_ranking_and_mark_best_and_runner_up(sweep):
    vm = sweep_view(sweep)
    assert [r["label"] for r in vm["rows"]] == [s.label for s in sweep.ranking]
    assert [r["rank"] for r in vm["rows"]] == list(range(1, 7))
    marks = {r["label"]: r["mark"] for r in vm["rows"] if r["mark"]}
    assert marks == {sweep.best.best: "best", sweep.best.runner_up: "runner-up"}
    assert vm["best"]["text"] == sweep.best.text


def test_each_cell_is_the_gates_change_interval_and_tone(sweep):
    vm = sweep_view(sweep)
    assert [g["key"] for g in vm["gates"]] == ["accuracy", "f1", "latency_s"]
    assert [g["hib"] for g in vm["gates"]] == [True, True, False]
    assert [g["ranking"] for g in vm["gates"]] == [True, False, False]
    for row in vm["rows"]:
        c = sweep.candidates[row["i"]]
        for g, cell in zip(vm["gates"], row["cells"], strict=True):
            v = _gate(c, g["key"]).verdict
            assert cell["change"] == pytest.approx(v.estimate)
            assert cell["ci_low"] == pytest.approx(v.ci_low)
            assert cell["value"] == pytest.approx(v.candidate_aggregate)
            assert cell["tone"] == (
                "fail" if _gate(c, g["key"]).fails_session else "pass"
            )
        failing = [r.key for r in c.judgement.gates if r.fails_session]
        assert row["failed"] == failing
        assert row["n_failed"] == len(failing)
        assert row["tone"] == ("pass" if c.passed else "fail")


def test_one_columns_changes_share_their_decimals(sweep):
    vm = sweep_view(sweep)
    for k in range(len(vm["gates"])):
        decimals = {
            len(row["cells"][k]["change_text"].split(".")[-1])
            for row in vm["rows"]
            if "." in row["cells"][k]["change_text"]
        }
        assert len(decimals) == 1, decimals


def test_varying_params_are_axes_and_fixed_ones_are_listed_once(sweep):
    vm = sweep_view(sweep)
    assert vm["varying"] == ["lr", "depth", HOSTILE_PARAM]
    assert vm["fixed"] == [{"name": "optimizer", "value": "adam"}]
    columns = {c["key"]: c for c in vm["plot"]["columns"]}
    assert columns["p:lr"]["kind"] == "log"  # 1e-4 .. 1: four decades
    assert columns["p:depth"]["kind"] == "linear"
    assert columns["p:lr"]["values"][0] == 1e-3  # the baseline first
    assert columns["m:accuracy"]["values"][0] == pytest.approx(
        sweep.candidates[0].judgement.gates[0].verdict.baseline_aggregate
    )
    assert columns["d:accuracy"]["values"][0] == 0.0
    row = vm["rows"][0]
    lr = next(p for p in row["params"] if p["name"] == "lr")
    assert lr["changed"] is (
        sweep.candidate(row["label"]).run.meta.params["lr"] != 1e-3
    )


def test_a_text_param_is_a_categorical_axis_with_missing_values_last():
    column = _param_column("opt", ["sgd", None, "adam", "x10", "x2"])
    assert column["kind"] == "category"
    assert column["categories"] == ["adam", "sgd", "x2", "x10", "—"]
    assert column["values"] == [1, 4, 0, 3, 2]


def test_numbers_spanning_less_than_two_decades_are_linear():
    assert _param_column("c", [1, 2, 50])["kind"] == "linear"
    assert _param_column("c", [0.5, 50])["kind"] == "log"
    assert _param_column("c", [0, 10, 1000])["kind"] == "linear"  # zero: no log
    assert _param_column("flag", [True, False])["kind"] == "category"


def test_an_excused_candidate_is_amber_under_require_any(made):
    _, baseline, candidates = made
    request = pipeline.build_request(parse_gates(GATES))
    sweep = judge_sweep(
        baseline, candidates, request, SweepSettings(require=Require.ANY)
    )
    vm = sweep_view(sweep)
    failing = [r for r in vm["rows"] if not r["passed"]]
    assert failing
    assert {r["tone"] for r in failing} == {"inconclusive"}
    assert {r["word"] for r in failing} == {"fail (excused)"}
    assert all(c["tone"] != "fail" for r in failing for c in r["cells"])
    assert vm["header"]["overall"] == "inconclusive"


# --------------------------------------------------------------------------- html
def test_html_is_deterministic_and_escapes_run_strings(sweep):
    a = render_sweep_html(sweep, pair_links={HOSTILE_LABEL: "report.pairs/x.html"})
    b = render_sweep_html(sweep, pair_links={HOSTILE_LABEL: "report.pairs/x.html"})
    assert a == b
    assert HOSTILE_LABEL not in a
    assert "&lt;img src=x onerror=window.__pwned=5&gt;" in a
    assert "<b>lion</b>" not in a
    assert HOSTILE_PARAM not in a
    assert 'href="report.pairs/x.html"' in a
    assert "http://" not in a.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in a


# --------------------------------------------------------------------------- markdown
def test_markdown_starts_with_its_marker_and_lists_every_candidate(sweep):
    md = render_sweep_markdown(
        sweep, marker="evals/runcompare.yaml", html_path="r.html"
    )
    lines = md.splitlines()
    assert lines[0] == "<!-- runcompare:evals/runcompare.yaml -->"
    assert lines[1] == (
        "❌ **runcompare sweep: FAIL, 3 of 6 candidates pass every gate** · "
        "vs baseline lr=1e-3"
    )
    assert sweep.sentence in lines[3]
    rows = [x for x in lines if x.startswith("| ") and x[2].isdigit()]
    assert len(rows) == 6
    best = next(r for r in rows if "★" in r)
    assert f"**{sweep.best.best}** ★" in best
    cand = sweep.candidate(sweep.best.best)
    v = _gate(cand, "accuracy").verdict
    assert f"| {v.estimate:+.3f} |" in best
    failing = next(r for r in rows if "❌" in r)
    assert failing.endswith("| accuracy |")
    assert any(x.startswith("**Best:** ") for x in lines)
    assert lines[-1] == "Full report, with every changed output: r.html"
    assert HOSTILE_LABEL not in md
    assert "&lt;img src=x onerror=window.\\_\\_pwned=5&gt;" in md


def test_markdown_leaves_rows_out_within_its_limit_failing_ones_kept_first(sweep):
    full = render_sweep_markdown(sweep)
    limit = utf16_len(full) - 60  # less than a row and the note
    md = render_sweep_markdown(sweep, max_chars=limit)
    assert utf16_len(md) <= limit
    rows = [x for x in md.splitlines() if x.startswith("| ") and x[2].isdigit()]
    assert 0 < len(rows) < 6
    fails = sum(1 for c in sweep.candidates if not c.passed)
    assert sum(1 for r in rows if "❌" in r) == fails
    left = 6 - len(rows)
    assert f"… and {left} more candidates (0 failing) left out" in md


# --------------------------------------------------------------------------- json
def test_json_carries_the_schema_and_the_sweeps_dict(sweep):
    text = render_sweep_json(sweep, pairs={"cand-00": "report.pairs/cand-00.html"})
    assert text == render_sweep_json(
        sweep, pairs={"cand-00": "report.pairs/cand-00.html"}
    )
    data = json.loads(text)
    assert list(data)[:3] == ["schema_version", "kind", "generator"]
    assert data["schema_version"] == SWEEP_SCHEMA_VERSION
    assert data["kind"] == "sweep"
    assert data["sentence"] == sweep.sentence
    assert data["passing"] == list(sweep.passing)
    assert [c["label"] for c in data["candidates"]] == [
        c.label for c in sweep.candidates
    ]
    assert data["pair_reports"] == {"cand-00": "report.pairs/cand-00.html"}
    assert "NaN" not in text


# --------------------------------------------------------------------------- write
def test_write_sweep_reports_writes_the_page_its_pairs_markdown_and_json(
    sweep, tmp_path
):
    out = tmp_path / "out"
    written = write_sweep_reports(
        sweep,
        Outputs(
            html=out / "sweep.html",
            markdown=out / "sweep.md",
            json=out / "sweep.json",
            marker="g.yaml",
        ),
    )
    assert written == {
        "html": out / "sweep.html",
        "markdown": out / "sweep.md",
        "json": out / "sweep.json",
        "pairs": out / "sweep.pairs",
    }
    pairs = sorted(p.name for p in (out / "sweep.pairs").iterdir())
    assert len(pairs) == 6
    page = (out / "sweep.html").read_text(encoding="utf-8")
    data = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    for label, href in data["pair_reports"].items():
        assert (out / href).is_file()
        assert f'href="{href}"' in page
        pair = (out / href).read_text(encoding="utf-8")
        assert "runcompare report" in pair
        assert label in pair or "&lt;img" in pair
    assert (
        (out / "sweep.md")
        .read_text(encoding="utf-8")
        .startswith("<!-- runcompare:g.yaml -->\n")
    )


def test_an_excused_candidates_pair_report_says_it_is_excused(made, tmp_path):
    _, baseline, candidates = made
    request = pipeline.build_request(parse_gates(GATES))
    sweep = judge_sweep(
        baseline, candidates, request, SweepSettings(require=Require.ANY)
    )
    out = tmp_path / "out"
    write_sweep_reports(sweep, Outputs(html=out / "sweep.html"))
    pairs = sweep_pair_paths(out / "sweep.html", [c.label for c in sweep.candidates])
    excused = [c for c in sweep.candidates if c.excused is not None]
    assert excused
    assert any(c.passed for c in sweep.candidates)
    for c in sweep.candidates:
        page = pairs[c.label].read_text(encoding="utf-8")
        assert 'id="sweep-back"' in page
        if c.excused is None:
            assert "excused" not in page
        else:
            assert (
                "Its failed gates do not fail the session: the sweep requires at "
                "least one candidate to pass every gate" in page
            )


def test_a_report_inside_a_run_folder_is_refused_and_nothing_is_written(
    sweep, tmp_path
):
    runs = tmp_path / "runs"
    runs.mkdir()
    with pytest.raises(ReportWriteError, match=r"inside the baseline .*runs"):
        write_sweep_reports(
            sweep,
            Outputs(html=runs / "sweep.html", json=tmp_path / "s.json"),
            inputs=[("baseline", runs)],
        )
    assert list(runs.iterdir()) == []
    assert not (tmp_path / "s.json").exists()


def test_a_report_over_an_input_file_is_refused(sweep, tmp_path):
    gates = tmp_path / "runcompare.yaml"
    gates.write_text("metrics: {}\n", encoding="utf-8")
    with pytest.raises(ReportWriteError, match="it is the gates file"):
        write_sweep_reports(
            sweep, Outputs(markdown=gates), inputs=[("gates file", gates)]
        )
    assert gates.read_text(encoding="utf-8") == "metrics: {}\n"


def test_a_pairs_folder_that_is_a_file_is_refused(sweep, tmp_path):
    (tmp_path / "sweep.pairs").write_text("mine", encoding="utf-8")
    with pytest.raises(
        ReportWriteError, match=r"sweep\.pairs: it exists and is not a directory"
    ):
        write_sweep_reports(sweep, Outputs(html=tmp_path / "sweep.html"))
    assert not (tmp_path / "sweep.html").exists()


def test_a_nan_change_is_null_in_json_and_a_dash_in_the_table(sweep):
    vm = sweep_view(sweep)
    values = [c["change"] for r in vm["rows"] for c in r["cells"]]
    assert all(v is None or math.isfinite(v) for v in values)


def test_markdown_of_many_candidates_stays_within_the_comment_limit(sweep):
    from dataclasses import replace

    from pytest_runcompare.render.markdown import MAX_CHARS

    many = tuple(
        replace(c, label=f"{'candidate-with-a-long-name-' * 3}{i:04d}")
        for i in range(700)
        for c in sweep.candidates[i % 6 : i % 6 + 1]
    )
    big = replace(sweep, candidates=many)
    md = render_sweep_markdown(big)
    assert utf16_len(md) <= MAX_CHARS
    rows = [x for x in md.splitlines() if x.startswith("| ") and x[2] in "—0123456789"]
    assert 100 < len(rows) < 700
    fails = sum(1 for c in many if not c.passed)
    assert sum(1 for r in rows if "❌" in r) == min(fails, len(rows))
    assert f"… and {700 - len(rows)} more candidates" in md


# --------------------------------------------------------------------------- example
EXAMPLE = Path(__file__).parents[2] / "examples" / "sklearn_sweep"


@pytest.fixture(scope="module")
def example() -> Any:
    """The shipped scikit-learn grid (C x scaler), judged as its gates file says."""
    from pytest_runcompare.config import load_gates_file
    from pytest_runcompare.loaders.multi import expand_candidates

    config = load_gates_file(EXAMPLE / "runcompare.yaml")
    request = pipeline.build_request(config)
    assert request.baseline is not None
    baseline = pipeline.load(request.baseline)
    runs = [
        (c.label, pipeline.load(c.source)) for c in expand_candidates(config.candidates)
    ]
    return judge_sweep(baseline, runs, request)


def test_the_sklearn_sweep_example_reads_as_its_verdicts(example):
    vm = sweep_view(example)
    rows = {r["label"]: r for r in vm["rows"]}
    assert len(rows) == 8
    assert vm["varying"] == ["C", "scaler"]
    assert [c["kind"] for c in vm["plot"]["columns"][:2]] == ["log", "category"]
    for c in example.candidates:
        row = rows[c.label]
        if c.passed:
            # only inconclusive warn-only slices, none flagged: a plain pass
            flagged = row["n_flagged"]
            assert row["word"] == ("pass, with warnings" if flagged else "pass")
            assert row["tone"] == ("inconclusive" if flagged else "pass")
        else:  # require: any, and two candidates pass: excused, amber
            assert row["word"] == "fail (excused)"
            assert row["tone"] == "inconclusive"
            assert row["failed"] == [r.key for r in c.judgement.failed]
    assert vm["header"]["overall"] == "inconclusive"
    md = render_sweep_markdown(example, marker="runcompare.yaml")
    assert md.splitlines()[1] == (
        "⚠️ **runcompare sweep: PASS, 2 of 8 candidates pass every gate** · vs baseline"
    )
    ranked = [
        x.split(" | ")[2]
        for x in md.splitlines()
        if x[:3] in {f"| {i}" for i in range(1, 9)}
    ]
    assert [r.removeprefix("**").split("**")[0].split(" (")[0] for r in ranked] == [
        s.label for s in example.ranking
    ]


def _readme_block(opening: str, fence: str) -> list[str]:
    """The fenced block of README.md that follows the line ``opening``."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    start = lines.index(fence, lines.index(opening)) + 1
    return lines[start : lines.index("```", start)]


def test_the_readmes_sweep_outputs_are_what_the_renderers_write(example):
    from pytest_runcompare.render.sweep_terminal import sweep_lines

    command = (
        "runcompare compare examples/sklearn_sweep/runs/baseline "
        "'examples/sklearn_sweep/runs/sweep/*' --config "
        "examples/sklearn_sweep/runcompare.yaml"
    )
    table = _readme_block(command, "```text")
    assert table == [
        "baseline: baseline (899 datapoints)",
        *(line.text for line in sweep_lines(example)),
    ]
    markdown = _readme_block("sweep/report.md`):", "```markdown")
    assert (
        markdown
        == render_sweep_markdown(
            example,
            html_path="sweep/report.html",
            marker="examples/sklearn_sweep/runcompare.yaml",
        ).splitlines()
    )
