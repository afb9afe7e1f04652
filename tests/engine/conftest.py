"""Shared data for the engine tests: one generated run pair, judged in memory once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare import pipeline
from pytest_runcompare.config import load_gates_file

from .engine_data import make_pair, write_parquet

#: Datapoints per run: the whole-run gates take the analytic path (n ≥ 500), the
#: ``tiny`` slice (45 datapoints) the in-memory one.
N = 20_000


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The runs as JSONL folders and Parquet files, the gates, the in-memory judgement."""
    tmp = tmp_path_factory.mktemp("engine")
    base, cand, gates = make_pair(tmp, N)
    config = load_gates_file(gates)
    request = pipeline.build_request(config)
    comparison = pipeline.compare(
        pipeline.load(str(base)), pipeline.load(str(cand)), config
    )
    return {
        "base": base,
        "cand": cand,
        "base_parquet": write_parquet(base, tmp / "parquet" / "baseline"),
        "cand_parquet": write_parquet(cand, tmp / "parquet" / "candidate"),
        "gates": gates,
        "config": config,
        "request": request,
        "memory": pipeline.judge(comparison, request),
        "tmp": tmp,
    }


def judged_paths(path: Path) -> str:
    """A path as the gates file names it."""
    return str(path)
