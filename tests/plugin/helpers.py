"""Shared workflows of the plugin's integration tests: small model repositories.

A repository here is what a user has: a baseline run, a candidate run and a gates
file ``runcompare.yaml``, inside a :class:`pytest.Pytester` directory. The records
are deterministic, so the verdicts are too. Two kinds are built:

* run directories written by the real writer: :func:`make_records` and
  :func:`make_repo` (``runs/baseline``, ``runs/candidate``, :data:`DEFAULT_GATES`);
* native ``.jsonl`` files written line by line, so a test can edit a line:
  :func:`datapoints` and :func:`write_jsonl` (``runs/baseline.jsonl``,
  ``runs/candidate.jsonl``, :data:`JSONL_GATES`; the ``model_repo`` fixture of
  ``conftest.py`` writes them).
"""

from __future__ import annotations

import json
import random
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_runcompare.building import build_run
from pytest_runcompare.writer import save_run

#: A code version every baseline carries, so provenance can be told apart.
BASELINE_COMMIT = "b" * 40
CANDIDATE_COMMIT = "c" * 40

DEFAULT_GATES = """\
baseline: runs/baseline
candidate: runs/candidate
metrics:
  score:
    direction: higher
    margin: 0.05
    slices: [lang:de]
"""


def make_records(
    n: int = 200,
    *,
    seed: int = 0,
    shift: Mapping[tuple[str | None, str | None], float] | None = None,
    noise: float = 0.0,
    relabel: Sequence[int] = (),
    metrics: Sequence[str] = ("score",),
) -> list[dict[str, Any]]:
    """``n`` datapoints, every other one ``lang:de`` (else ``lang:en``).

    ``shift`` maps ``(metric, slice)`` to a change added to that metric on that
    slice's datapoints (``None``: every metric, every datapoint); ``noise`` adds
    seeded Gaussian noise of that size to every value;
    ``relabel`` gives these datapoints a different expected output (other data).
    Each metric is a number in [0, 1] that differs per datapoint.
    """
    rng = random.Random(seed)
    noise_rng = random.Random(seed + 1000)
    shift = dict(shift or {})
    out = []
    for i in range(n):
        lang = "de" if i % 2 == 0 else "en"
        tag = f"lang:{lang}"
        values = {}
        for name in metrics:
            value = 0.5 + 0.4 * rng.random()
            for (metric, where), change in shift.items():
                if metric in (None, name) and where in (None, tag):
                    value += change
            if noise:
                value += noise_rng.gauss(0.0, noise)
            values[name] = round(value, 6)
        out.append(
            {
                "id": f"q-{i:04d}",
                "input": f"question {i}",
                "expected": f"answer {i}" + (" (relabelled)" if i in relabel else ""),
                "output": f"answer {i}",
                "metrics": values,
                "slices": [tag],
            }
        )
    return out


def write_run(
    path: Path, records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]
) -> Path:
    """Validate ``records`` into a run and save it at ``path`` with the real writer."""
    run = build_run(list(records), dict(meta), path=str(path))
    return save_run(run, path)


def run_meta(name: str, **changes: Any) -> dict[str, Any]:
    """Run metadata with a name, a code version and a data version."""
    commit = CANDIDATE_COMMIT if name == "candidate" else BASELINE_COMMIT
    meta: dict[str, Any] = {
        "name": name,
        "code_version": {"commit": commit, "dirty": False},
        "data_version": "qa-v1",
        "seed": 0,
        "complete": True,
    }
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def make_repo(
    pytester: pytest.Pytester,
    baseline_records: Sequence[Mapping[str, Any]] | None,
    candidate_records: Sequence[Mapping[str, Any]] | None,
    gates_yaml: str = DEFAULT_GATES,
    *,
    baseline_meta: Mapping[str, Any] | None = None,
    candidate_meta: Mapping[str, Any] | None = None,
    tests: str | None = None,
) -> Path:
    """A model repository in ``pytester.path``; ``None`` records: that run is absent.

    ``tests`` is the source of ``test_model.py`` (hand-written tests beside the
    gates). Returns the repository's root.
    """
    root = pytester.path
    pytester.makeini("[pytest]\n")
    if baseline_records is not None:
        write_run(
            root / "runs" / "baseline",
            baseline_records,
            {**run_meta("baseline"), **(baseline_meta or {})},
        )
    if candidate_records is not None:
        write_run(
            root / "runs" / "candidate",
            candidate_records,
            {**run_meta("candidate"), **(candidate_meta or {})},
        )
    (root / "runcompare.yaml").write_text(textwrap.dedent(gates_yaml), "utf-8")
    if tests is not None:
        pytester.makepyfile(test_model=textwrap.dedent(tests))
    return root


def gates_with(extra: str, metrics: str | None = None) -> str:
    """The default gates file with ``extra`` appended (waivers, defaults)."""
    head = DEFAULT_GATES if metrics is None else _HEAD + textwrap.dedent(metrics)
    return head + textwrap.dedent(extra)


_HEAD = "baseline: runs/baseline\ncandidate: runs/candidate\n"


def outcomes_by_nodeid(result: pytest.RunResult) -> dict[str, str]:
    """``nodeid -> PASSED/FAILED/XFAIL/...`` from the ``-rA`` short summary."""
    out: dict[str, str] = {}
    for line in result.outlines:
        parts = strip_colour(line).split(" ", 2)
        if len(parts) >= 2 and parts[0] in {
            "PASSED",
            "FAILED",
            "XFAIL",
            "XPASS",
            "SKIPPED",
            "ERROR",
        }:
            out[parts[1]] = parts[0]
    return out


def strip_colour(line: str) -> str:
    """A line without its ANSI colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", line)


def summary_section(result: pytest.RunResult) -> list[str]:
    """The lines of the ``runcompare`` terminal summary section."""
    lines = result.outlines
    start = next(
        (i for i, line in enumerate(lines) if line.strip("= ") == "runcompare"),
        None,
    )
    if start is None:
        return []
    out = []
    for line in lines[start + 1 :]:
        if line.startswith(("====", "____")):
            break
        out.append(line)
    return out


def read_json(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------- native .jsonl runs written by hand

JSONL_GATES = """\
baseline: runs/baseline.jsonl
candidate: runs/candidate.jsonl
metrics:
  exact_match:
    margin: 0.05
    slices: [lang:de]
  score:
    margin: 2%
"""


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
