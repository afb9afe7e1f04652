"""Runs from tables in memory: pandas and polars frames, a Hugging Face Dataset."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from pytest_runcompare import from_dataset, from_pandas, from_polars
from pytest_runcompare.comparison import compare_runs
from pytest_runcompare.errors import RunFormatError

pd = pytest.importorskip("pandas", reason="pandas is not installed")


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qid": ["q-1", "q-2", "q-3"],
            "prompt": ["2+2?", "capital of France?", "sky colour?"],
            "answer": ["4", "Lyon", "blue"],
            "gold": ["4", "Paris", "blue"],
            "exact_match": [True, False, True],
            "latency_ms": [412, 380.5, 501],
            "lang": ["en", "fr", None],
        },
        index=[10, 20, 30],
    )


def test_columns_become_the_parts_of_each_datapoint() -> None:
    run = from_pandas(
        frame(),
        id="qid",
        metrics=["exact_match", "latency_ms"],
        output="answer",
        input="prompt",
        expected="gold",
        slices="lang",
        name="candidate",
        meta={"params": {"lr": 0.1}, "seed": 3},
    )
    assert run.ids == ["q-1", "q-2", "q-3"]
    assert run.meta.name == "candidate"
    assert run.meta.params == {"lr": 0.1}
    assert run.meta.seed == 3
    assert run.meta.format == "pandas"
    assert run.meta.source == "pandas DataFrame"
    point = run.datapoint("q-2")
    assert point.input == "capital of France?"
    assert point.output == "Lyon"
    assert point.expected == "Paris"
    assert point.metrics == {"exact_match": 0.0, "latency_ms": 380.5}
    assert point.slices == ("lang:fr",)
    assert run.datapoint("q-3").slices == ()  # no value, no tag
    assert run.metrics["exact_match"].boolean
    assert not run.metrics["latency_ms"].boolean


def test_several_input_columns_give_a_mapping_and_metrics_default_to_the_rest() -> None:
    df = frame().drop(columns=["lang"])
    run = from_pandas(
        df, id="qid", output="answer", input=["prompt", "gold"], group="gold"
    )
    assert sorted(run.metrics) == ["exact_match", "latency_ms"]
    point = run.datapoint("q-1")
    assert point.input == {"prompt": "2+2?", "gold": "4"}
    assert point.group == "4"


def test_nan_in_pandas_is_a_missing_value_as_an_empty_csv_cell_is() -> None:
    df = frame()
    df.loc[20, "latency_ms"] = math.nan
    run = from_pandas(df, id="qid", metrics=["latency_ms"], output="answer")
    assert run.datapoint("q-2").metrics == {}
    assert run.metrics["latency_ms"].count == 2


def test_nan_is_kept_for_a_metric_declared_allow_nan() -> None:
    df = frame()
    df.loc[20, "latency_ms"] = math.nan
    run = from_pandas(
        df,
        id="qid",
        metrics=["latency_ms"],
        meta={"metric_definitions": {"latency_ms": {"allow_nan": True}}},
    )
    column = run.metrics["latency_ms"]
    assert column.count == 3
    assert math.isnan(column.values[1])


def test_pandas_and_a_csv_file_of_the_same_rows_compare_as_equal(tmp_path) -> None:
    from pytest_runcompare.loaders.registry import load_run

    df = frame()[["qid", "answer", "exact_match", "latency_ms"]]
    path = tmp_path / "run.csv"
    df.rename(columns={"qid": "id", "answer": "output"}).to_csv(path, index=False)
    from_file = load_run(path)
    from_frame = from_pandas(df, id="qid", output="answer")
    assert from_frame.ids == from_file.ids
    assert list(from_frame.records()) == list(from_file.records())
    result = compare_runs(from_file, from_frame)
    assert result.n_common == 3
    assert result.changed_outputs() == []


def message(error: pytest.ExceptionInfo[RunFormatError]) -> str:
    return str(error.value)


def test_a_duplicate_id_names_both_rows_by_index_label() -> None:
    df = frame()
    df.loc[30, "qid"] = "q-1"
    with pytest.raises(RunFormatError) as error:
        from_pandas(df, id="qid", output="answer")
    assert message(error) == (
        "pandas DataFrame, row 30, column 'qid': datapoint 'q-1': duplicate id "
        "(first seen at row 10) (datapoint ids must be unique within a run)"
    )


def test_a_missing_id_names_the_row() -> None:
    df = frame()
    df.loc[20, "qid"] = None
    with pytest.raises(RunFormatError) as error:
        from_pandas(df, id="qid", output="answer")
    assert message(error) == (
        "pandas DataFrame, row 20, column 'qid': the datapoint has no id "
        "(every datapoint needs a unique string or integer 'id')"
    )


def test_a_text_metric_value_names_the_row_and_the_column() -> None:
    df = frame().astype({"latency_ms": object})
    df.loc[30, "latency_ms"] = "501ms"
    with pytest.raises(RunFormatError) as error:
        from_pandas(df, id="qid", metrics=["latency_ms"])
    assert message(error) == (
        "pandas DataFrame, row 30, column 'latency_ms': datapoint 'q-3': metric "
        "value must be a number or a boolean, got str '501ms' (metric columns hold "
        "numbers or booleans; name the metric columns with metrics=[...])"
    )


def test_columns_of_text_not_named_are_left_out_with_a_warning() -> None:
    run = from_pandas(frame(), id="qid", output="answer")
    assert sorted(run.metrics) == ["exact_match", "latency_ms"]
    assert run.warnings == (
        "pandas DataFrame: column(s) ['prompt', 'gold', 'lang'] hold values that are "
        "not numbers: left out of the metrics (name the columns with metrics=[...], "
        "or give them a part: input=, expected=, slices=)",
    )


def test_infinity_is_refused_as_in_a_run_file() -> None:
    df = frame()
    df.loc[10, "latency_ms"] = math.inf
    with pytest.raises(RunFormatError) as error:
        from_pandas(df, id="qid", metrics=["latency_ms"])
    assert message(error).startswith(
        "pandas DataFrame, row 10, column 'latency_ms': datapoint 'q-1': metric "
        "value is inf, which is allowed only for metrics declared with allow_nan"
    )


def test_an_unknown_column_is_named_with_the_columns_there_are() -> None:
    with pytest.raises(RunFormatError) as error:
        from_pandas(frame(), id="qid", metrics=["bleu"])
    assert message(error) == (
        "pandas DataFrame: field 'metrics': no column 'bleu' (columns: ['qid', "
        "'prompt', 'answer', 'gold', 'exact_match', 'latency_ms', 'lang']) (name one "
        "of the table's columns as metrics=)"
    )
    with pytest.raises(RunFormatError, match=r"field 'id': no column 'id' "):
        from_pandas(frame(), id="id")


def test_an_empty_frame_is_refused_as_an_empty_run() -> None:
    with pytest.raises(RunFormatError, match=r"^pandas DataFrame: the run has no"):
        from_pandas(frame().iloc[:0], id="qid", output="answer", metrics=[])


def test_something_else_than_a_dataframe_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"takes a pandas DataFrame, got dict"):
        from_pandas({"qid": [1]}, id="qid")


def test_polars_frames_read_as_pandas_ones_with_null_as_missing() -> None:
    pl = pytest.importorskip("polars", reason="polars is not installed")
    df = pl.from_pandas(frame().reset_index(drop=True))
    run = from_polars(df, id="qid", output="answer", input="prompt", slices="lang")
    same = from_pandas(
        frame(), id="qid", output="answer", input="prompt", slices="lang"
    )
    assert list(run.records()) == list(same.records())
    assert run.meta.format == "polars"
    nan = df.with_columns(pl.Series("latency_ms", [1.0, float("nan"), None]))
    with pytest.raises(RunFormatError) as error:
        from_polars(nan, id="qid", metrics=["latency_ms"])
    # polars tells NaN from null: NaN is a value, refused as in a run file
    assert message(error).startswith(
        "polars DataFrame, row 1, column 'latency_ms': datapoint 'q-2': metric "
        "value is nan, which is allowed only"
    )
    nulls = df.with_columns(pl.Series("latency_ms", [1.0, None, 3.0]))
    assert (
        from_polars(nulls, id="qid", metrics=["latency_ms"]).metrics["latency_ms"].count
        == 2
    )


def test_without_the_library_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['polars'] = None; sys.modules['datasets'] = None\n"
        "from pytest_runcompare import from_dataset, from_polars\n"
        "for f in (from_polars, from_dataset):\n"
        "    try:\n"
        "        f(object(), id='x')\n"
        "    except ImportError as e:\n"
        "        print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        "from_polars needs polars, which is not installed: pip install "
        "'pytest-runcompare[polars]' (or pip install polars)",
        "from_dataset needs datasets, which is not installed: pip install "
        "'pytest-runcompare[datasets]' (or pip install datasets)",
    ]


def test_a_dataset_reads_as_its_pandas_frame() -> None:
    datasets = pytest.importorskip("datasets", reason="datasets is not installed")
    ds = datasets.Dataset.from_pandas(frame().reset_index(drop=True))
    run = from_dataset(ds, id="qid", output="answer", slices="lang")
    same = from_pandas(frame(), id="qid", output="answer", slices="lang")
    assert list(run.records()) == list(same.records())


def test_importing_the_functions_imports_no_frame_library() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom pytest_runcompare import from_pandas, from_polars\n"
            "print('pandas' in sys.modules, 'polars' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False False"  # imported when a frame is converted


def test_a_dataset_null_is_missing_and_its_nan_a_value() -> None:
    datasets = pytest.importorskip("datasets", reason="datasets is not installed")
    ds = datasets.Dataset.from_dict({"qid": ["a", "b", "c"], "score": [0.5, None, 1.0]})
    run = from_dataset(ds, id="qid")
    assert run.datapoint("b").metrics == {}
    assert run.metrics["score"].count == 2
    nan = datasets.Dataset.from_dict({"qid": ["a", "b"], "score": [0.5, math.nan]})
    with pytest.raises(RunFormatError, match=r"^datasets.Dataset, row 1, column "):
        from_dataset(nan, id="qid")
