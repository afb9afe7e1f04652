"""Fixtures for the integration tests: small model repos for pytester sessions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from helpers import JSONL_GATES, datapoints, write_jsonl


@pytest.fixture
def model_repo(pytester: pytest.Pytester) -> Callable[..., pytest.Pytester]:
    """Write a baseline, a candidate and a gates file into the pytester directory."""

    def make(
        *,
        baseline: Sequence[dict[str, Any]] | None = None,
        candidate: Sequence[dict[str, Any]] | None = None,
        gates: str = JSONL_GATES,
        n: int = 400,
    ) -> pytest.Pytester:
        base = baseline if baseline is not None else datapoints(n)
        cand = candidate if candidate is not None else datapoints(n)
        write_jsonl(
            pytester.path / "runs" / "baseline.jsonl", base, {"name": "baseline"}
        )
        write_jsonl(
            pytester.path / "runs" / "candidate.jsonl", cand, {"name": "candidate"}
        )
        (pytester.path / "runcompare.yaml").write_text(gates, encoding="utf-8")
        return pytester

    return make
