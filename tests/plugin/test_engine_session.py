"""The pytest plugin on the engine path (issue 15): gates judged in DuckDB from Parquet
runs pass and fail as in memory, and every engine problem fails closed with a message."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import (
    make_records,
    outcomes_by_nodeid,
    run_meta,
    summary_section,
    write_run,
)

pytest.importorskip("duckdb")

ENGINE_GATES = """\
baseline: {engine: duckdb, path: runs/baseline.parquet}
candidate: {engine: duckdb, path: runs/candidate.parquet}
metrics:
  score:
    direction: higher
    margin: 0.05
    slices: [lang:de]
"""
PLAIN_GATES = ENGINE_GATES.replace("{engine: duckdb, path: ", "").replace("}", "")


def _repo(pytester: pytest.Pytester, shift: float, gates: str = ENGINE_GATES) -> Path:
    root = pytester.path
    pytester.makeini("[pytest]\n")
    write_run(
        root / "runs" / "baseline.parquet", make_records(1200), run_meta("baseline")
    )
    cand = make_records(1200, shift={(None, "lang:de"): shift})
    write_run(root / "runs" / "candidate.parquet", cand, run_meta("candidate"))
    (root / "runcompare.yaml").write_text(textwrap.dedent(gates), "utf-8")
    return root


def _failure(result: pytest.RunResult, key: str) -> str:
    """The failure text of the gate item ``key`` (its section under FAILURES)."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if f"runcompare gate {key} " in line)
    return lines[start + 1]


def test_an_unchanged_candidate_passes_on_the_engine(pytester: pytest.Pytester) -> None:
    _repo(pytester, 0.0)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert outcomes_by_nodeid(result) == {
        "runcompare.yaml::score": "PASSED",
        "runcompare.yaml::score[lang:de]": "PASSED",
    }
    assert (
        "engine duckdb: 3 gates judged from sufficient statistics, 0 in memory "
        "(small), 0 refused" in summary_section(result)
    )


def test_a_regression_fails_the_same_gates_with_the_same_figures_as_in_memory(
    pytester: pytest.Pytester,
) -> None:
    root = _repo(pytester, -0.1)
    engine = pytester.runpytest(
        "-p", "no:cacheprovider", "-rA", "--runcompare-json", "e.json"
    )
    (root / "runcompare.yaml").write_text(PLAIN_GATES, "utf-8")
    memory = pytester.runpytest(
        "-p", "no:cacheprovider", "-rA", "--runcompare-json", "m.json"
    )
    assert engine.ret == memory.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        outcomes_by_nodeid(engine)
        == outcomes_by_nodeid(memory)
        == {
            "runcompare.yaml::score": "FAILED",
            "runcompare.yaml::score[lang:de]": "FAILED",
        }
    )
    # The whole-run row is the same text; the zero-spread slice row is shown with
    # more digits on the engine path (left to the statistics helpers).
    rows = [
        [line.split() for line in summary_section(r) if line.startswith("score ")]
        for r in (engine, memory)
    ]
    assert rows[0] == rows[1]
    e_gates = json.loads((root / "e.json").read_text())["judgement"]["gates"]
    m_gates = json.loads((root / "m.json").read_text())["judgement"]["gates"]
    assert [(g["key"], g["status"]) for g in e_gates] == [
        (g["key"], g["status"]) for g in m_gates
    ]
    assert json.loads((root / "e.json").read_text())["engine"]["name"] == "duckdb"


def test_the_engine_option_reads_plain_paths_in_the_engine(
    pytester: pytest.Pytester,
) -> None:
    _repo(pytester, 0.0, PLAIN_GATES)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--runcompare-engine", "duckdb"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert any(line.startswith("engine duckdb:") for line in summary_section(result))


def test_a_missing_run_fails_every_gate_naming_the_file_and_what_to_do(
    pytester: pytest.Pytester,
) -> None:
    root = _repo(
        pytester, 0.0, ENGINE_GATES.replace("baseline.parquet", "basline.parquet")
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _failure(result, "score") == (
        f"{root / 'runcompare.yaml'}: gate 'score' was not judged: the duckdb engine "
        f"could not open the runs: run '{root / 'runs' / 'basline.parquet'}' does not "
        f"exist; check the baseline and candidate locations of "
        f"{root / 'runcompare.yaml'} (or --runcompare-baseline / "
        "--runcompare-candidate): the engine path reads existing runs and never "
        "creates a baseline"
    )


def test_without_duckdb_every_gate_fails_saying_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repo(pytester, 0.0)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _failure(result, "score[lang:de]").endswith(
        "gate 'score[lang:de]' was not judged: the duckdb engine could not open the "
        "runs: the DuckDB engine needs the duckdb package: pip install "
        "'pytest-runcompare[engine]'; check the baseline and candidate locations of "
        f"{pytester.path / 'runcompare.yaml'} (or --runcompare-baseline / "
        "--runcompare-candidate): the engine path reads existing runs and never "
        "creates a baseline"
    )


def test_a_gate_the_engine_refuses_fails_with_its_line(
    pytester: pytest.Pytester,
) -> None:
    root = _repo(pytester, 0.0, ENGINE_GATES + "    pairing: none\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _failure(result, "score") == (
        f"score: configuration error: {root / 'runcompare.yaml'}:4: gate 'score': "
        "pairing: none is not judged by the engine path; judge it in memory (without "
        "an engine)"
    )


def test_spark_without_java_fails_every_gate(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pyspark")
    _repo(pytester, 0.0, ENGINE_GATES.replace("duckdb", "spark"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAVA_HOME", "/nonexistent")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "Spark local mode needs a working Java" in _failure(result, "score")


def test_the_runcompare_fixture_names_what_to_use_instead(
    pytester: pytest.Pytester,
) -> None:
    _repo(pytester, 0.0)
    pytester.makepyfile(
        test_model="def test_it(runcompare):\n"
        "    runcompare.assert_no_regression('score', margin=0.05)\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert (
        "test_model.py::test_it: the run_comparison fixture (and runcompare) needs "
        "the runs in memory, datapoint by datapoint, but this session reads them "
        "with the duckdb engine" in text
    )
    assert "@pytest.mark.runcompare(baseline=..., candidate=...)" in text
    assert "Traceback" not in text
    assert "During handling" not in text


def test_promotion_on_the_engine_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _repo(pytester, 0.0)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--runcompare-update-baseline"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "this session reads its runs with the duckdb engine" in result.stderr.str()
