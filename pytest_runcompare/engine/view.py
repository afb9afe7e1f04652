"""Two runs in an engine, seen the way the pipeline sees a comparison.

:class:`EngineComparison` offers what ``pipeline.judge_engine`` reads of a
comparison (slice names and sizes, metric names, directions, compatibility) and
measures every gate: from sufficient statistics when its test is analytic at its
size, else in memory on the few rows the engine fetches for it (docs/statistics.md
§3: below ``BOOTSTRAP_T_MAX_N`` units the default test resamples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_runcompare.engine import sql
from pytest_runcompare.engine.compute import SqlEngine, summarize
from pytest_runcompare.engine.judge_summary import (
    EngineRefusal,
    measure_stats,
    wanted_impute,
)
from pytest_runcompare.engine.summary import Changed, GateStats, Scope
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.judge.evaluate import fail_closed, measure
from pytest_runcompare.judge.prepare import WithoutIds
from pytest_runcompare.judge.select import BOOTSTRAP_T_MAX_N
from pytest_runcompare.judge.spec import Gate, Pairing
from pytest_runcompare.runs import RunMeta

if TYPE_CHECKING:
    from pytest_runcompare.config import GatesConfig, GateSpec
    from pytest_runcompare.engine.source import EngineSource
    from pytest_runcompare.judge.verdict import Evidence

__all__ = ["FETCH_MAX", "TOP_K", "EngineComparison"]

#: Rows a small gate may fetch for the in-memory path.
FETCH_MAX = 200_000
#: Changed datapoints kept per metric for the report.
TOP_K = 20


@dataclass(frozen=True, slots=True)
class _RunView:
    """What the pipeline reads of one run on the engine path."""

    name: str
    meta: RunMeta
    metrics: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def metric_names(self) -> list[str]:
        """Per-datapoint metrics, sorted."""
        return list(self.metrics)


@dataclass
class EngineComparison:
    """The pipeline's view of two runs in an engine (see the module docstring)."""

    engine: SqlEngine
    config: GatesConfig
    baseline_meta: RunMeta = field(default_factory=RunMeta)
    candidate_meta: RunMeta = field(default_factory=RunMeta)
    engine_name: str = "duckdb"
    _tags: dict[str, int] | None = None
    changed: dict[str, tuple[Changed, ...]] = field(default_factory=dict)
    #: how many gates each path judged: statistics, in memory, refused
    paths: dict[str, int] = field(
        default_factory=lambda: {"statistics": 0, "in memory": 0, "refused": 0}
    )
    #: where the engine reads the two runs (the reports fetch a few outputs there)
    sources: tuple[EngineSource, EngineSource] | None = None

    def __post_init__(self) -> None:
        from pytest_runcompare.comparison import Compatibility

        self.baseline = _RunView(
            self.baseline_meta.name or "baseline",
            self.baseline_meta,
            self.engine.baseline.metrics,
        )
        self.candidate = _RunView(
            self.candidate_meta.name or "candidate",
            self.candidate_meta,
            self.engine.candidate.metrics,
        )
        self.compatibility = Compatibility(
            same_data=None,
            data_basis="not checked on the engine path",
            same_metrics=True,
            notes=(
                f"{self.engine_name} engine: run metadata and inputs are not "
                "compared (only the datapoints' metrics are read)",
            ),
        )
        self.directions: dict[str, bool] = {}
        self.assumed_directions: set[str] = set()
        given = dict(self.config.directions)
        for name in self.engine.metrics:
            if name in given:
                self.directions[name] = bool(given[name])
                continue
            declared = [
                d.higher_is_better
                for meta in (self.baseline_meta, self.candidate_meta)
                if (d := meta.metric_definitions.get(name)) is not None
                and d.higher_is_better is not None
            ]
            if declared:
                self.directions[name] = declared[0]
            else:
                self.assumed_directions.add(name)
                self.directions[name] = True

    # ---------------------------------------------------------- comparison facts
    @property
    def slice_sizes(self) -> dict[str, int]:
        """Per slice tag, the ids of either run carrying it."""
        if self._tags is None and not (
            self.engine.baseline.has_tags or self.engine.candidate.has_tags
        ):
            self._tags = {}
        if self._tags is None:
            query = (
                f"SELECT scope, count(*) AS n FROM ({sql.scoped(self.engine.dialect, (), True)}) s "
                "WHERE scope IS NOT NULL GROUP BY scope"
            )
            self._tags = {str(r["scope"]): int(r["n"]) for r in self.engine.rows(query)}
        return self._tags

    @property
    def slice_names(self) -> list[str]:
        """Slice tags of either run, sorted."""
        return sorted(self.slice_sizes)

    @property
    def step_names(self) -> list[str]:
        """Steps are not read by the engine path."""
        return []

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` either run has."""
        if not ids:
            return set()
        listed = ", ".join(sql.literal(i) for i in ids)
        rows = self.engine.rows(f"SELECT id FROM j WHERE id IN ({listed})")
        return {str(r["id"]) for r in rows}

    # ------------------------------------------------------------------ measure
    def _scopes(self, gate: Gate, excluded: tuple[str, ...]) -> list[Scope]:
        share = gate.aggregate == "rate" and gate.denominator is None
        hib = self._hib(gate)
        rules = {
            "none",
            wanted_impute(gate, True, hib),
            wanted_impute(gate, False, hib),
        }
        return [
            Scope(gate.metric, gate.slice, excluded, share, rule)
            for rule in sorted(rules)
        ]

    def _hib(self, gate: Gate) -> bool:
        if gate.higher_is_better is not None:
            return gate.higher_is_better
        return self.directions.get(gate.metric, True)

    def measure_all(
        self,
        specs: Sequence[GateSpec],
        seed: int,
        today: Any,
        custom: Mapping[str, Any],
    ) -> list[Evidence]:
        """Each gate's evidence (the engine path's ``pipeline._measure_all``)."""
        config = self.config
        wanted: list[Scope] = []
        excluded_of: list[tuple[str, ...]] = []
        for spec in specs:
            gate = spec.gate
            ids = (
                tuple(sorted(config.excluded_ids(gate, today))) if gate.declared else ()
            )
            excluded_of.append(ids)
            if gate.step is None:
                wanted.extend(self._scopes(gate, ids))
        stats = summarize(self.engine, wanted, top_k=TOP_K)
        for scope, s in stats.items():
            if scope.slice is None and not scope.excluded and s.changed:
                self.changed.setdefault(scope.metric, s.changed)
        out = []
        for spec, ids in zip(specs, excluded_of, strict=True):
            gate = spec.gate
            try:
                evidence = self._measure(gate, ids, stats, seed, custom)
            except ConfigError as error:
                if isinstance(error, EngineRefusal):
                    self.paths["refused"] += 1
                where = "" if config.path is None else str(config.path)
                if where and spec.line is not None:
                    where += f":{spec.line}"
                reason = f"{where}: {error}" if where else str(error)
                evidence = fail_closed(gate, reason, seed, config_error=True)
            out.append(evidence)
        return out

    def _measure(
        self,
        gate: Gate,
        ids: tuple[str, ...],
        stats: Mapping[Scope, GateStats],
        seed: int,
        custom: Mapping[str, Any],
    ) -> Evidence:
        if gate.step is not None:
            raise EngineRefusal(
                f"gate {gate.key!r}: step gates are not read by the engine path; "
                "judge them in memory (without an engine)"
            )
        if gate.pairing is Pairing.NONE:
            raise EngineRefusal(
                f"gate {gate.key!r}: pairing: none is not judged by the engine path; "
                "judge it in memory (without an engine)"
            )
        share = gate.aggregate == "rate" and gate.denominator is None
        plain = stats[Scope(gate.metric, gate.slice, ids, share, "none")]
        hib = self._hib(gate)
        rule = wanted_impute(gate, plain.boolean or share, hib)
        chosen = stats[Scope(gate.metric, gate.slice, ids, share, rule)]
        rows = chosen.n + chosen.n_nan + chosen.n_missing + chosen.n_missing_baseline
        units = chosen.n
        small = units < BOOTSTRAP_T_MAX_N or gate.denominator is not None
        if (small and rows <= FETCH_MAX) or gate.test in custom:
            if rows > FETCH_MAX:
                raise EngineRefusal(
                    f"gate {gate.key!r}: custom test {gate.test!r} needs every "
                    f"datapoint, and {rows} rows are more than the engine path "
                    f"fetches ({FETCH_MAX}); use test: t or test: auto"
                )
            self.paths["in memory"] += 1
            return self._in_memory(gate, ids, seed, custom)
        if self._replicated(gate):
            raise EngineRefusal(
                f"gate {gate.key!r}: the runs have replicates (datapoint groups), "
                "whose cluster statistics the engine path does not compute yet at "
                f"this size (n = {units}); judge it in memory (without an engine)"
            )
        evidence = measure_stats(
            chosen,
            gate,
            higher_is_better=self.directions.get(gate.metric, True),
            direction_assumed=gate.metric in self.assumed_directions,
            seed=seed,
        )
        self.paths["statistics"] += 1  # after a refusal, which raises
        return evidence

    def _replicated(self, gate: Gate) -> bool:
        if not (self.engine.baseline.has_groups or self.engine.candidate.has_groups):
            return False
        query = (
            "SELECT count(*) AS n, count(DISTINCT grp) AS g, "
            "count(*) FILTER (WHERE grp IS NULL) AS lone FROM j WHERE inb AND inc"
        )
        row = self.engine.rows(query)[0]
        return int(row["g"]) + int(row["lone"]) < int(row["n"])

    # ------------------------------------------------------------------ in memory
    def _records(self, view: str, gate: Gate) -> list[dict[str, Any]]:
        engine = self.engine
        names = [gate.metric] + ([gate.denominator] if gate.denominator else [])
        index = {m: i for i, m in enumerate(engine.metrics)}
        shape = engine.baseline if view == "b_run" else engine.candidate
        cols = [f"m_{index[m]}" for m in names if m in index and m in shape.metrics]
        if gate.slice is None:
            scope = "TRUE"
        else:
            tag = sql.literal(gate.slice)
            contains = (
                f"array_contains(tags, {tag})"
                if engine.dialect.name == "spark"
                else f"list_contains(tags, {tag})"
            )
            scope = f"id IN (SELECT id FROM j WHERE {contains})"
        select = ", ".join(["id", "grp", "tags", *cols])
        out = []
        query = f"SELECT {select} FROM {view} WHERE {scope} ORDER BY ord_file, ord"
        for r in engine.rows(query):
            metrics: dict[str, Any] = {}
            for m in names:
                if m not in index or m not in shape.metrics:
                    continue
                value = r[f"m_{index[m]}"]
                if value is None:
                    continue
                value = float(value)
                if m in shape.booleans and value in (0.0, 1.0):
                    metrics[m] = bool(value)
                else:
                    metrics[m] = value
            record: dict[str, Any] = {"id": str(r["id"]), "metrics": metrics}
            if r["tags"]:
                record["slices"] = list(r["tags"])
            if r["grp"] is not None:
                record["group"] = r["grp"]
            out.append(record)
        return out

    def _in_memory(
        self, gate: Gate, ids: tuple[str, ...], seed: int, custom: Mapping[str, Any]
    ) -> Evidence:
        from pytest_runcompare.building import build_run
        from pytest_runcompare.comparison import compare_runs

        base = build_run(self._records("b_run", gate), self.baseline_meta)
        cand = build_run(self._records("c_run", gate), self.candidate_meta)
        comparison = compare_runs(
            base,
            cand,
            directions=dict(self.config.directions),
            aggregates=dict(self.config.aggregates),
        )
        return measure(
            WithoutIds(comparison, ids), gate, seed=seed, custom_tests=custom
        )
