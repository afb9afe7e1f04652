"""Fixtures for the integration tests: small model repos for pytester sessions."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest


def datapoints(
    n: int,
    *,
    correct: Callable[[int], bool] = lambda i: i % 5 != 0,
    score: Callable[[int], float] = lambda i: 0.5 + (i % 7) / 20,
    output: Callable[[int], str] = lambda i: f"answer {i}",
    slices: Callable[[int], list[str]] = lambda i: [f"lang:{'de' if i % 2 else 'en'}"],
) -> list[dict[str, Any]]:
    """Native records: a binary metric, a continuous one, an output and a slice tag."""
    return [
        {
            "id": f"q{i}",
            "input": f"question {i}",
            "output": output(i),
            "metrics": {"exact_match": correct(i), "score": score(i)},
            "slices": slices(i),
        }
        for i in range(n)
    ]


def write_jsonl(
    path: Path, records: Sequence[dict[str, Any]], meta: dict[str, Any] | None = None
) -> Path:
    """A native ``.jsonl`` run with a ``{"run": ...}`` header line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"run": meta or {"name": path.stem}})]
    lines += [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
metrics:
  exact_match:
    margin: 0.05
    slices: [lang:de]
  score:
    margin: 2%
"""


@pytest.fixture
def model_repo(pytester: pytest.Pytester) -> Callable[..., pytest.Pytester]:
    """Write a baseline, a candidate and a gates file into the pytester directory."""

    def make(
        *,
        baseline: Sequence[dict[str, Any]] | None = None,
        candidate: Sequence[dict[str, Any]] | None = None,
        gates: str = GATES,
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
