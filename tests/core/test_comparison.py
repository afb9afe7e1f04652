"""compare_runs against an independent numpy calculation on the raw records."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_runcompare import (
    ComparisonError,
    ConfigError,
    build_run,
    compare_runs,
    load_run,
)
from tests.core.conftest import write_jsonl

TAGS = ("lang:en", "lang:de", "hard")
METRICS = ("acc", "score", "loss")


def make_records(seed: int, ids: range, *, shift: float) -> list[dict[str, Any]]:
    """Random records; tags and steps depend on the id only, so both runs agree on them."""
    rng = np.random.default_rng(seed)
    out = []
    for i in ids:
        tag_rng = np.random.default_rng(10_000 + i)
        metrics: dict[str, Any] = {
            "acc": bool(rng.random() < 0.6 + shift),
            # rounded so that many pairs are exactly unchanged
            "score": round(float(rng.random() + shift), 1),
            "loss": float(rng.gamma(2.0) - shift),
        }
        if rng.random() < 0.1:
            del metrics["score"]  # missing on some datapoints
        rec: dict[str, Any] = {
            "id": f"d{i}",
            "input": f"question {i}",
            "expected": f"answer {i}",
            "output": f"out {i} {int(rng.random() < 0.3)}",
            "metrics": metrics,
            "slices": [t for t in TAGS if tag_rng.random() < 0.4],
        }
        if i % 4 == 0:
            rec["steps"] = [
                {
                    "name": "retrieve",
                    "output": "r",
                    "metrics": {"recall": float(rng.random())},
                },
                {
                    "name": "answer",
                    "output": "a",
                    "metrics": {"acc": bool(rng.random() < 0.5)},
                },
            ]
        out.append(rec)
    return out


BASE = make_records(1, range(300), shift=0.0)
CAND = make_records(2, range(20, 320), shift=0.05)
META_B = {
    "name": "base",
    "data_version": "v1",
    "metric_definitions": {"loss": {"higher_is_better": False}},
}
META_C = {
    "name": "cand",
    "data_version": "v1",
    "metric_definitions": {"loss": {"higher_is_better": False}},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    tmp = tmp_path_factory.mktemp("cmp")
    base = load_run(write_jsonl(tmp / "b.jsonl", BASE, META_B))
    cand = load_run(write_jsonl(tmp / "c.jsonl", CAND, META_C))
    return base, cand


def raw_pairs(
    metric: str, *, tag: str | None = None, step: str | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Common ids (baseline order) where both runs carry the metric, and the values."""

    def table(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {}
        for r in records:
            if tag is not None and tag not in r["slices"]:
                continue
            if step is None:
                out[r["id"]] = r["metrics"]
            else:
                for s in r.get("steps", []):
                    if s["name"] == step:
                        out[r["id"]] = s["metrics"]
        return out

    b, c = table(BASE), table(CAND)
    ids = [k for k in b if k in c and metric in b[k] and metric in c[k]]
    old = np.array([float(b[k][metric]) for k in ids])
    new = np.array([float(c[k][metric]) for k in ids])
    return ids, old, new


def numpy_aggregate(values: np.ndarray, name: str) -> float:
    if name == "mean":
        return float(np.mean(values))
    if name == "median":
        return float(np.median(values))
    if name == "sum":
        return float(np.sum(values))
    if name == "rate":
        return float(np.mean(values != 0))
    return float(np.percentile(values, float(name[1:])))


def check_delta(
    delta: Any, ids: list[str], old: np.ndarray, new: np.ndarray, agg: str, higher: bool
) -> None:
    o, n = numpy_aggregate(old, agg), numpy_aggregate(new, agg)
    assert delta.old_aggregate == pytest.approx(o, rel=1e-12, abs=1e-12)
    assert delta.new_aggregate == pytest.approx(n, rel=1e-12, abs=1e-12)
    assert delta.delta == pytest.approx(n - o, rel=1e-9, abs=1e-12)
    if o != 0:
        assert delta.relative_delta == pytest.approx(
            (n - o) / abs(o), rel=1e-9, abs=1e-12
        )
    sign = 1 if higher else -1
    diff = (new - old) * sign
    same = np.abs(new - old) <= 1e-12
    ids_arr = np.array(ids, dtype=object)
    assert delta.improved_count == int(((diff > 0) & ~same).sum())
    assert delta.degraded_count == int(((diff < 0) & ~same).sum())
    assert delta.unchanged_count == int(same.sum())
    assert list(delta.improved_ids) == list(ids_arr[(diff > 0) & ~same])
    assert list(delta.degraded_ids) == list(ids_arr[(diff < 0) & ~same])
    assert delta.improved_count + delta.degraded_count + delta.unchanged_count == len(
        ids
    )
    assert delta.n_paired == len(ids)
    assert delta.higher_is_better is higher


def test_datapoint_sets(runs) -> None:
    base, cand = runs
    result = compare_runs(base, cand)
    assert result.common_datapoints == [f"d{i}" for i in range(20, 300)]
    assert result.old_only_datapoints == [f"d{i}" for i in range(20)]
    assert result.new_only_datapoints == [f"d{i}" for i in range(300, 320)]
    assert result.n_common == 280
    assert result.coverage == pytest.approx(280 / 300)


def test_pairing_ignores_candidate_order(runs) -> None:
    base, _ = runs
    shuffled = list(CAND)
    np.random.default_rng(3).shuffle(shuffled)
    cand = build_run(shuffled, META_C)
    result = compare_runs(base, cand)
    assert result.common_datapoints == [f"d{i}" for i in range(20, 300)]
    ids, old, new = raw_pairs("score")
    check_delta(result.metric_deltas["score"], ids, old, new, "mean", True)


def _colliding_hashes(ids: Any) -> np.ndarray:
    """Every id gets one of three hashes: distinct ids collide all the time."""
    return np.array([sum(map(ord, i)) % 3 for i in ids], dtype=np.int64)


def test_pairing_holds_when_distinct_ids_share_a_hash(runs, monkeypatch) -> None:
    import pytest_runcompare.building as building
    import pytest_runcompare.runs as runs_module

    expected = compare_runs(*runs)
    monkeypatch.setattr(runs_module, "id_hashes", _colliding_hashes)
    monkeypatch.setattr(building, "id_hashes", _colliding_hashes)
    shuffled = list(CAND)
    np.random.default_rng(5).shuffle(shuffled)
    base, cand = build_run(BASE, META_B), build_run(shuffled, META_C)
    assert len(set(base.datapoints.hashes.tolist())) == 3  # collisions happened
    result = compare_runs(base, cand)
    assert result.common_datapoints == expected.common_datapoints
    assert result.old_only_datapoints == expected.old_only_datapoints
    # in candidate order, which is shuffled here
    assert sorted(result.new_only_datapoints) == sorted(expected.new_only_datapoints)
    ids, old, new = raw_pairs("score")
    check_delta(result.metric_deltas["score"], ids, old, new, "mean", True)


def test_duplicate_id_is_refused_when_ids_share_hashes(monkeypatch) -> None:
    import pytest_runcompare.building as building

    monkeypatch.setattr(building, "id_hashes", _colliding_hashes)
    records = [{"id": f"d{i}", "output": i, "metrics": {"m": 1.0}} for i in range(6)]
    assert len(build_run(records)) == 6  # shared hashes alone are no duplicate
    with pytest.raises(
        Exception, match=r"duplicate id \(first seen at datapoints\[2\]\)"
    ):
        build_run([*records, {"id": "d2", "output": 0, "metrics": {"m": 0.0}}])


@pytest.mark.parametrize(
    "agg", ["mean", "median", "sum", "rate", "p50", "p90", "p95", "p99"]
)
@pytest.mark.parametrize("metric", METRICS)
def test_metric_deltas_match_numpy(runs, metric: str, agg: str) -> None:
    base, cand = runs
    result = compare_runs(base, cand, aggregates={metric: agg})
    ids, old, new = raw_pairs(metric)
    delta = result.metric_deltas[metric]
    assert delta.aggregate == agg
    check_delta(delta, ids, old, new, agg, metric != "loss")


def test_unknown_aggregate(runs) -> None:
    with pytest.raises(ConfigError, match="unknown aggregate 'p100'"):
        compare_runs(*runs, aggregates={"acc": "p100"})


def test_every_metric_of_either_run_is_listed(runs) -> None:
    base, _cand = runs
    only_new = build_run(
        [dict(r, metrics={**r["metrics"], "extra": 1.0}) for r in CAND], META_C
    )
    result = compare_runs(base, only_new)
    assert set(result.metric_deltas) == {"acc", "score", "loss", "extra"}
    extra = result.metric_deltas["extra"]
    assert not extra.in_baseline
    assert extra.in_candidate
    assert extra.old_aggregate is None
    assert extra.delta is None
    assert not extra.improved
    assert not extra.degraded
    assert "metric 'extra' is new in the candidate" in result.compatibility.notes


def test_direction_from_definitions_config_and_assumption(runs) -> None:
    base, cand = runs
    result = compare_runs(base, cand)
    assert result.directions == {
        "acc": True,
        "loss": False,
        "recall": True,
        "score": True,
    }
    assert result.assumed_directions == {"acc", "recall", "score"}
    assert result.metric_deltas["acc"].direction_assumed
    assert not result.metric_deltas["loss"].direction_assumed
    # configuration wins over the runs' definitions
    flipped = compare_runs(base, cand, directions={"loss": "higher", "score": False})
    assert flipped.directions["loss"] is True
    assert flipped.directions["score"] is False
    assert flipped.assumed_directions == {"acc", "recall"}
    ids, old, new = raw_pairs("score")
    check_delta(flipped.metric_deltas["score"], ids, old, new, "mean", False)
    ids, old, new = raw_pairs("loss")
    check_delta(flipped.metric_deltas["loss"], ids, old, new, "mean", True)


def test_bad_direction_value(runs) -> None:
    with pytest.raises(
        ComparisonError, match="direction of 'acc' must be 'higher' or 'lower'"
    ):
        compare_runs(*runs, directions={"acc": "up"})


def test_improved_and_degraded_metric_lists(runs) -> None:
    base, cand = runs
    result = compare_runs(base, cand)
    improved, degraded = [], []
    for metric in METRICS:
        _, old, new = raw_pairs(metric)
        change = (new.mean() - old.mean()) * (1 if metric != "loss" else -1)
        (improved if change > 0 else degraded).append(metric)
    assert result.list_improved_metrics() == sorted(improved)
    assert result.list_degraded_metrics() == sorted(degraded)
    # lower-is-better: loss went down by construction, so it improved
    assert "loss" in result.list_improved_metrics()
    assert result.get_metric_delta("loss").oriented_delta > 0
    with pytest.raises(ComparisonError, match="unknown metric 'nope'"):
        result.get_metric_delta("nope")


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("metric", METRICS)
def test_slice_deltas_match_numpy(runs, tag: str, metric: str) -> None:
    result = compare_runs(*runs)
    assert result.slice_names == sorted(TAGS)
    ids, old, new = raw_pairs(metric, tag=tag)
    assert len(ids) > 20
    check_delta(
        result.slice_deltas[tag][metric], ids, old, new, "mean", metric != "loss"
    )
    assert result.get_metric_delta(metric, slice=tag).n_paired == len(ids)


def test_unknown_slice(runs) -> None:
    with pytest.raises(ComparisonError, match="unknown slice 'lang:xx'"):
        compare_runs(*runs).get_metric_delta("acc", slice="lang:xx")


@pytest.mark.parametrize(
    ("step", "metric"), [("retrieve", "recall"), ("answer", "acc")]
)
def test_step_deltas_match_numpy(runs, step: str, metric: str) -> None:
    result = compare_runs(*runs)
    assert result.step_names == ["retrieve", "answer"]
    ids, old, new = raw_pairs(metric, step=step)
    assert len(ids) > 20
    check_delta(result.step_deltas[step][metric], ids, old, new, "mean", True)
    assert set(result.step_deltas[step]) == {metric}


def test_step_within_slice(runs) -> None:
    result = compare_runs(*runs)
    ids, old, new = raw_pairs("recall", step="retrieve", tag="hard")
    delta = result.get_metric_delta("recall", step="retrieve", slice="hard")
    check_delta(delta, ids, old, new, "mean", True)


def test_unknown_step(runs) -> None:
    result = compare_runs(*runs)
    with pytest.raises(ComparisonError, match="unknown step 'plan'"):
        result.get_metric_delta("acc", step="plan")
    with pytest.raises(ComparisonError, match="step 'retrieve' has no metric 'acc'"):
        result.get_metric_delta("acc", step="retrieve")


def test_changed_outputs(runs) -> None:
    result = compare_runs(*runs)
    base = {r["id"]: r for r in BASE}
    cand = {r["id"]: r for r in CAND}
    expected = [k for k in base if k in cand and base[k]["output"] != cand[k]["output"]]
    changed = result.changed_outputs()
    assert [c.id for c in changed] == expected
    assert result.changed_output_count == len(expected)
    first = changed[0]
    assert first.old_output == base[first.id]["output"]
    assert first.new_output == cand[first.id]["output"]
    assert first.input == base[first.id]["input"]
    for name in METRICS:
        change = first.metrics.get(name)
        old = base[first.id]["metrics"].get(name)
        new = cand[first.id]["metrics"].get(name)
        if old is None and new is None:
            assert change is None
            continue
        assert change.old == (None if old is None else float(old))
        assert change.new == (None if new is None else float(new))
    assert len(result.changed_outputs(limit=3)) == 3


def test_changed_outputs_sorted_by_regression(runs) -> None:
    result = compare_runs(*runs)
    worst = result.changed_outputs(sort_by="loss", limit=5)
    # loss is lower-is-better: the biggest increase first
    increases = [c.metrics["loss"].delta for c in worst]
    assert increases == sorted(increases, reverse=True)
    all_increases = [c.metrics["loss"].delta for c in result.changed_outputs()]
    assert increases[0] == max(all_increases)


def test_changed_outputs_compares_json_values() -> None:
    base = build_run(
        [{"id": 1, "output": {"a": [1, 2]}}, {"id": 2, "output": {"a": 1}}]
    )
    cand = build_run(
        [{"id": 1, "output": {"a": [1, 2]}}, {"id": 2, "output": {"a": 2}}]
    )
    assert [c.id for c in compare_runs(base, cand).changed_outputs()] == ["2"]


def test_lineage_side_by_side() -> None:
    rec = [{"id": 1, "output": "", "metrics": {"m": 1.0}}]
    old = build_run(
        rec,
        {
            "params": {"lr": 0.1, "model": "a"},
            "code_version": {"commit": "aaa", "dirty": False},
            "data_version": "v1",
            "environment": {"python": "3.11.1", "packages": {"numpy": "2.0"}},
            "seed": 1,
        },
    )
    new = build_run(
        rec,
        {
            "params": {"lr": 0.2, "model": "a", "new": True},
            "code_version": {"commit": "bbb", "dirty": True},
            "data_version": "v1",
            "environment": {"python": "3.11.1", "packages": {"numpy": "2.1"}},
            "seed": 2,
        },
    )
    rows = {e.field: e for e in compare_runs(old, new).lineage}
    assert (
        rows["params.lr"].old,
        rows["params.lr"].new,
        rows["params.lr"].changed,
    ) == (0.1, 0.2, True)
    assert not rows["params.model"].changed
    assert (rows["params.new"].old, rows["params.new"].new) == (None, True)
    assert rows["code_version.commit"].changed
    assert rows["code_version.dirty"].changed
    assert not rows["data_version"].changed
    assert not rows["environment.python"].changed
    assert rows["environment.packages.numpy"].changed
    assert (rows["seed"].old, rows["seed"].new) == (1, 2)
    changed = {e.field for e in compare_runs(old, new).lineage if e.changed}
    assert changed == {
        "params.lr",
        "params.new",
        "code_version.commit",
        "code_version.dirty",
        "environment.packages.numpy",
        "seed",
    }


def _pair(meta_b: dict[str, Any], meta_c: dict[str, Any], recs_b=None, recs_c=None):
    recs_b = recs_b or [
        {"id": i, "output": "", "metrics": {"m": 1.0}} for i in range(3)
    ]
    recs_c = recs_c or recs_b
    return compare_runs(
        build_run(recs_b, meta_b), build_run(recs_c, meta_c)
    ).compatibility


def test_compatibility_same_data_version() -> None:
    compat = _pair({"data_version": "v1"}, {"data_version": "v1"})
    assert compat.compatible
    assert compat.same_data is True
    assert compat.data_basis == "data_version"


def test_compatibility_different_data_version() -> None:
    compat = _pair({"data_version": "v1"}, {"data_version": "v2"})
    assert not compat.compatible
    assert compat.same_data is False
    assert any(
        "different data versions" in p and "'v1'" in p and "'v2'" in p
        for p in compat.problems
    )


def test_compatibility_unknown_without_version_or_inputs() -> None:
    compat = _pair({}, {})
    assert compat.compatible
    assert compat.same_data is None
    assert compat.data_basis == "none"
    assert any("could not check" in n for n in compat.notes)


def test_compatibility_by_content_hash() -> None:
    recs = [
        {"id": i, "input": {"q": i, "ctx": [1, 2]}, "expected": str(i), "output": ""}
        for i in range(4)
    ]
    same = _pair(
        {}, {}, recs, [dict(r, input={"ctx": [1, 2], "q": r["id"]}) for r in recs]
    )
    assert same.compatible
    assert same.same_data is True
    assert same.data_basis == "content"
    changed = [dict(r) for r in recs]
    changed[2]["input"] = {"q": 99}
    changed[3]["expected"] = "other"
    compat = _pair({}, {}, recs, changed)
    assert compat.same_data is False
    assert any(
        "2 of 4 common datapoints have a different input or expected output (first: '2')"
        in p
        for p in compat.problems
    )


def test_compatibility_content_overrides_same_version() -> None:
    recs = [{"id": 1, "input": "a", "output": ""}]
    compat = _pair(
        {"data_version": "v1"},
        {"data_version": "v1"},
        recs,
        [{"id": 1, "input": "b", "output": ""}],
    )
    assert compat.same_data is False
    assert compat.data_basis == "data_version+content"


def test_compatibility_conflicting_metric_definitions() -> None:
    compat = _pair(
        {"metric_definitions": {"m": {"higher_is_better": True, "version": "1"}}},
        {"metric_definitions": {"m": {"direction": "lower", "version": "2"}}},
    )
    assert not compat.same_metrics
    assert not compat.compatible
    assert any(
        "'m' is defined differently: higher_is_better True" in p
        for p in compat.problems
    )
    assert any(
        "version '1' in the baseline, '2' in the candidate" in p
        for p in compat.problems
    )


def test_direction_conflict_is_recorded() -> None:
    rec = [{"id": 1, "output": "", "metrics": {"m": 1.0}}]
    result = compare_runs(
        build_run(rec, {"metric_definitions": {"m": {"higher_is_better": True}}}),
        build_run(rec, {"metric_definitions": {"m": {"higher_is_better": False}}}),
    )
    assert result.direction_conflicts == {"m": (True, False)}


def test_aggregate_only_runs(tmp_path: Path) -> None:
    for name, acc in (("b", 0.5), ("c", 0.75)):
        d = tmp_path / name
        d.mkdir()
        (d / "run.yaml").write_text(f"metrics: {{acc: {acc}}}\n", encoding="utf-8")
    result = compare_runs(load_run(tmp_path / "b"), load_run(tmp_path / "c"))
    delta = result.metric_deltas["acc"]
    assert (delta.old_aggregate, delta.new_aggregate, delta.delta) == (0.5, 0.75, 0.25)
    assert delta.relative_delta == pytest.approx(0.5)
    assert delta.n_paired == 0
    assert delta.improved
    assert result.list_improved_metrics() == ["acc"]


def test_nan_values_are_not_paired() -> None:
    meta = {"metric_definitions": {"m": {"allow_nan": True}}}
    base = build_run(
        [
            {"id": i, "output": "", "metrics": {"m": v}}
            for i, v in enumerate([1.0, math.nan, 3.0])
        ],
        meta,
    )
    cand = build_run(
        [
            {"id": i, "output": "", "metrics": {"m": v}}
            for i, v in enumerate([2.0, 2.0, math.nan])
        ],
        meta,
    )
    result = compare_runs(base, cand)
    delta = result.metric_deltas["m"]
    assert delta.n_paired == 1
    assert delta.old_aggregate == 1.0
    assert delta.new_aggregate == 2.0
    assert result.paired("m").nan_ids.tolist() == ["1", "2"]


def test_missing_values_are_reported() -> None:
    base = build_run([{"id": i, "output": "", "metrics": {"m": 1.0}} for i in range(4)])
    cand = build_run(
        [
            {"id": i, "output": "", "metrics": {"m": 2.0} if i < 2 else {}}
            for i in range(4)
        ]
    )
    delta = compare_runs(base, cand).metric_deltas["m"]
    assert delta.n_paired == 2
    assert delta.n_missing_in_candidate == 2


def test_paired_metric_from_arrays_matches_compare_runs() -> None:
    """The shortcut for paired arrays gives what the comparison gives for the same data."""
    import numpy as np

    from pytest_runcompare.building import build_run
    from pytest_runcompare.comparison import PairedMetric, compare_runs

    base = [0.2, 0.5, 0.9]
    cand = [0.3, 0.5, 0.7]
    runs = [
        build_run([{"id": i, "metrics": {"m": v}} for i, v in enumerate(vals)], {})
        for vals in (base, cand)
    ]
    real = compare_runs(*runs).paired("m")
    made = PairedMetric.from_arrays(
        "m", np.array(base), np.array(cand), ids=np.array(["0", "1", "2"], dtype=object)
    )
    for field in ("baseline", "candidate", "ids", "missing_in_candidate", "nan_ids"):
        np.testing.assert_array_equal(getattr(made, field), getattr(real, field))
    assert (made.n, made.baseline_count, made.candidate_count) == (3, 3, 3)
