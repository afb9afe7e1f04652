"""Property-based: any gates file is a clear ConfigError or gates that judge cleanly.

Hypothesis writes gates files over the keys of the README's reference, each with any
value (wrong types, null, lists, mappings, huge, tiny, NaN, negative, odd text); each
must be refused with a :class:`ConfigError` naming the file, or be accepted and then
judge two small runs through ``runcompare compare`` to a verdict or a clear error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import fuzzlib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_runcompare.config import DEFAULT_KEYS, METRIC_KEYS, REPORT_KEYS, WAIVER_KEYS
from pytest_runcompare.judge.spec import BUILTIN_TESTS

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 0.5, 1e-320, 5e-324, 1e300, -0.0, 2**53, 2**53 + 1]),
)
TEXT = st.one_of(
    st.sampled_from(
        [
            "mean",
            "p95",
            "2%",
            "1e300%",
            "-1%",
            "auto",
            "t",
            "bootstrap-t",
            "tango",
            "mcnemar",
            "holm",
            "none",
            "fail",
            "warn",
            "pass",
            "off",
            "higher",
            "lower",
            "all",
            "regression_detection",
            "equivalence",
            "non_inferiority",
            "lang:de",
            "retrieve",
            "exact_match",
            "2026-12-31",
            "2026-02-30",
            "",
        ]
    ),
    st.text(max_size=12),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
METRICS = ("exact_match", "latency_ms", "answer_length", "missing_metric")


_MODES = ["non_inferiority", "regression_detection", "equivalence"]
_SHARE = st.floats(min_value=0, max_value=0.999)
VALID: dict[str, st.SearchStrategy[Any]] = {
    "direction": st.sampled_from(["higher", "lower"]),
    "aggregate": st.sampled_from(
        ["mean", "median", "sum", "rate", "p50", "p95", "p99"]
    ),
    "margin": st.one_of(
        st.floats(min_value=1e-100, max_value=1e100),
        st.sampled_from([0, "2%", "50%", "99.9%", "1e-8%", 0.1, 5]),
    ),
    "mode": st.sampled_from(_MODES),
    "test": st.sampled_from(BUILTIN_TESTS),
    "alpha": st.floats(min_value=1e-10, max_value=0.4999),
    "missing": st.sampled_from(["fail", "worst", "drop"]),
    "min_coverage": st.floats(min_value=0, max_value=1),
    "inconclusive": st.sampled_from(["fail", "pass"]),
    "pairing": st.sampled_from(["paired", "none"]),
    "correction": st.sampled_from(["holm", "bh", "bonferroni", "none"]),
    "slices": st.one_of(
        st.just("all"), st.lists(st.sampled_from(["lang:de", "lang:en", "nope"]))
    ),
    "steps": st.one_of(st.just("all"), st.lists(st.sampled_from(["retrieve", "x"]))),
    "max_new_failures": st.integers(min_value=0, max_value=50),
    "denominator": st.sampled_from(METRICS),
    "gate": st.booleans(),
    "compatibility": st.sampled_from(["fail", "warn"]),
    "incomplete_runs": st.sampled_from(["fail", "warn"]),
    "power": st.sampled_from(["warn", "fail", "off"]),
    "power_warn_below": st.floats(min_value=0.01, max_value=0.99),
    "power_correlation": _SHARE,
    "html": st.just("out/r.html"),
    "markdown": st.just("out/r.md"),
    "json": st.just("out/r.json"),
    "max_outputs": st.integers(min_value=0, max_value=100),
    "url": st.sampled_from(["https://ci.example/r.html", "http://h/a#dp=x"]),
    "mlflow": st.booleans(),
    "require": st.sampled_from(["all", "any"]),
    "best": st.sampled_from(METRICS),
    "metric": st.sampled_from(METRICS),
    "slice": st.sampled_from(["lang:de", "lang:en"]),
    "step": st.just("retrieve"),
    "ids": st.lists(st.sampled_from(["q-1", "q-2", "q-39", "nope"]), max_size=3),
    "reason": st.text(min_size=1, max_size=20).filter(str.strip),
    "expires": st.sampled_from(["2099-12-31", "2000-01-01"]),
}


def _value(key: str) -> st.SearchStrategy[Any]:
    """Mostly a value the key accepts (so that gates get judged), else anything."""
    valid = VALID[key]
    return st.integers(0, 5).flatmap(lambda k: VALUES if k == 0 else valid)


def _block(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={key: _value(key) for key in keys})


GATES = st.fixed_dictionaries(
    {
        "metrics": st.dictionaries(
            st.sampled_from(METRICS), _block(METRIC_KEYS), max_size=3
        )
    },
    optional={
        "defaults": _block(DEFAULT_KEYS),
        "report": _block(REPORT_KEYS),
        "sweep": _block(("require", "best")),
        "waivers": st.lists(_block(WAIVER_KEYS), max_size=2),
        "seed": st.one_of(st.integers(min_value=0, max_value=2**32), VALUES),
    },
)
REACHED: list[str] = []  # the outcomes of the comparisons (for a campaign's counts)


def _dump(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, allow_unicode=True)


@settings(
    max_examples=int(os.environ.get("RUNCOMPARE_FUZZ_EXAMPLES", "30")),
    deadline=None,
    derandomize="RUNCOMPARE_FUZZ_EXAMPLES" not in os.environ,  # CI: the same examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(GATES)
def test_any_gates_file_is_refused_clearly_or_judged_cleanly(
    data: dict[str, Any],
) -> None:
    with tempfile.TemporaryDirectory() as work:
        base = Path(work)
        fuzzlib.write_files(base, fuzzlib.GATES_RUNS)
        path = base / "runcompare.yaml"
        path.write_text(_dump(data), encoding="utf-8", errors="surrogatepass")
        with fuzzlib.time_limit(60):
            outcome, config = fuzzlib.check_gates(path, json.dumps(data, default=str))
        assert outcome.status != "bug", outcome
        if config is None:
            return
        with fuzzlib.time_limit(60):
            outcome = fuzzlib.check_compare(
                str(base / "runs/baseline.jsonl"),
                str(base / "runs/candidate.jsonl"),
                base / "out",
                outcome.recipe,
                config=str(path),
            )
        REACHED.append(outcome.detail)
        assert outcome.status != "bug", f"{outcome.detail} at {outcome.where}"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_runcompare.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cli_bad_inputs_exit_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    fuzzlib.write_files(tmp_path, fuzzlib.GATES_RUNS)
    good = str(tmp_path / "runs/baseline.jsonl")
    (tmp_path / "broken.jsonl").write_bytes(
        b'{"id": "a", "metrics": {"m": 1}}\n{"id": \xff\n'
    )
    (tmp_path / "dup.yaml").write_text(
        "run: {name: r}\ndatapoints:\n  - {id: a, metrics: {m: 1}}\n  - {id: a, id: b}\n"
    )
    bomb = fuzzlib.YAML_INJECTIONS[0].decode()
    (tmp_path / "bomb.yaml").write_text(bomb)
    cases = [
        (
            ["compare", good, str(tmp_path / "broken.jsonl")],
            "broken.jsonl:2: not valid UTF-8",
        ),
        (
            ["compare", good, str(tmp_path / "dup.yaml")],
            "dup.yaml:4: duplicate key 'id'",
        ),
        (
            ["compare", good, good, "--config", str(tmp_path / "bomb.yaml")],
            "bomb.yaml:1: its aliases expand too far",
        ),
    ]
    for argv, expected in cases:
        done = _cli(*argv)
        lines = done.stderr.splitlines()
        assert (done.returncode, len(lines)) == (2, 1), done.stderr
        assert lines[0].startswith("runcompare: error: "), lines[0]
        assert expected in lines[0]
        assert "Traceback" not in done.stderr
        assert "unexpected error" not in done.stderr
