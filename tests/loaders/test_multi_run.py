"""A sweep's candidates expanded from globs, folders of runs and multi-run locations.

On real files: native runs written with RunWriter, the promptfoo and lm-eval outputs
in ../shared, MLflow experiments written by MLflow itself (a file store, and a sqlite
store read through the tracking client).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest

from pytest_runcompare import hookspecs
from pytest_runcompare.config import Candidate, RunSource
from pytest_runcompare.errors import ConfigError, RunFormatError, RunNotFoundError
from pytest_runcompare.loaders.multi import expand_candidates, is_work_folder
from pytest_runcompare.loaders.registry import load_run, register_builtin_readers
from pytest_runcompare.writer import RunWriter

PROMPTFOO_LABELS = [
    "gpt-4o-mini / Pain Scorer v1 (word anchors)",
    "gpt-4o-mini / Pain Scorer v2 (dollar-band rubric)",
    "gpt-4o-mini / Product Ideas v1 (current)",
    "gpt-4o-mini / Product Ideas v2 (anti-patterns + validation Q)",
    "gpt-4o / Pain Scorer v1 (word anchors)",
    "gpt-4o / Pain Scorer v2 (dollar-band rubric)",
    "gpt-4o / Product Ideas v1 (current)",
    "gpt-4o / Product Ideas v2 (anti-patterns + validation Q)",
]
MASAKHANER = "lm-eval_masakhaner-luo_gemma-2b_0shot-vs-5shot"
NEGOTIATION = "lm-eval_negotiationtom_qwen3-8b_rerun"


def entry(location: Path | str, label: str | None = None, **options: object):
    return Candidate(label, RunSource(str(location), options))


def expand(*entries: Candidate) -> list[tuple[str | None, str]]:
    return [(c.label, c.source.location) for c in expand_candidates(entries)]


def write_run(path: Path, accuracy: list[bool], **params: object) -> Path:
    with RunWriter(path, params=params, capture_lineage=False) as writer:
        for i, correct in enumerate(accuracy):
            writer.add(id=f"q{i}", output=str(correct), metrics={"correct": correct})
    return path


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """runs/sweep/ with three native run folders, written out of order."""
    folder = tmp_path / "runs" / "sweep"
    for name, acc in (("c1", [1, 1, 0]), ("c0.1", [1, 0, 0]), ("c10", [1, 1, 1])):
        write_run(folder / name, [bool(a) for a in acc], C=float(name[1:]))
    return folder


# ------------------------------------------------------------------------ globs


def test_a_glob_gives_one_candidate_per_match_sorted_and_named(sweep: Path) -> None:
    assert expand(entry(sweep / "*")) == [
        ("c0.1", str(sweep / "c0.1")),  # a folder's name, not its stem ("c0")
        ("c1", str(sweep / "c1")),
        ("c10", str(sweep / "c10")),
    ]
    loaded = [load_run(loc) for _, loc in expand(entry(sweep / "*"))]
    assert [run.meta.params["C"] for run in loaded] == [0.1, 1.0, 10.0]


def test_a_glob_of_files_is_named_by_stem(tmp_path: Path) -> None:
    from pytest_runcompare.writer import save_run

    run = load_run(write_run(tmp_path / "run", [True, False]))
    for name in ("b.jsonl", "a.jsonl", "a.json"):
        save_run(run, tmp_path / name)
    assert expand(entry(tmp_path / "*.jsonl")) == [
        ("a", str(tmp_path / "a.jsonl")),
        ("b", str(tmp_path / "b.jsonl")),
    ]
    # a.json and a.jsonl share a stem: their names keep the suffix
    assert expand(entry(tmp_path / "a.*")) == [
        ("a.json", str(tmp_path / "a.json")),
        ("a.jsonl", str(tmp_path / "a.jsonl")),
    ]


def test_names_that_collide_become_paths_relative_to_their_common_folder(
    tmp_path: Path,
) -> None:
    for team in ("team-a", "team-b"):
        write_run(tmp_path / team / "best", [True])
    assert expand(entry(tmp_path / "*" / "best")) == [
        ("team-a/best", str(tmp_path / "team-a" / "best")),
        ("team-b/best", str(tmp_path / "team-b" / "best")),
    ]
    # across entries too: two sweep folders that both hold a c1
    for team in ("team-a", "team-b"):
        write_run(tmp_path / "sweeps" / team / "c1", [True])
        write_run(tmp_path / "sweeps" / team / f"only-{team}", [True])
    assert expand(
        entry(tmp_path / "sweeps" / "team-a"), entry(tmp_path / "sweeps" / "team-b")
    ) == [
        ("team-a/c1", str(tmp_path / "sweeps" / "team-a" / "c1")),
        ("only-team-a", str(tmp_path / "sweeps" / "team-a" / "only-team-a")),
        ("team-b/c1", str(tmp_path / "sweeps" / "team-b" / "c1")),
        ("only-team-b", str(tmp_path / "sweeps" / "team-b" / "only-team-b")),
    ]


def test_the_same_run_twice_is_numbered(sweep: Path) -> None:
    assert expand(entry(sweep / "c1"), entry(sweep / "c1")) == [
        ("c1", str(sweep / "c1")),
        ("c1#2", str(sweep / "c1")),
    ]


def test_a_derived_label_gives_way_to_an_explicit_one(sweep: Path) -> None:
    assert expand(entry(sweep / "*"), entry(sweep / "c10", label="c1")) == [
        ("c0.1", str(sweep / "c0.1")),
        ("c1#2", str(sweep / "c1")),
        ("c10", str(sweep / "c10")),
        ("c1", str(sweep / "c10")),
    ]


def test_a_glob_keeps_its_selector_for_every_match(tmp_path: Path, real: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        shutil.copy(real / "promptfoo_nicheIQ" / "results.json", tmp_path / name)
    got = expand(entry(tmp_path / "*" / "results.json::column=5"))
    assert got == [
        ("one/results:column=5", f"{tmp_path / 'one' / 'results.json'}::column=5"),
        ("two/results:column=5", f"{tmp_path / 'two' / 'results.json'}::column=5"),
    ]
    assert load_run(got[0][1]).meta.name == PROMPTFOO_LABELS[5]


def test_writer_work_folders_and_hidden_folders_are_no_candidates(
    sweep: Path,
) -> None:
    work = sweep / "c1.writing-4242-host-abc123"
    shutil.copytree(sweep / "c1", work)
    shutil.copytree(sweep / "c1", sweep / ".c1.old")
    assert is_work_folder(work)
    assert [label for label, _ in expand(entry(sweep / "*"))] == ["c0.1", "c1", "c10"]
    assert [label for label, _ in expand(entry(sweep))] == ["c0.1", "c1", "c10"]


# -------------------------------------------------------------- folders of runs


def test_a_folder_of_runs_gives_its_child_runs(sweep: Path) -> None:
    (sweep / "notes").mkdir()  # not a run: left out
    (sweep / "README.md").write_text("the sweep of C\n", encoding="utf-8")
    assert expand(entry(sweep)) == [
        ("c0.1", str(sweep / "c0.1")),
        ("c1", str(sweep / "c1")),
        ("c10", str(sweep / "c10")),
    ]


def test_a_run_folder_is_itself_not_its_children(sweep: Path) -> None:
    assert expand(entry(sweep / "c1")) == [("c1", str(sweep / "c1"))]
    assert expand(entry(sweep / "c1", label="mine")) == [("mine", str(sweep / "c1"))]


def test_an_explicit_label_prefixes_the_runs_it_expands_to(sweep: Path) -> None:
    assert [label for label, _ in expand(entry(sweep, label="C"))] == [
        "C/c0.1",
        "C/c1",
        "C/c10",
    ]
    assert expand(entry(sweep / "c1*", label="C")) == [
        ("C/c1", str(sweep / "c1")),
        ("C/c10", str(sweep / "c10")),
    ]
    # one run: the label is its name, whatever the entry's shape
    assert expand(entry(sweep / "c0*", label="C")) == [("C", str(sweep / "c0.1"))]


def test_reader_options_stay_with_every_candidate(real: Path) -> None:
    results = real / "promptfoo_nicheIQ" / "results.json"
    out = expand_candidates([entry(results, format="promptfoo")])
    assert len(out) == 8
    assert {tuple(c.source.options.items()) for c in out} == {
        (("format", "promptfoo"),)
    }


def test_expansion_is_deterministic(sweep: Path, real: Path) -> None:
    entries = [entry(sweep / "*"), entry(real / "promptfoo_nicheIQ" / "results.json")]
    assert expand_candidates(entries) == expand_candidates(list(entries))


# --------------------------------------------------------- files of several runs


def test_a_promptfoo_file_gives_one_candidate_per_column(real: Path) -> None:
    results = real / "promptfoo_nicheIQ" / "results.json"
    got = expand(entry(results))
    assert [label for label, _ in got] == PROMPTFOO_LABELS
    assert [loc for _, loc in got] == [f"{results}::column={i}" for i in range(8)]
    runs = [load_run(loc) for _, loc in got]
    assert [len(run) for run in runs] == [4, 4, 3, 4, 4, 4, 3, 4]  # a sparse matrix
    assert [run.meta.params["provider"] for run in runs] == [
        "openai:gpt-4o-mini"
    ] * 4 + ["openai:gpt-4o"] * 4


def test_a_promptfoo_column_picked_by_selector_or_option_is_one_candidate(
    real: Path,
) -> None:
    results = real / "promptfoo_nicheIQ" / "results.json"
    assert expand(entry(f"{results}::provider=openai:gpt-4o,prompt=pain_v2")) == [
        (
            "results:provider=openai:gpt-4o,prompt=pain_v2",
            f"{results}::provider=openai:gpt-4o,prompt=pain_v2",
        ),
    ]
    assert expand(entry(results, label="4o", provider="openai:gpt-4o", prompt="1")) == [
        ("4o", str(results))
    ]


def test_promptfoo_columns_with_one_name_are_told_apart_by_column(
    real: Path, tmp_path: Path
) -> None:
    doc = json.loads((real / "promptfoo_nicheIQ" / "results.json").read_text())
    for row in doc["results"]["results"]:
        row["provider"]["label"] = "same"
        row["prompt"]["label"] = "same"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    labels = [label for label, _ in expand(entry(path))]
    assert labels == [f"same / same [column={i}]" for i in range(8)]


def test_a_damaged_promptfoo_file_names_the_file(real: Path, tmp_path: Path) -> None:
    text = (real / "promptfoo_nicheIQ" / "results.json").read_text()
    path = tmp_path / "results.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(RunFormatError, match=rf"^{path}"):
        expand(entry(path))


def test_an_lm_eval_folder_with_dated_runs_gives_one_per_date(real: Path) -> None:
    folder = real / MASAKHANER
    got = expand(entry(folder))
    dates = ["2026-01-16T20-19-39.102073", "2026-01-16T20-39-07.271056"]
    assert got == [(d, f"{folder}::date={d}") for d in dates]
    runs = [load_run(loc) for _, loc in got]
    assert [run.meta.extra["lm_eval"]["date"] for run in runs] == dates
    assert [len(run) for run in runs] == [185, 185]
    # the renamed results files are still found: 0-shot then 5-shot
    assert [run.meta.params["n-shot"] for run in runs] == [0, 5]


def test_an_lm_eval_folder_of_run_folders_names_them_by_folder(real: Path) -> None:
    folder = real / NEGOTIATION
    got = expand(entry(folder))
    assert [label for label, _ in got] == ["run_17-52-34.622576", "run_18-15-33.115417"]
    runs = [load_run(loc) for _, loc in got]
    assert [run.meta.name for run in runs] == ["Qwen/Qwen3-8B"] * 2
    assert [len(run) for run in runs] == [60, 60]
    assert [run.meta.extra["lm_eval"]["date"] for run in runs] == [
        "2026-07-08T17-52-34.622576",
        "2026-07-08T18-15-33.115417",
    ]


def test_an_lm_eval_folder_with_one_run_is_itself(real: Path, tmp_path: Path) -> None:
    one = tmp_path / "out"
    shutil.copytree(real / NEGOTIATION / "run_17-52-34.622576", one)
    assert expand(entry(one)) == [("out", str(one))]
    assert len(load_run(one)) == 60


def test_a_glob_over_multi_run_locations_expands_each_match(real: Path) -> None:
    labels = [label for label, _ in expand(entry(real / "lm-eval_*"))]
    assert labels == [
        f"{MASAKHANER}/2026-01-16T20-19-39.102073",
        f"{MASAKHANER}/2026-01-16T20-39-07.271056",
        f"{NEGOTIATION}/run_17-52-34.622576",
        f"{NEGOTIATION}/run_18-15-33.115417",
    ]


# ------------------------------------------------------------------------ MLflow


@pytest.fixture
def mlflow_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield mlflow
    mlflow.set_tracking_uri(None)


def log_experiment(mlflow, name: str) -> dict[str, str]:
    """Four runs: three finished (two with one name) and one that failed."""
    mlflow.set_experiment(name)
    ids: dict[str, str] = {}
    for key, run_name, status in (
        ("c=1", "c=1", "FINISHED"),
        ("broken", "c=3", "FAILED"),
        ("c=0.1", "c=0.1", "FINISHED"),
        ("again", "c=1", "FINISHED"),
    ):
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.log_param("C", run_name[2:])
            mlflow.log_metric("accuracy", 0.9)
            ids[key] = run.info.run_id
        if status != "FINISHED":
            mlflow.tracking.MlflowClient().set_terminated(run.info.run_id, status)
    return ids


def test_an_mlflow_file_store_experiment_gives_its_finished_runs(
    mlflow_module, tmp_path: Path
) -> None:
    mlflow = mlflow_module
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    ids = log_experiment(mlflow, "sweep")
    [folder] = {p.parent for p in (tmp_path / "mlruns").glob(f"*/{ids['c=1']}")}
    got = expand(entry(folder))
    assert (
        got
        == [  # in start order; a shared name gets the run id
            (f"c=1 ({ids['c=1'][:8]})", str(folder / ids["c=1"])),
            ("c=0.1", str(folder / ids["c=0.1"])),
            (f"c=1 ({ids['again'][:8]})", str(folder / ids["again"])),
        ]
    )
    assert [load_run(loc).meta.params for _, loc in got] == [
        {"C": "1"},
        {"C": "0.1"},
        {"C": "1"},
    ]


def test_the_bundled_mlflow_experiment_folder_holds_one_run(data: Path) -> None:
    folder = data / "mlruns" / "271828"
    assert expand(entry(folder)) == [("qa-baseline", str(folder / "0a1b2c3d4e5f"))]
    assert expand(entry(folder, label="base")) == [
        ("base", str(folder / "0a1b2c3d4e5f"))
    ]


def test_an_experiment_without_finished_runs_is_an_error(
    mlflow_module, tmp_path: Path
) -> None:
    mlflow = mlflow_module
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    mlflow.set_experiment("crashed")
    with mlflow.start_run() as run:
        pass
    mlflow.tracking.MlflowClient().set_terminated(run.info.run_id, "KILLED")
    [folder] = {p.parent for p in (tmp_path / "mlruns").glob(f"*/{run.info.run_id}")}
    with pytest.raises(RunNotFoundError, match=r"holds no finished run \(runs: 1 5\)"):
        expand(entry(folder))


def test_an_experiment_through_the_tracking_client_by_name_or_id(
    mlflow_module, tmp_path: Path
) -> None:
    mlflow = mlflow_module
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    ids = log_experiment(mlflow, "sweep of C")
    experiment_id = mlflow.get_experiment_by_name("sweep of C").experiment_id
    expected = [
        (f"c=1 ({ids['c=1'][:8]})", f"mlflow://{ids['c=1']}"),
        ("c=0.1", f"mlflow://{ids['c=0.1']}"),
        (f"c=1 ({ids['again'][:8]})", f"mlflow://{ids['again']}"),
    ]
    by_name = expand(entry("mlflow://experiment/sweep of C", tracking_uri=uri))
    assert by_name == expected
    by_id = expand(entry(f"mlflow://experiment/{experiment_id}", tracking_uri=uri))
    assert by_id == expected
    run = load_run(by_name[1][1], options={"tracking_uri": uri})
    assert run.meta.params == {"C": "0.1"}
    with pytest.raises(
        RunNotFoundError,
        match=r"mlflow://experiment/nope: no experiment named 'nope' \(nor with that "
        r"id\) on sqlite:///",
    ):
        expand(entry("mlflow://experiment/nope", tracking_uri=uri))


# ------------------------------------------------------------------------ errors


def test_a_glob_that_matches_nothing_names_the_entry(tmp_path: Path) -> None:
    with pytest.raises(
        RunNotFoundError,
        match=rf"candidates: {tmp_path}/runs/\*: the glob matches no file or folder "
        rf"\(looked in {tmp_path}/runs\)",
    ):
        expand(entry(tmp_path / "runs" / "*"))


def test_a_missing_location_names_the_entry(tmp_path: Path) -> None:
    with pytest.raises(
        RunNotFoundError,
        match=rf"candidates: 'c9' \({tmp_path}/c9\): {tmp_path}/c9: no such file",
    ):
        expand(entry(tmp_path / "c9", label="c9"))


def test_a_label_given_twice_is_a_config_error(sweep: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"the label 'best' is given twice \({sweep}/c1 and {sweep}/c10\)",
    ):
        expand(entry(sweep / "c1", label="best"), entry(sweep / "c10", label="best"))


def test_a_label_with_pytests_node_id_separator_is_refused(sweep: Path) -> None:
    # runcompare.yaml::a::b::score could not select candidate "a::b" by node id
    with pytest.raises(
        ConfigError,
        match=r"candidates: the label 'a::b' \(.*/c1\) contains '::', which separates "
        r"the parts of a pytest node id \(runcompare.yaml::<label>::<gate>\); "
        r"choose a label without it",
    ):
        expand(entry(sweep / "c1", label="a::b"))


def test_a_reader_label_with_the_node_id_separator_gets_one_colon(
    sweep: Path,
) -> None:
    def listed(location: str, options: dict) -> list[tuple[str, str]] | None:
        if location == str(sweep):
            return [("gpt::v1", str(sweep / "c1")), ("gpt::v2", str(sweep / "c10"))]
        return None

    found = expand_candidates([entry(sweep)], hook=listed)
    assert [c.label for c in found] == ["gpt:v1", "gpt:v2"]


def test_more_candidates_than_the_limit(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_CANDIDATES", "2")
    with pytest.raises(
        ConfigError,
        match=rf"candidates: {sweep}/\*: more than 2 candidates in one sweep.*"
        r"RUNCOMPARE_MAX_CANDIDATES=<number>",
    ):
        expand(entry(sweep / "*"))
    with pytest.raises(ConfigError, match="more than 2 candidates"):
        expand(entry(sweep))
    with pytest.raises(ConfigError, match="more than 2 candidates"):
        expand(entry(sweep / "c1"), entry(sweep / "c10"), entry(sweep / "c0.1"))
    monkeypatch.setenv("RUNCOMPARE_MAX_CANDIDATES", "3")
    assert len(expand(entry(sweep))) == 3


def test_a_location_that_cannot_be_listed_names_the_entry(sweep: Path) -> None:
    class Broken:
        @hookspecs.hookimpl
        def pytest_runcompare_list_runs(self, location: str, options: object) -> None:
            raise PermissionError(13, "Permission denied", location)

    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    pm.register(Broken())
    with pytest.raises(
        RunNotFoundError,
        match=rf"candidates: {sweep}: {sweep} could not be listed \(PermissionError",
    ):
        expand_candidates([entry(sweep)], hook=pm.hook.pytest_runcompare_list_runs)


def test_a_conftest_reader_lists_its_own_files(sweep: Path, tmp_path: Path) -> None:
    listing = tmp_path / "best.runs.txt"
    listing.write_text("c10\nc1\n", encoding="utf-8")

    class Listing:
        @hookspecs.hookimpl
        def pytest_runcompare_list_runs(
            self, location: str, options: object
        ) -> list[tuple[str, str]] | None:
            if not location.endswith(".runs.txt"):
                return None
            names = Path(location).read_text(encoding="utf-8").split()
            return [(name, str(sweep / name)) for name in names]

    pm = pluggy.PluginManager("pytest")
    pm.add_hookspecs(hookspecs)
    register_builtin_readers(pm)
    pm.register(Listing())
    hook = pm.hook.pytest_runcompare_list_runs
    got = expand_candidates([entry(listing), entry(sweep / "c0.1")], hook=hook)
    assert [(c.label, c.source.location) for c in got] == [
        ("c10", str(sweep / "c10")),
        ("c1", str(sweep / "c1")),
        ("c0.1", str(sweep / "c0.1")),
    ]


def test_a_recursive_glob_finds_runs_at_any_depth(tmp_path: Path) -> None:
    for where in ("a/best", "b/deeper/best", "c/other"):
        write_run(tmp_path / where, [True])
    assert expand(entry(tmp_path / "**" / "best")) == [
        ("a/best", str(tmp_path / "a" / "best")),
        ("b/deeper/best", str(tmp_path / "b" / "deeper" / "best")),
    ]


def test_the_gates_file_forms_expand_relative_to_the_file(sweep: Path) -> None:
    from pytest_runcompare.config import load_gates_file

    root = sweep.parent.parent
    write_run(root / "runs" / "baseline", [True, True, False])
    gates = root / "runcompare.yaml"
    gates.write_text(
        "baseline: runs/baseline\n"
        "candidates:\n"
        "  - runs/sweep/c1*\n"
        "  - {path: runs/sweep/c0.1, label: strong}\n"
        "metrics:\n  correct: {margin: 0.1}\n",
        encoding="utf-8",
    )
    config = load_gates_file(gates)
    assert [
        (c.label, Path(c.source.location)) for c in expand_candidates(config.candidates)
    ] == [
        ("c1", sweep / "c1"),
        ("c10", sweep / "c10"),
        ("strong", sweep / "c0.1"),
    ]
    gates.write_text(
        "baseline: runs/baseline\n"
        "candidates: {weak: runs/sweep/c10, all: runs/sweep}\n"
        "metrics:\n  correct: {margin: 0.1}\n",
        encoding="utf-8",
    )
    config = load_gates_file(gates)
    assert [c.label for c in expand_candidates(config.candidates)] == [
        "weak",
        "all/c0.1",
        "all/c1",
        "all/c10",
    ]
