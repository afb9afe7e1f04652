"""Writing the comparison back onto the candidate's MLflow run (``--runcompare-mlflow-log``).

Against a real ``mlflow server``: the metrics and tags logged onto the candidate run
equal the JSON report's numbers and statuses, and the HTML report is its artifact.
Skipped when the ``mlflow`` extra is not installed (CI installs it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.render.mlflow_log import mlflow_names

LOADERS = Path(__file__).resolve().parents[1] / "loaders"


def test_gate_keys_become_distinct_mlflow_names() -> None:
    names = mlflow_names(
        ["exact", "correct[digit:8]", "p95(latency)", "a[b]", "a(b)", "x" * 400]
    )
    assert names["exact"] == "exact"
    assert names["correct[digit:8]"] == "correct_digit_8_"
    assert names["p95(latency)"] == "p95_latency_"
    assert names["a[b]"] == "a_b_"
    assert names["a(b)"] == "a_b__2"
    long = names["x" * 400]
    assert len(f"runcompare.{long}.p_adjusted") <= 250
    assert re.fullmatch(r"x+_[0-9a-f]{8}", long)


def test_a_candidate_that_is_no_mlflow_run_fails_the_session(
    pytester: pytest.Pytester,
) -> None:
    rows = [
        {"id": f"q{i}", "output": "a", "metrics": {"m": i % 2 == 0}} for i in range(30)
    ]
    for name in ("base", "cand"):
        (pytester.path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows)
        )
    (pytester.path / "runcompare.yaml").write_text(
        "baseline: base.jsonl\ncandidate: cand.jsonl\n"
        "defaults: {mode: regression_detection}\nmetrics:\n  m: {}\n"
    )
    pytester.makeini("[pytest]\nruncompare_mlflow_log = true\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "cannot log the comparison onto the candidate */cand.jsonl: it is not an "
            "MLflow run read through a tracking server*"
        ]
    )


def _native_pair(folder: Path, gates_extra: str = "") -> None:
    rows = "".join(
        json.dumps({"id": f"q{i}", "output": "a", "metrics": {"m": i % 2 == 0}}) + "\n"
        for i in range(30)
    )
    for name in ("base", "cand"):
        (folder / f"{name}.jsonl").write_text(rows)
    (folder / "runcompare.yaml").write_text(
        "baseline: base.jsonl\ncandidate: cand.jsonl\n"
        "defaults: {mode: regression_detection}\nmetrics:\n  m: {}\n" + gates_extra
    )


@pytest.mark.parametrize(
    ("ini", "args", "logs"),
    [
        ("", [], True),  # the gates file's report.mlflow
        ("runcompare_mlflow_log = false\n", [], False),  # the ini key over it
        ("runcompare_mlflow_log = false\n", ["--runcompare-mlflow-log"], True),
    ],
)
def test_the_gates_file_asks_unless_the_ini_key_or_the_option_says_otherwise(
    pytester: pytest.Pytester, ini: str, args: list[str], logs: bool
) -> None:
    _native_pair(pytester.path, "report:\n  mlflow: true\n")
    pytester.makeini("[pytest]\n" + ini)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    said = "cannot log the comparison onto the candidate" in result.stdout.str()
    assert said is logs
    assert result.ret == (1 if logs else 0)


def test_report_mlflow_must_be_true_or_false(pytester: pytest.Pytester) -> None:
    _native_pair(pytester.path, "report:\n  mlflow: yes\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*runcompare.yaml:7: report.mlflow: must be true or false, got 'yes'*"]
    )


def test_the_cli_reads_report_mlflow_from_the_gates_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_runcompare.cli import main

    _native_pair(tmp_path, "report:\n  mlflow: true\n")
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "base.jsonl", "cand.jsonl"])
    assert code == 2
    assert "cannot log the comparison onto the candidate" in capsys.readouterr().err


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    sys.path.insert(0, str(LOADERS))
    try:
        import test_mlflow_server
    finally:
        sys.path.remove(str(LOADERS))
    # the loaders' server fixture, started for this module
    yield from test_mlflow_server.tracking_server.__wrapped__(tmp_path_factory)


QUESTIONS = 40


def _log_run(mlflow: Any, name: str, wrong: set[int], slow: set[int]) -> str:
    """A run with an eval table: 40 questions, ``exact`` and ``latency`` per row."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "id": [f"q{i}" for i in range(QUESTIONS)],
            "inputs": [f"question {i}" for i in range(QUESTIONS)],
            "outputs": [f"answer {i}" if i not in wrong else "?" for i in range(40)],
            "exact/score": [0.0 if i in wrong else 1.0 for i in range(QUESTIONS)],
            "latency/score": [
                100.0 + (i % 7) + (40.0 if i in slow else 0.0) for i in range(QUESTIONS)
            ],
        }
    )
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("prompt", name)
        mlflow.log_table(table, artifact_file="eval_results_table.json")
    return str(run.info.run_id)


