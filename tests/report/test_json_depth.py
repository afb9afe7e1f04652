"""The JSON report never recurses without bound: values nested past ``MAX_DEPTH`` are
written as a marker, so a deep value a reader let through cannot crash the report."""

from __future__ import annotations

import json

from pytest_runcompare.render.json_report import DEEPER, MAX_DEPTH, _plain


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_value_nested_900_deep_is_cut_at_max_depth_with_a_marker() -> None:
    plain = _plain({"params": nested(900)})
    value = plain["params"]
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(value, list)
        value = value[0]
    assert value == DEEPER
    assert json.loads(json.dumps(plain, indent=2))["params"] is not None


def test_value_within_max_depth_is_written_whole() -> None:
    assert _plain({"a": nested(MAX_DEPTH - 2)}) == {"a": nested(MAX_DEPTH - 2)}
    assert _plain({"a": {"b": (1.5, float("nan"))}}) == {"a": {"b": [1.5, None]}}
