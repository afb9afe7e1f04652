"""The MLflow reader: a hand-checked file-store run, and runs written by real MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders import mlflow as reader
from pytest_runcompare.loaders.registry import load_run

RUN = Path("mlruns") / "271828" / "0a1b2c3d4e5f"


def read(location: Path | str, **options: object):
    run = reader.pytest_runcompare_load_run(str(location), options)
    assert run is not None
    return run


def test_run_folder_reads_params_tags_latest_metrics_and_table(data: Path) -> None:
    run = read(data / RUN)
    assert run.meta.format == "mlflow"
    assert run.meta.name == "qa-baseline"
    assert run.meta.params == {
        "model": "gpt-4o-mini",
        "seed": "7",
        "temperature": "0.0",
    }
    assert run.meta.seed == 7
    assert run.meta.code_version == {
        "commit": "deadbeefcafe0123456789abcdef012345678901"
    }
    assert run.meta.environment == {"source.name": "eval_qa.py"}
    # loss was logged at steps 0, 2, 1: the latest step is 2
    assert run.meta.metrics == {"exact_match/v1": 0.5, "latency": 12.5, "loss": 0.4}
    assert run.meta.created == "2026-01-01T00:00:00+00:00"
    assert run.meta.extra["mlflow"]["run_id"] == "0a1b2c3d4e5f"
    assert len(run) == 4
    point = run.datapoint(run.ids[1])
    assert point.input == "Capital of France?"
    assert point.output == "Lyon"
    assert point.expected == "Paris"
    assert point.metrics == {
        "exact_match": 0.0,
        "answer_relevance": 3.0,
        "token_count": 1.0,
    }
    assert run.meta.metric_definitions["exact_match"].version == "1"
    assert run.warnings == ()


def test_ids_hash_the_inputs_or_come_from_a_column(data: Path) -> None:
    hashed = read(data / RUN / "artifacts" / "eval_results_table.json")
    assert all(i.startswith("in:") and len(i) == 15 for i in hashed.ids)
    again = read(data / RUN / "artifacts" / "eval_results_table.json")
    assert hashed.ids == again.ids  # stable
    named = read(data / RUN, id_column="inputs")
    assert named.ids == [
        "What is 2+2?",
        "Capital of France?",
        "Colour of the sky?",
        "Largest planet?",
    ]


def test_repeated_inputs_become_replicates(tmp_path: Path) -> None:
    table = {
        "columns": ["inputs", "outputs", "exact/score"],
        "data": [["q", "a", 1.0], ["q", "b", 0.0], ["r", "c", 1.0]],
    }
    path = tmp_path / "eval_results_table.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    run = read(path)
    assert run.ids[0].endswith("#1")
    assert run.ids[1].endswith("#2")
    assert run.datapoints.groups[0] == run.datapoints.groups[1] == run.ids[0][:-2]


def test_errors_name_the_file(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "eval_results_table.json"
    path.write_text('{"columns": ["a"], "rows": []}', encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=r"eval_results_table\.json: not an MLflow"
    ):
        read(path)
    path.write_text('{"columns": ["a", "b/score"], "data": [[1]]}', encoding="utf-8")
    with pytest.raises(RunFormatError, match=r"data\[0\].*row has 1 values"):
        read(path)
    with pytest.raises(
        RunFormatError, match="the id column 'nope' is not in the table"
    ):
        read(data / RUN, id_column="nope")
    other = tmp_path / "other.json"
    other.write_text('{"columns": ["a"], "data": []}', encoding="utf-8")
    assert reader.pytest_runcompare_load_run(str(other), {}) is None


def test_bad_metric_line(data: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(data / RUN, copy)
    (copy / "metrics" / "loss").write_text("1 0.5 0\nbroken\n", encoding="utf-8")
    with pytest.raises(
        RunFormatError, match=r"metrics/loss:2: not an MLflow metric line"
    ):
        read(copy)


def test_folder_that_is_not_a_run_is_not_claimed(real: Path, data: Path) -> None:
    assert reader.pytest_runcompare_load_run(str(data), {}) is None
    assert reader.pytest_runcompare_load_run(str(real / "inspect_ai"), {}) is None


def test_load_run_dispatches_mlflow(data: Path) -> None:
    assert load_run(data / RUN).meta.format == "mlflow"


# ----------------------------------------------------------------- real MLflow


def _evaluate(mlflow, name: str, predictions: list[str], loss: float) -> str:
    import pandas as pd
    from mlflow.metrics import MetricValue, make_metric

    def exact(predictions, targets, metrics):
        scores = [
            float(p.strip().lower() == t.strip().lower())
            for p, t in zip(predictions, targets, strict=True)
        ]
        return MetricValue(scores=scores, aggregate_results={"mean": sum(scores) / 3})

    frame = pd.DataFrame(
        {
            "inputs": ["2+2?", "Capital of France?", "Colour of the sky?"],
            "ground_truth": ["4", "Paris", "blue"],
            "outputs": predictions,
        }
    )
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("prompt", name)
        mlflow.log_metric("loss", loss)
        mlflow.models.evaluate(
            data=frame,
            predictions="outputs",
            targets="ground_truth",
            extra_metrics=[
                make_metric(eval_fn=exact, greater_is_better=True, name="exact")
            ],
            evaluators="default",
        )
        return run.info.run_id


@pytest.fixture
def mlflow_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield mlflow
    mlflow.set_tracking_uri(None)


def test_file_store_written_by_mlflow_evaluate(mlflow_module, tmp_path: Path) -> None:
    mlflow = mlflow_module
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    mlflow.set_experiment("qa")
    base_id = _evaluate(mlflow, "v1", ["4", "Lyon", "Blue"], 0.5)
    cand_id = _evaluate(mlflow, "v2", ["4", "Paris", "Blue"], 0.4)
    [base_dir] = (tmp_path / "mlruns").glob(f"*/{base_id}")
    [cand_dir] = (tmp_path / "mlruns").glob(f"*/{cand_id}")
    base, cand = read(base_dir), read(cand_dir)
    assert base.meta.name == "v1"
    assert base.meta.params == {"prompt": "v1"}
    assert base.meta.metrics["loss"] == 0.5
    assert base.meta.metrics["exact/mean"] == pytest.approx(2 / 3)
    assert base.datapoint(base.ids[1]).output == "Lyon"
    assert base.datapoint(base.ids[1]).expected == "Paris"
    result = compare_runs(base, cand)
    assert result.n_common == 3
    assert result.metric_deltas["exact"].improved_count == 1
    assert [c.new_output for c in result.changed_outputs()] == ["Paris"]


def test_tracking_client_against_a_sqlite_backend(
    mlflow_module, tmp_path: Path
) -> None:
    mlflow = mlflow_module
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("qa")
    base_id = _evaluate(mlflow, "v1", ["4", "Lyon", "Blue"], 0.5)
    run = read(f"mlflow://{base_id}", tracking_uri=uri)
    assert run.meta.source == f"mlflow://{base_id}"
    assert run.meta.name == "v1"
    assert run.meta.metrics["loss"] == 0.5
    assert len(run) == 3
    assert run.datapoint(run.ids[1]).metrics == {"exact": 0.0}
    same = read(f"runs:/{base_id}", tracking_uri=uri)
    assert same.ids == run.ids