@pytest.fixture
def runs(tracking_server: str) -> tuple[str, str, str]:
    """A baseline and a candidate run of their own for each test (logging changes them)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_server)
    try:
        mlflow.set_experiment("log-back")
        base = _log_run(mlflow, "v1", wrong={3}, slow=set())
        cand = _log_run(mlflow, "v2", wrong={3, 5, 8, 13, 21, 34}, slow={1, 2, 4})
    finally:
        mlflow.set_tracking_uri(None)
    return tracking_server, base, cand


GATES = """\
baseline: {{path: 'mlflow://{base}', tracking_uri: '{uri}', id_column: id}}
candidate: {{path: 'mlflow://{cand}', tracking_uri: '{uri}', id_column: id}}
defaults: {{mode: regression_detection}}
metrics:
  exact: {{}}
  latency: {{direction: lower, aggregate: p95}}
"""


def _expected(report: dict[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """What should be on the run, from the JSON report alone."""
    metrics: dict[str, float] = {}
    tags = {"runcompare.verdict": "passed" if report["summary"]["passed"] else "failed"}
    fields = {
        "baseline": "baseline_aggregate",
        "candidate": "candidate_aggregate",
        "change": "estimate",
        "ci_low": "ci_low",
        "ci_high": "ci_high",
        "p_value": "p_value",
        "p_adjusted": "p_adjusted",
    }
    for gate in report["judgement"]["gates"]:
        if not gate["declared"] or gate["assertion"]:
            continue
        name = "runcompare." + re.sub(r"[^A-Za-z0-9_.\- ]", "_", gate["key"])
        for suffix, key in fields.items():
            if gate["verdict"][key] is not None:
                metrics[f"{name}.{suffix}"] = gate["verdict"][key]
        tags[f"{name}.verdict"] = gate["status"]
        tags[f"{name}.outcome"] = gate["verdict"]["outcome"]
        if name != f"runcompare.{gate['key']}":
            tags[f"{name}.gate"] = gate["key"]
    return metrics, tags


def _logged(uri: str, run_id: str) -> tuple[dict[str, float], dict[str, str]]:
    from mlflow import MlflowClient

    data = MlflowClient(tracking_uri=uri).get_run(run_id).data
    metrics = {k: v for k, v in data.metrics.items() if k.startswith("runcompare.")}
    tags = {k: v for k, v in data.tags.items() if k.startswith("runcompare.")}
    return metrics, tags


def test_the_session_logs_each_gate_onto_the_candidate_run(
    runs: tuple[str, str, str], pytester: pytest.Pytester
) -> None:
    from mlflow import MlflowClient

    uri, base, cand = runs
    (pytester.path / "runcompare.yaml").write_text(
        GATES.format(base=base, cand=cand, uri=uri)
    )
    result = pytester.runpytest(
        "-q",
        "-p",
        "no:cacheprovider",
        "--runcompare-mlflow-log",
        "--runcompare-json=out.json",
        "--runcompare-report=report.html",
    )
    result.assert_outcomes(passed=1, failed=1)
    report = json.loads((pytester.path / "out.json").read_text())
    metrics, tags = _expected(report)
    assert tags["runcompare.exact.verdict"] == "failed"
    assert tags["runcompare.p95_latency_.gate"] == "p95(latency)"
    assert _logged(uri, cand) == (metrics, tags)
    assert len(metrics) == 14  # 7 numbers for each of the 2 gates
    result.stdout.fnmatch_lines(
        [
            "mlflow: logged 14 metrics, 6 tags and the artifact "
            f"runcompare/report.html onto mlflow://{cand}"
        ]
    )
    client = MlflowClient(tracking_uri=uri)
    assert [a.path for a in client.list_artifacts(cand, "runcompare")] == [
        "runcompare/report.html"
    ]
    local = client.download_artifacts(
        cand, "runcompare/report.html", str(pytester.path / "dl")
    )
    assert Path(local).read_bytes() == (pytester.path / "report.html").read_bytes()
    # the baseline run is left as it was
    assert _logged(uri, base) == ({}, {})


CLI_GATES = """\
defaults: {mode: regression_detection}
metrics:
  exact: {}
  latency: {direction: lower, aggregate: p95}
