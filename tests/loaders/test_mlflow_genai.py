"""MLflow 3 GenAI evaluations read from a real tracking server.

``mlflow.genai.evaluate`` runs twice (a baseline and a perturbed candidate) with
deterministic code scorers (``@scorer``: no judge model, no network) against a
``mlflow server`` started here; the reader's values are checked against the dataset
and answers the test itself holds and against the traces the client returns.
Skipped when the ``mlflow`` extra is not installed (CI installs it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from test_mlflow_server import tracking_server

from pytest_runcompare.errors import RunFormatError, RunNotFoundError
from pytest_runcompare.loaders.registry import load_run

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")

__all__ = ["tracking_server"]  # the server fixture, shared with test_mlflow_server

QUESTIONS = {
    "2+2": "4",
    "capital of France": "Paris",
    "colour of the sky": "Blue",
    "largest planet": "Jupiter",
    "author of Hamlet": "Shakespeare",
    "boiling point of water in C": "100",
    "chemical symbol of gold": "Au",
    "square root of 81": "9",
    "fastest land animal": "Cheetah",
    "language of Brazil": "Portuguese",
    "smallest prime": "2",
    "planet nearest the sun": "Mercury",
}
#: The candidate's answers that differ: five right answers become wrong.
PERTURBED = {
    "capital of France": "Lyon",
    "largest planet": "Saturn",
    "chemical symbol of gold": "Ag",
    "fastest land animal": "the cheetah, a big cat",
    "language of Brazil": "Spanish",
}


def _exact(answer: str, expected: str) -> bool:
    return answer == expected


def _overlap(answer: str, expected: str) -> float:
    a, b = set(answer.lower().split()), set(expected.lower().split())
    return len(a & b) / len(a | b)


def _concise(answer: str) -> str:
    return "yes" if len(answer) <= 10 else "no"


def _tone(answer: str) -> str:
    return "formal" if answer[:1].isupper() else "casual"


@dataclass(frozen=True)
class Evaluations:
    uri: str
    experiment_id: str
    baseline: str
    candidate: str
    plain: str  # a run with no traces


def _evaluate(name: str, answers: dict[str, str]) -> str:
    from mlflow.genai.scorers import scorer

    @scorer
    def exact(outputs: str, expectations: dict[str, Any]) -> bool:
        return _exact(outputs, expectations["expected_response"])

    @scorer
    def overlap(outputs: str, expectations: dict[str, Any]) -> float:
        return _overlap(outputs, expectations["expected_response"])

    @scorer
    def concise(outputs: str) -> str:
        return _concise(outputs)

    @scorer
    def tone(outputs: str) -> str:
        return _tone(outputs)

    @scorer
    def length(outputs: str) -> int:
        return len(outputs)

    data = [
        {"inputs": {"question": q}, "expectations": {"expected_response": a}}
        for q, a in QUESTIONS.items()
    ]

    def predict(question: str) -> str:
        return answers[question]

    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("prompt", name)
        mlflow.genai.evaluate(
            data=data,
            predict_fn=predict,
            scorers=[exact, overlap, concise, tone, length],
        )
    return str(run.info.run_id)


@pytest.fixture(scope="module")
def evaluations(tracking_server: str) -> Evaluations:
    mlflow.set_tracking_uri(tracking_server)
    try:
        experiment = mlflow.set_experiment("genai-qa")
        base = _evaluate("v1", dict(QUESTIONS))
        cand = _evaluate("v2", {**QUESTIONS, **PERTURBED})
        with mlflow.start_run(run_name="plain") as plain:
            mlflow.log_metric("loss", 0.5)
    finally:
        mlflow.set_tracking_uri(None)
    return Evaluations(
        tracking_server,
        experiment.experiment_id,
        base,
        cand,
        plain.info.run_id,
    )


def _hash_id(request: Any) -> str:
    text = json.dumps(
        request, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return "in:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def test_each_trace_is_a_datapoint_with_request_response_and_expectation(
    evaluations: Evaluations,
) -> None:
    run = load_run(
        f"mlflow://{evaluations.candidate}::traces",
        options={"tracking_uri": evaluations.uri},
    )
    assert run.meta.format == "mlflow_genai"
    assert run.meta.name == "v2"
    assert run.meta.params == {"prompt": "v2"}
    assert len(run) == len(QUESTIONS)
    answers = {**QUESTIONS, **PERTURBED}
    for question, gold in QUESTIONS.items():
        point = run.datapoint(_hash_id({"question": question}))
        answer = answers[question]
        assert point.input == {"question": question}
        assert point.output == answer
        assert point.expected == gold
        assert point.metrics == {
            "exact": float(_exact(answer, gold)),
            "overlap": pytest.approx(_overlap(answer, gold)),
            "concise": float(_concise(answer) == "yes"),
            "length": float(len(answer)),
        }
        assert point.meta is not None
        assert point.meta["feedback"] == {"tone": _tone(answer)}
    assert run.metrics["exact"].boolean
    assert run.metrics["concise"].boolean
    assert not run.metrics["overlap"].boolean


def test_values_match_what_the_client_returns(evaluations: Evaluations) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=evaluations.uri)
    traces = client.search_traces(
        locations=[evaluations.experiment_id], run_id=evaluations.baseline
    )
    run = load_run(
        f"runs:/{evaluations.baseline}::traces",
        options={"tracking_uri": evaluations.uri},
    )
    assert len(traces) == len(run) == len(QUESTIONS)
    for trace in traces:
        request = json.loads(trace.data.request)
        point = run.datapoint(_hash_id(request))
        assert point.output == json.loads(trace.data.response)
        assert point.meta is not None
        assert point.meta["trace_id"] == trace.info.trace_id
        feedback = {
            a.name: a.feedback.value
            for a in trace.info.assessments
            if a.feedback is not None
        }
        assert point.metrics["exact"] == float(feedback["exact"])
        assert point.metrics["overlap"] == pytest.approx(feedback["overlap"])
        assert point.metrics["length"] == feedback["length"]
        assert point.metrics["concise"] == float(feedback["concise"] == "yes")
    # the run's own aggregates, as MLflow logged them
    logged = client.get_run(evaluations.baseline).data.metrics
    assert run.meta.metrics["exact/mean"] == logged["exact/mean"] == 1.0
    assert run.meta.metrics["length/mean"] == pytest.approx(
        sum(map(len, QUESTIONS.values())) / len(QUESTIONS)
    )


def test_scorer_source_and_kind_are_kept_and_categories_are_warned(
    evaluations: Evaluations,
) -> None:
    run = load_run(
        f"mlflow://{evaluations.baseline}",
        options={"tracking_uri": evaluations.uri, "format": "mlflow_genai"},
    )
    scorers = run.meta.extra["mlflow_genai"]["scorers"]
    assert scorers["exact"]["source_type"] == "CODE"
    assert scorers["exact"]["source_id"] == "exact"
    assert scorers["exact"]["digest"].startswith("sha256:")
    definitions = run.meta.metric_definitions
    assert definitions["exact"].kind == "binary"
    assert definitions["exact"].higher_is_better is True
    assert definitions["concise"].kind == "binary"
    assert definitions["overlap"].kind == "continuous"
    assert definitions["overlap"].higher_is_better is None
    assert definitions["exact"].description == (
        "MLflow GenAI scorer 'exact' (source CODE:exact)"
    )
    assert "tone" not in run.metrics
    tones = sorted({_tone(a) for a in QUESTIONS.values()})
    assert run.warnings == (
        f"mlflow://{evaluations.baseline}::traces: feedback 'tone' has values that "
        f"map to no number ({', '.join(map(repr, tones))}): left out of the metrics "
        "(kept in each datapoint's meta.feedback)",
    )


def test_ids_from_the_trace_or_from_a_request_key(evaluations: Evaluations) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=evaluations.uri)
    traces = client.search_traces(
        locations=[evaluations.experiment_id], run_id=evaluations.baseline
    )
    by_trace = load_run(
        f"mlflow://{evaluations.baseline}::traces",
        options={"tracking_uri": evaluations.uri, "id_from": "trace"},
    )
    assert sorted(by_trace.ids) == sorted(t.info.trace_id for t in traces)
    by_key = load_run(
        f"mlflow://{evaluations.baseline}::traces",
        options={"tracking_uri": evaluations.uri, "id_input": "question"},
    )
    assert sorted(by_key.ids) == sorted(QUESTIONS)
    with pytest.raises(RunFormatError, match=r"the request has no key 'prompt'"):
        load_run(
            f"mlflow://{evaluations.baseline}::traces",
            options={"tracking_uri": evaluations.uri, "id_input": "prompt"},
        )
    with pytest.raises(RunFormatError, match=r"id_from must be one of"):
        load_run(
            f"mlflow://{evaluations.baseline}::traces",
            options={"tracking_uri": evaluations.uri, "id_from": "row"},
        )


def test_a_run_without_traces_or_an_unknown_run_is_named(
    evaluations: Evaluations,
) -> None:
    with pytest.raises(RunNotFoundError, match=r"the run has no traces"):
        load_run(
            f"mlflow://{evaluations.plain}::traces",
            options={"tracking_uri": evaluations.uri},
        )
    with pytest.raises(RunNotFoundError, match=r"mlflow://0123abcd::traces: "):
        load_run("mlflow://0123abcd::traces", options={"tracking_uri": evaluations.uri})


def test_a_session_gates_the_two_evaluations(
    evaluations: Evaluations, pytester: pytest.Pytester
) -> None:
    uri = evaluations.uri
    (pytester.path / "runcompare.yaml").write_text(
        f"baseline: {{path: 'mlflow://{evaluations.baseline}::traces', "
        f"tracking_uri: '{uri}'}}\n"
        f"candidate: {{path: 'mlflow://{evaluations.candidate}::traces', "
        f"tracking_uri: '{uri}'}}\n"
        "defaults:\n  mode: regression_detection\n  min_coverage: 1.0\n"
        "metrics:\n  exact: {}\n  length: {direction: lower}\n"
        "report:\n  html: report.html\n"
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    # 5 of 12 answers went wrong: 1.00 -> 0.58
    result.stdout.fnmatch_lines(["exact *1.00 *0.58 *-0.42 *fail"])
    assert "Lyon" in (pytester.path / "report.html").read_text()


# --------------------------------------------------------------------------- units
# Traces as the client returns them, with real MLflow assessment entities: the cases
# a plain evaluation does not produce (re-scored traces, overrides, errors).


def _trace(trace_id: str, request: Any, response: Any, assessments: list[Any]) -> Any:
    from types import SimpleNamespace

    info = SimpleNamespace(
        trace_id=trace_id, assessments=assessments, trace_metadata={}
    )
    data = SimpleNamespace(request=json.dumps(request), response=json.dumps(response))
    return SimpleNamespace(info=info, data=data)


def _feedback(name: str, value: Any, run: str, at: int, **kw: Any) -> Any:
    from mlflow.entities import AssessmentSource, Feedback

    return Feedback(
        name=name,
        value=value,
        source=AssessmentSource(source_type="CODE", source_id=name),
        metadata={"mlflow.assessment.sourceRunId": run},
        last_update_time_ms=at,
        **kw,
    )


def test_only_this_runs_latest_valid_feedback_is_read() -> None:
    from mlflow.entities import AssessmentError

    from pytest_runcompare.loaders.mlflow_genai import records_from_traces

    traces = [
        _trace(
            "tr-1",
            {"q": "a"},
            "A",
            [
                _feedback("score", 0.2, "other-run", 1),  # another run's scoring
                _feedback("score", 0.5, "r1", 2),
                _feedback("score", 0.7, "r1", 3),  # logged twice: the latest
                _feedback("ok", True, "r1", 4, valid=False),  # overridden
                _feedback("ok", False, "r1", 5),
            ],
        ),
        _trace(
            "tr-2",
            {"q": "b"},
            {"answer": "B"},
            [
                _feedback(
                    "score",
                    None,
                    "r1",
                    6,
                    error=AssessmentError(error_code="E", error_message="boom"),
                ),
                _feedback("ok", "YES", "r1", 7),
                _feedback("detail", {"k": 1}, "r1", 8),
            ],
        ),
    ]
    records, definitions, facts, warnings = records_from_traces(
        traces, "r1", where="mlflow://r1::traces"
    )
    assert [r["id"] for r in records] == [_hash_id({"q": "a"}), _hash_id({"q": "b"})]
    assert records[0]["metrics"] == {"score": 0.7, "ok": False}
    assert records[1]["metrics"] == {"ok": True}
    assert records[1]["output"] == {"answer": "B"}
    assert records[1]["meta"] == {"trace_id": "tr-2", "feedback": {"detail": {"k": 1}}}
    assert definitions["ok"].kind == "binary"
    assert definitions["score"].kind == "continuous"
    assert "detail" not in definitions
    assert facts["score"] == {
        "source_type": "CODE",
        "source_id": "score",
        "digest": None,
    }
    assert warnings == [
        "mlflow://r1::traces: feedback 'detail' has values that map to no number "
        "('{\"k\": 1}'): left out of the metrics (kept in each datapoint's "
        "meta.feedback)",
        "mlflow://r1::traces: feedback 'score' ended in an error on 1 trace(s): "
        "missing there",
        "mlflow://r1::traces: feedback 'score' was logged more than once with "
        "different values on 1 trace(s): the latest is read",
    ]


def test_the_same_request_twice_gives_grouped_replicates() -> None:
    from pytest_runcompare.loaders.mlflow_genai import records_from_traces

    traces = [
        _trace(f"tr-{n}", {"q": "a"}, str(n), [_feedback("s", n, "r1", n)])
        for n in range(2)
    ]
    records, *_ = records_from_traces(traces, "r1")
    key = _hash_id({"q": "a"})
    assert [(r["id"], r["group"]) for r in records] == [
        (f"{key}#1", key),
        (f"{key}#2", key),
    ]


def test_a_trace_without_spans_reads_the_preview_and_says_so() -> None:
    from types import SimpleNamespace

    from pytest_runcompare.loaders.mlflow_genai import records_from_traces

    info = SimpleNamespace(
        trace_id="tr-9",
        assessments=[_feedback("s", 1, "r1", 1)],
        trace_metadata={"mlflow.traceInputs": '{"q": "a"}'},
    )
    trace = SimpleNamespace(info=info, data=None)
    records, _, _, warnings = records_from_traces([trace], "r1", where="w")
    assert records[0]["input"] == {"q": "a"}
    assert records[0]["id"] == _hash_id({"q": "a"})
    assert records[0]["meta"]["request_from_preview"] is True
    assert warnings == [
        "w: 1 trace(s) have no root span: their request is MLflow's preview of the "
        "inputs (at most 250 characters), and their id a hash of it"
    ]


def test_traces_are_read_page_by_page(
    evaluations: Evaluations, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from pytest_runcompare.loaders import mlflow_genai

    pages: list[int] = []
    search = MlflowClient.search_traces

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        page = search(self, *args, **kwargs)
        pages.append(len(page))
        return page

    monkeypatch.setattr(MlflowClient, "search_traces", counted)
    monkeypatch.setattr(mlflow_genai, "_PAGE", 5)
    run = load_run(
        f"mlflow://{evaluations.baseline}::traces",
        options={"tracking_uri": evaluations.uri},
    )
    assert pages == [5, 5, 2]
    assert sorted(run.ids) == sorted(_hash_id({"question": q}) for q in QUESTIONS)
