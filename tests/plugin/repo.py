"""Small model repos for the integration tests: runs and a gates file."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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