"""


def test_the_cli_logs_by_the_same_rule(
    runs: tuple[str, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pytest_runcompare.cli import main

    uri, base, cand = runs
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gates.yaml").write_text(CLI_GATES)
    # the other way round: the baseline run is this comparison's candidate
    code = main(
        [
            "compare",
            f"mlflow://{cand}",
            f"mlflow://{base}",
            "--config",
            "gates.yaml",
            "--json",
            "out.json",
            "--mlflow-log",
        ]
    )
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "out.json").read_text())
    metrics, tags = _expected(report)
    assert code == 0
    assert report["summary"]["passed"] is True
    assert tags["runcompare.verdict"] == "passed"
    assert _logged(uri, base) == (metrics, tags)
    assert len(metrics) == 14
    assert f"the artifact runcompare/report.html onto mlflow://{base}" in out


def test_a_failed_log_names_the_run_and_the_cause(
    runs: tuple[str, str, str], tmp_path: Path
) -> None:
    from dataclasses import replace

    from pytest_runcompare import pipeline
    from pytest_runcompare.config import RunSource, load_gates_file
    from pytest_runcompare.render.mlflow_log import MlflowLogError, log_judgement

    uri, base, cand = runs
    (tmp_path / "gates.yaml").write_text(CLI_GATES)
    options = {"tracking_uri": uri}
    request = pipeline.build_request(
        load_gates_file(tmp_path / "gates.yaml"),
        baseline=RunSource(f"mlflow://{base}", options),
        candidate=RunSource(f"mlflow://{cand}", options),
    )
    old = pipeline.load(RunSource(f"mlflow://{base}", options))
    new = pipeline.load(RunSource(f"mlflow://{cand}", options))
    gone = "0123456789abcdef0123456789abcdef"  # a run the server never had
    extra = {"mlflow": {**new.meta.extra["mlflow"], "run_id": gone}}
    new = replace(new, meta=replace(new.meta, extra=extra))
    comparison = pipeline.compare(old, new, request.config)
    judgement = pipeline.judge(comparison, request)
    with pytest.raises(MlflowLogError) as error:
        log_judgement(comparison, judgement, tracking_uri=uri)
    assert str(error.value).startswith(
        f"could not log the comparison onto the candidate's MLflow run "
        f"mlflow://{gone}: "
    )
    assert gone in str(error.value).split(": ", 1)[1]


def test_the_cli_fails_with_exit_2_when_the_candidate_is_no_mlflow_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_runcompare.cli import main

    rows = "".join(
        json.dumps({"id": f"q{i}", "output": "a", "metrics": {"m": i % 2 == 0}}) + "\n"
        for i in range(30)
    )
    for name in ("base", "cand"):
        (tmp_path / f"{name}.jsonl").write_text(rows)
    (tmp_path / "gates.yaml").write_text(
        "defaults: {mode: regression_detection}\nmetrics:\n  m: {}\n"
    )
    code = main(
        [
            "compare",
            str(tmp_path / "base.jsonl"),
            str(tmp_path / "cand.jsonl"),
            "--config",
            str(tmp_path / "gates.yaml"),
            "--mlflow-log",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "m " in captured.out  # the gate table was printed first
    assert (
        f"cannot log the comparison onto the candidate {tmp_path / 'cand.jsonl'}: it "
        "is not an MLflow run read through a tracking server" in captured.err
    )


def test_a_sweep_logs_each_candidate_onto_its_own_run(
    runs: tuple[str, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import mlflow

    from pytest_runcompare.cli import main

    uri, base, cand = runs
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("log-back")
        other = _log_run(mlflow, "v3", wrong={3, 5}, slow=set())
    finally:
        mlflow.set_tracking_uri(None)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gates.yaml").write_text(CLI_GATES)
    main(
        [
            "compare",
            f"mlflow://{base}",
            f"mlflow://{cand}",
            f"mlflow://{other}",
            "--config",
            "gates.yaml",
            "--mlflow-log",
        ]
    )
    out = capsys.readouterr().out
    for run_id in (cand, other):
        assert f"onto mlflow://{run_id}" in out
    _, cand_tags = _logged(uri, cand)
    _, other_tags = _logged(uri, other)
    assert cand_tags["runcompare.exact.verdict"] == "failed"  # 5 new wrong answers
    # one new wrong answer: regression detection cannot show a regression
    assert other_tags["runcompare.exact.verdict"] == "passed"
    assert _logged(uri, base) == ({}, {})


def test_a_pytest_sweep_logs_each_candidate_onto_its_own_run(
    runs: tuple[str, str, str], pytester: pytest.Pytester
) -> None:
    import mlflow

    uri, base, cand = runs
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("log-back")
        other = _log_run(mlflow, "v3", wrong={3, 5}, slow=set())
    finally:
        mlflow.set_tracking_uri(None)
    source = "{{path: 'mlflow://{}', tracking_uri: '{}', id_column: id}}"
    (pytester.path / "runcompare.yaml").write_text(
        f"baseline: {source.format(base, uri)}\n"
        "candidates:\n"
        f"  v2: {source.format(cand, uri)}\n"
        f"  v3: {source.format(other, uri)}\n"
        "defaults: {mode: regression_detection}\n"
        "metrics:\n  exact: {}\n"
    )
    result = pytester.runpytest(
        "-q", "-p", "no:cacheprovider", "--runcompare-mlflow-log"
    )
    for run_id in (cand, other):
        result.stdout.fnmatch_lines([f"mlflow: logged * onto mlflow://{run_id}"])
    assert _logged(uri, cand)[1]["runcompare.exact.verdict"] == "failed"
    assert _logged(uri, other)[1]["runcompare.exact.verdict"] == "passed"
    assert _logged(uri, base) == ({}, {})
