"""A realistic comparison built with the real core, and verdicts to render with it."""

from __future__ import annotations

import json
import random
from typing import Any

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import RunComparisonResult, compare_runs

HOSTILE_OUTPUTS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "</script><script>window.__pwned=3</script>",
)
HOSTILE_ID = "<b>id</b>\"'&</script>"
HOSTILE_METRIC = "<i>f1</i>"
HOSTILE_SLICE = "lang:<svg onload=alert(1)>"
HOSTILE_PARAM = "<img src=x onerror=window.__pwned=4>"

_WORDS = [
    "the",
    "model",
    "answered",
    "that",
    "paris",
    "is",
    "the",
    "capital",
    "of",
    "france",
    "and",
    "the",
    "river",
    "seine",
    "flows",
    "through",
    "it",
    "while",
    "the",
    "eiffel",
    "tower",
    "stands",
    "near",
    "the",
    "champ",
    "de",
    "mars",
]


def make_records(
    n: int, *, candidate: bool, seed: int, hostile: bool = True, steps: bool = True
) -> list[dict[str, Any]]:
    """``n`` datapoints of a QA eval: accuracy (binary), f1, latency (lower is better)."""
    rng = random.Random(seed)
    records = []
    for k in range(n):
        words = _WORDS[k % 7 : k % 7 + 12]
        output = " ".join(words)
        correct = rng.random() < 0.8
        f1 = round(rng.uniform(0.5, 1.0), 4)
        latency = round(rng.gauss(1.2, 0.2), 4)
        if candidate:
            if k % 5 == 0:  # a regression: a changed, wrong answer
                words = [*words[:3], "berlin", *words[4:]]
                output = " ".join(words)
                correct = False
                f1 = round(f1 - 0.3, 4)
            elif k % 11 == 0:
                output = output.replace("the", "a", 1)
                correct = True
                f1 = round(min(1.0, f1 + 0.1), 4)
            latency = round(latency * 0.9, 4)
        tags = ["lang:de" if k % 3 == 0 else "lang:en"]
        if k % 4 == 0:
            tags.append("hard")
        rec: dict[str, Any] = {
            "id": f"q{k:04d}",
            "input": f"Question {k}: what is the capital of France?",
            "output": output,
            "expected": "paris",
            "metrics": {"accuracy": correct, "f1": f1, "latency_s": latency},
            "slices": tags,
        }
        if steps:
            rec["steps"] = [
                {
                    "name": "retrieve",
                    "output": f"doc{k}",
                    "metrics": {"recall": 1.0 if correct else 0.0},
                },
                {"name": "answer", "output": output, "metrics": {"f1": f1}},
            ]
        records.append(rec)
    if hostile:
        for k, text in enumerate(HOSTILE_OUTPUTS):
            records[k + 1]["output"] = text if candidate else "plain answer"
        records[4]["id"] = HOSTILE_ID
        records[4]["metrics"][HOSTILE_METRIC] = 0.5 if candidate else 0.7
        records[4]["slices"] = [HOSTILE_SLICE]
        # a JSON output with a structural change
        records[6]["output"] = json.dumps(
            {
                "answer": "paris",
                "confidence": 0.9 if not candidate else 0.4,
                "sources": ["wiki"] + (["<script>x</script>"] if candidate else []),
            }
        )
    return records


