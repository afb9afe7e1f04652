"""Engine-backed comparison: runs too large for memory, judged from sufficient statistics.

DuckDB (in-process, out of core; ``pip install 'pytest-runcompare[engine]'``) or
Apache Spark (``[spark]``) pairs the runs by id in SQL and computes per metric and
slice the counts, sums and central moments the analytic tests need
(:mod:`.summary`, :mod:`.compute`); :mod:`.judge_summary` judges a gate from them
through the same statistics code as the in-memory path. Small gates (fewer than
``judge.select.BOOTSTRAP_T_MAX_N`` units, whose default test resamples) are judged
in memory on the rows the engine fetches for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_runcompare.engine.source import (
    Engine,
    EngineSource,
    engine_source,
    read_meta,
)

if TYPE_CHECKING:
    from pytest_runcompare.config import GatesConfig
    from pytest_runcompare.engine.view import EngineComparison

__all__ = ["Engine", "EngineSource", "engine_source", "open_comparison"]


def _meta(src: EngineSource) -> Any:
    from pytest_runcompare.building import parse_meta
    from pytest_runcompare.runs import RunMeta

    raw = read_meta(src)
    if raw is None:
        return RunMeta()
    return parse_meta(raw, path=src.path)


def open_comparison(
    baseline: EngineSource,
    candidate: EngineSource,
    config: GatesConfig,
    *,
    options: Mapping[str, Any] | None = None,
) -> EngineComparison:
    """The two runs in their engine, ready for ``pipeline.judge_engine``.

    Both runs must name the same engine. ``options`` go to the engine
    (``memory_limit``, ``temp_directory``, ``threads`` for DuckDB; ``master`` for
    Spark).
    """
    from pytest_runcompare.engine.view import EngineComparison
    from pytest_runcompare.errors import ConfigError

    if baseline.engine is not candidate.engine:
        raise ConfigError(
            f"baseline.engine is {baseline.engine} but candidate.engine is "
            f"{candidate.engine}: both runs must be read by the same engine"
        )
    opts = dict(options or {})
    for src in (baseline, candidate):
        if src.memory_limit is not None:
            opts.setdefault("memory_limit", src.memory_limit)
        if src.temp_directory is not None:
            opts.setdefault("temp_directory", src.temp_directory)
    engine: Any
    if baseline.engine is Engine.SPARK:
        from pytest_runcompare.engine.spark_engine import SparkEngine

        opts.pop("memory_limit", None)
        opts.pop("temp_directory", None)
        engine = SparkEngine(baseline, candidate, **opts)
    else:
        try:
            import duckdb  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the DuckDB engine needs the duckdb package: pip install "
                "'pytest-runcompare[engine]'"
            ) from None
        from pytest_runcompare.engine.duckdb_engine import DuckDBEngine

        engine = DuckDBEngine(baseline, candidate, **opts)
    return EngineComparison(
        engine,
        config,
        baseline_meta=_meta(baseline),
        candidate_meta=_meta(candidate),
        engine_name=str(baseline.engine),
        sources=(baseline, candidate),
    )
