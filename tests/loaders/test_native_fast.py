"""The ``fast`` extra's native JSONL parser: the same run and the same messages.

Every file is read twice, with the fast parser (orjson) and with it switched off
(``RUNCOMPARE_FAST_JSONL=0``, the standard library's validating parser alone); the
runs must be equal field by field, and a damaged file must fail with the same message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_runcompare import RunFormatError, load_run
from pytest_runcompare.loaders import files, native_fast
from pytest_runcompare.runs import Datapoints, Run

ROOT = Path(__file__).parents[2]
NATIVE_FIXTURES = sorted(
    p
    for p in (ROOT / "examples").rglob("datapoints.jsonl")
    if ".runcompare" not in p.parts
)


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> Run:
    monkeypatch.setenv(native_fast.SWITCH, "1" if fast else "0")
    return load_run(path.parent if path.name == "datapoints.jsonl" else path)


def _error(path: Path, monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> str:
    monkeypatch.setenv(native_fast.SWITCH, "1" if fast else "0")
    with pytest.raises(RunFormatError) as info:
        load_run(path)
    return str(info.value)


def _table(t: Datapoints) -> dict[str, Any]:
    return {
        "ids": t.ids,
        "outputs": t.outputs,
        "inputs": t.inputs,
        "expected": t.expected,
        "slice_tags": t.slice_tags,
        "groups": t.groups,
        "metas": t.metas,
        "metrics": {
            name: (
                [None if math.isnan(v) else v for v in col.values.tolist()],
                col.present.tolist(),
                col.boolean,
                str(col.values.dtype),
            )
            for name, col in t.metrics.items()
        },
        "index": t.index,
    }


def _as_plain(run: Run) -> dict[str, Any]:
    """Everything a run holds, as comparable values (NaN written as None)."""
    return {
        "meta": run.meta.to_dict(),
        "source": run.meta.source,
        "format": run.meta.format,
        "definitions": run.meta.metric_definitions,
        "table": _table(run.datapoints),
        "steps": {name: _table(step) for name, step in run.steps.items()},
        "warnings": run.warnings,
    }


def _assert_same_run(
    path: Path, monkeypatch: pytest.MonkeyPatch, *, delegated: bool = False
) -> Run:
    """Equal runs; the fast parser read the file (or, if ``delegated``, handed it on)."""
    before = native_fast.usage.fallback if delegated else native_fast.usage.fast
    fast = _read(path, monkeypatch, fast=True)
    after = native_fast.usage.fallback if delegated else native_fast.usage.fast
    assert after > before, "the fast parser was not used as expected"
    slow = _read(path, monkeypatch, fast=False)
    assert _as_plain(fast) == _as_plain(slow)
    return fast


def _write(tmp_path: Path, lines: list[str], name: str = "run.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------ equal runs


def test_the_examples_runs_are_equal_with_and_without_the_fast_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(NATIVE_FIXTURES) >= 3
    for path in NATIVE_FIXTURES:
        run = _assert_same_run(path, monkeypatch)
        assert len(run) > 0


def test_a_run_with_every_field_is_equal_with_and_without_the_fast_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = {
        "run": {
            "name": "cand",
            "params": {"t": 0.5},
            "seed": 3,
            "metric_definitions": {"bleu": {"allow_nan": True, "direction": "lower"}},
            "datapoint_count": 6,
            "custom": {"kept": [1, 2]},
        }
    }
    records = [
        {
            "id": "q-1",
            "input": {"question": "2+2?"},
            "output": "4",
            "expected": "4",
            "metrics": {"em": True, "bleu": 0.5, "n": 7},
            "slices": ["lang:en", "math"],
            "group": "g1",
            "meta": {"note": 'a quote " and a colon: kept'},
        },
        {
            "id": 2,
            "output": ["a", {"b": None}],
            "metrics": {"em": False, "bleu": None},
            "slices": {"lang": "de"},
            "group": 7,
            "steps": [
                {"name": "retrieve", "output": ["doc-3"], "metrics": {"recall": 1.0}},
                {"name": "retrieve", "output": [], "metrics": {"recall": 0}},
            ],
        },
        {"id": "caf\u00e9 \u2603 \U0001f600", "output": None, "metrics": {"n": -3}},
        {"id": "tiny-bleu", "output": "", "metrics": {"bleu": 1e-300, "n": 1e-300}},
        {"id": "big", "output": "x", "metrics": {"n": 1.7976931348623157e308}},
        {"id": "neg-zero", "output": "x", "metrics": {"n": -0.0, "em": True}},
    ]
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    path = _write(tmp_path, lines)
    run = _assert_same_run(path, monkeypatch)
    assert run.ids[:3] == ["q-1", "2", "caf\u00e9 \u2603 \U0001f600"]
    assert sorted(run.steps) == ["retrieve", "retrieve#2"]
    assert run.metrics["bleu"].values[3] == 1e-300
    assert (
        run.metrics["bleu"].present.tolist() == [True, False, False, True] + [False] * 2
    )


def test_many_chunks_with_missing_metrics_and_booleans_are_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "CHUNK_LINES", 97)
    rng = np.random.default_rng(5)
    lines = []
    for k in range(1000):
        metrics: dict[str, Any] = {"acc": bool(rng.random() < 0.7)}
        if k % 3:
            metrics["f1"] = float(rng.random())
        if k % 250 == 11:
            metrics["rare"] = int(rng.integers(0, 10**15))
        record = {"id": f"d{k}", "output": f"o{k % 7}", "metrics": metrics}
        if k % 5 == 0:
            record["slices"] = [f"lang:{'de' if k % 2 else 'en'}"]
        lines.append(json.dumps(record, separators=(",", ":")))
    lines.insert(400, "")  # a blank line: skipped, line numbers kept
    run = _assert_same_run(_write(tmp_path, lines), monkeypatch)
    assert len(run) == 1000
    assert run.metrics["acc"].boolean
    assert run.metrics["rare"].count == 4


def test_a_truncated_tail_is_dropped_with_the_same_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = json.dumps({"run": {"complete": False}})
    path = tmp_path / "run.jsonl"
    path.write_text(
        header + '\n{"id": "a", "output": "x"}\n{"id": "b", "outp', encoding="utf-8"
    )
    run = _assert_same_run(path, monkeypatch, delegated=True)
    assert run.ids == ["a"]
    assert any("dropped a truncated last line" in w for w in run.warnings)


def test_text_the_fast_parser_leaves_to_the_validating_one_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NaN literals, a 25-digit integer and a whitespace-only line: orjson refuses
    # or would read them differently, so those chunks take the validating parser.
    header = json.dumps({"run": {"metric_definitions": {"m": {"allow_nan": True}}}})
    lines = [
        header,
        '{"id": "a", "output": "x", "metrics": {"m": NaN}}',
        '{"id": 1234567890123456789012345, "output": "x"}',
        "   ",
        '{"id" : "c", "output": "x"}',
    ]
    path = _write(tmp_path, lines)
    before = native_fast.usage.fallback
    fast = _read(path, monkeypatch, fast=True)
    assert native_fast.usage.fallback > before
    slow = _read(path, monkeypatch, fast=False)
    assert _as_plain(fast) == _as_plain(slow)
    assert fast.ids == ["a", "1234567890123456789012345", "c"]


# ------------------------------------------------------- damaged: same messages

DAMAGED: dict[str, list[str]] = {
    "malformed": ['{"id": "a", "output": "x"}', '{"id": "b", "output": }'],
    "duplicate key": ['{"id": "a", "output": "x", "output": "y"}'],
    "duplicate key with spaces": ['{"id": "a", "output": "x", "output" : "y"}'],
    "nested duplicate key": ['{"id": "a", "output": {"k": 1, "k": 2}}'],
    "duplicate metric": ['{"id": "a", "output": "", "metrics": {"m": 1, "m": 2}}'],
    "lone surrogate": ['{"id": "a", "output": "\\ud800"}'],
    "nan without allow_nan": ['{"id": "a", "output": "", "metrics": {"m": NaN}}'],
    "infinite": ['{"id": "a", "output": "", "metrics": {"m": 1e400}}'],
    "long integer": ['{"id": "a", "output": "", "metrics": {"m": ' + "9" * 500 + "}}"],
    "bad metric value": ['{"id": "a", "output": "", "metrics": {"m": "0.5"}}'],
    "unknown field": ['{"id": "a", "output": "", "metric": {"m": 1}}'],
    "no id": ['{"id": "a", "output": ""}', '{"output": ""}'],
    "float id": ['{"id": 1.5, "output": ""}'],
    "duplicate id": ['{"id": "a", "output": ""}', '{"id": "a", "output": ""}'],
    "nfc and nfd ids": ['{"id": "caf\u00e9", "output": ""}', '{"id": "cafe\u0301"}'],
    "not an object": ['{"id": "a", "output": ""}', "[1, 2]"],
    "two values on a line": ['{"id": "a", "output": ""}, {"id": "b"}'],
    "bad slices": ['{"id": "a", "output": "", "slices": 3}'],
    "bad step": ['{"id": "a", "output": "", "steps": [{"output": "x"}]}'],
    "header in the middle": ['{"id": "a", "output": ""}', '{"run": {"name": "x"}}'],
    "count mismatch": [
        json.dumps({"run": {"datapoint_count": 3}}),
        '{"id": "a", "output": ""}',
    ],
    "bom": ['\ufeff{"id": "a", "output": ""}', '{"id": "a", "output": ""}'],
    "deep nesting": ['{"id": "a", "output": ' + "[" * 3000 + "]" * 3000 + "}"],
    "control character": ['{"id": "a", "output": "tab\there"}'],
    "id past text_chars": ['{"id": "' + "x" * 10_001 + '", "output": ""}'],
    "tags past the limit": [
        json.dumps(
            {"id": "a", "output": "", "slices": [f"t{k}" for k in range(10_001)]}
        )
    ],
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_file_fails_with_the_same_message_with_the_fast_parser(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, DAMAGED[case])
    fast = _error(path, monkeypatch, fast=True)
    slow = _error(path, monkeypatch, fast=False)
    assert fast == slow
    assert str(path) in fast


def test_invalid_utf8_fails_with_the_same_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"id": "a", "output": ""}\n{"id": "b", "output": "caf\xe9"}\n')
    fast = _error(path, monkeypatch, fast=True)
    assert fast == _error(path, monkeypatch, fast=False)
    assert fast.startswith(f"{path}:2: not valid UTF-8 (byte 0xe9)")


def test_the_duplicate_key_message_names_the_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        '{"id": "a", "output": ""}',
        '{"id": "b", "output": "", "metrics": {"m": 1, "m" : 2}}',
    ]
    message = _error(_write(tmp_path, lines), monkeypatch, fast=True)
    assert ":2: " in message
    assert "duplicate key 'm' in one JSON object" in message


# ------------------------------------------------------------ the key count


@pytest.mark.parametrize(
    ("text", "unique"),
    [
        ('[{"a": 1, "b": {"a": 2}}]', True),
        ('[{"a": 1, "a": 2}]', False),
        ('[{"a": 1, "a" :2}]', False),  # whitespace before the colon
        ('[{"a": 1, "a"\t\r\n :2}]', False),
        ('[{"a" : 1, "b"\t: 2}]', True),
        ('[{"a": {"x": 1, "x": 2}}]', False),
        ('[{"a": [{"x": 1}, {"x": 1, "x": 2}]}]', False),
        ('[{"a": "say \\": here", "b": 1}]', False),  # \": in a string: not proven
        ('[{"a": "lang:en", "b": "k: v"}]', True),
        ('[{"a": 1}, "text", 3, null]', True),
    ],
)
def test_unique_keys_is_true_only_when_no_object_repeats_a_key(
    text: str, unique: bool
) -> None:
    data = text.encode()
    assert files.unique_keys(json.loads(text), data) is unique


def test_a_string_with_an_escaped_quote_and_colon_is_read_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key count cannot prove it unique: the exact check reads it (and accepts).
    path = _write(tmp_path, ['{"id": "a", "output": "say \\": here"}'])
    run = _assert_same_run(path, monkeypatch, delegated=True)
    assert run.outputs == ['say ": here']


def test_the_fast_parser_is_off_when_switched_off_or_digits_are_capped_low(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(native_fast.SWITCH, "1")
    assert native_fast.chunk_parser() is native_fast.parse_chunk
    monkeypatch.setenv(native_fast.SWITCH, "0")
    assert native_fast.chunk_parser() is None
    monkeypatch.setenv(native_fast.SWITCH, "1")
    monkeypatch.setenv("RUNCOMPARE_MAX_NUMBER_DIGITS", "10")
    assert native_fast.chunk_parser() is None


def test_a_low_digit_cap_refuses_the_same_integer_with_the_fast_extra_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNCOMPARE_MAX_NUMBER_DIGITS", "5")
    path = _write(tmp_path, ['{"id": "a", "output": "", "metrics": {"m": 1234567}}'])
    message = _error(path, monkeypatch, fast=True)
    assert message == _error(path, monkeypatch, fast=False)
    assert "more than 5 digits in one number (an integer of 7 digits)" in message


def test_an_integer_past_64_bits_stays_an_integer_with_the_fast_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # orjson would read it as a float (and the id would be refused): it is delegated.
    path = _write(
        tmp_path, ['{"id": 123456789012345678901, "output": -92233720368547758090}']
    )
    run = _assert_same_run(path, monkeypatch, delegated=True)
    assert run.ids == ["123456789012345678901"]
    assert run.outputs == [-92233720368547758090]


def test_the_benchmark_script_runs_small_and_prints_every_row(tmp_path: Path) -> None:
    import subprocess
    import sys

    bench = ROOT / "benchmarks"
    subprocess.run(
        [
            sys.executable,
            str(bench / "make_runs.py"),
            "-n",
            "300",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            str(bench / "bench_fast_jsonl.py"),
            "--repeat",
            "1",
            "--data",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for label in ("json.loads of every line", "ours, stdlib:", "ours, fast extra:"):
        assert label in done.stdout
    assert "stdlib path / json.loads:" in done.stdout