def make_comparison(
    n: int = 60, *, hostile: bool = True, steps: bool = True
) -> RunComparisonResult:
    meta_common = {
        "metric_definitions": {
            "accuracy": {"higher_is_better": True},
            "f1": {"higher_is_better": True},
            "latency_s": {"higher_is_better": False},
        },
        "data_version": "qa-v3",
    }
    base_records = make_records(
        n, candidate=False, seed=1, hostile=hostile, steps=steps
    )
    cand_records = make_records(n, candidate=True, seed=1, hostile=hostile, steps=steps)
    base_records.append({"id": "gone-1", "output": "old only", "metrics": {"f1": 0.9}})
    cand_records.append({"id": "new-1", "output": "new only", "metrics": {"f1": 0.2}})
    base = build_run(
        base_records,
        {
            "name": "gpt-small@main",
            "params": {"lr": 0.001, "prompt": "v1"},
            "code_version": {"commit": "abc123"},
            "environment": {"python": "3.11.9"},
            "seed": 1,
            **meta_common,
        },
    )
    cand = build_run(
        cand_records,
        {
            "name": "gpt-small@feature" + ("<script>x</script>" if hostile else ""),
            "params": {"lr": 0.002, "prompt": HOSTILE_PARAM if hostile else "v2"},
            "code_version": {"commit": "def456"},
            "environment": {"python": "3.11.9"},
            "seed": 1,
            **meta_common,
        },
    )
    return compare_runs(base, cand)


def make_verdicts(comparison: RunComparisonResult) -> list[Any]:
    """Verdicts of three gates: the real gate engine when it exists, else built by hand."""
    from pytest_runcompare.judge import Gate, Outcome, Verdict

    out = []
    specs = [
        ("accuracy", None, "0.02", Outcome.FAIL, False),
        ("f1", None, "0.05", Outcome.FAIL, False),
        ("latency_s", None, "10%", Outcome.PASS, True),
        ("accuracy", "lang:de", "0.05", Outcome.INCONCLUSIVE, False),
        ("f1", "hard", "0.05", Outcome.FAIL, True),  # warn-only: cannot fail the run
    ]
    for metric, slice_, margin, outcome, passed in specs:
        declared = slice_ != "hard"
        gate = Gate(metric=metric, slice=slice_, margin=margin, declared=declared)
        d = comparison.get_metric_delta(metric, slice=slice_)
        est = d.oriented_delta or 0.0
        out.append(
            Verdict(
                gate=gate,
                key=gate.key,
                outcome=outcome,
                passed=passed,
                improved=est > 0.05,
                text=f"{gate.key}: {outcome} <em>not markup</em>",
                warnings=("few datapoints",) if slice_ else (),
                baseline_aggregate=d.old_aggregate or 0.0,
                candidate_aggregate=d.new_aggregate or 0.0,
                estimate=est,
                bound=est - 0.05,
                ci_low=est - 0.06,
                ci_high=est + 0.06,
                confidence_level=0.9,
                margin=float(margin.rstrip("%")) / (100 if "%" in margin else 1),
                margin_text=margin,
                p_value=0.0123,
                p_adjusted=None,
                test="paired t",
                test_reason="continuous metric",
                tests_what="mean of paired differences",
                n_paired=d.n_paired,
                improved_count=d.improved_count,
                degraded_count=d.degraded_count,
                unchanged_count=d.unchanged_count,
                seed=0,
                numpy_version="2.0",
                scipy_version="1.14",
            )
        )
    return out


def make_judgement(comparison: RunComparisonResult, verdicts: list[Any] | None = None):
    """A judgement of ``verdicts`` as the pipeline would make it with no waiver or policy:
    a declared gate that did not pass failed, warn-only gates never fail.
    """
    from pytest_runcompare.config import GateSpec
    from pytest_runcompare.judge import RunPolicy
    from pytest_runcompare.pipeline import GateResult, Judgement, Status

    verdicts = make_verdicts(comparison) if verdicts is None else verdicts
    results = [
        GateResult(
            GateSpec(v.gate, 3),
            v,
            Status.PASSED if v.passed or not v.gate.declared else Status.FAILED,
        )
        for v in verdicts
    ]
    return Judgement(
        results=tuple(r for r in results if r.declared),
        warn_only=tuple(r for r in results if not r.declared),
        compatibility=comparison.compatibility,
        compatibility_policy=RunPolicy.FAIL,
        incomplete_policy=RunPolicy.FAIL,
        seed=0,
        numpy_version="2.0",
        scipy_version="1.14",
    )
