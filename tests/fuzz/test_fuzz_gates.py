"""Property-based: any gates file is a clear ConfigError or gates that judge cleanly.

Hypothesis writes gates files over the keys of the README's reference, each with any
value (wrong types, null, lists, mappings, huge, tiny, NaN, negative, odd text); each
must be refused with a :class:`ConfigError` naming the file, or be accepted and then
judge two small runs through ``runcompare compare`` to a verdict or a clear error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import fuzzlib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_runcompare.config import DEFAULT_KEYS, METRIC_KEYS, REPORT_KEYS, WAIVER_KEYS

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


def _block(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), VALUES, max_size=len(keys))


GATES = st.fixed_dictionaries(
    {
        "metrics": st.dictionaries(
            st.sampled_from(METRICS), _block(METRIC_KEYS), max_size=3
        )
    },
    optional={
        "defaults": _block(DEFAULT_KEYS),
        "report": _block(REPORT_KEYS),
        "waivers": st.lists(_block(WAIVER_KEYS), max_size=2),
        "seed": VALUES,
    },
)


def _dump(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, allow_unicode=True)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
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
