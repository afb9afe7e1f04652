from __future__ import annotations

import itertools

import pytest

from pytest_runcompare.diff import (
    as_text,
    diff_ratio,
    json_diff,
    parse_json_output,
    word_diff,
)


def test_word_diff_marks_the_changed_word():
    assert word_diff("the cat sat", "the dog sat") == [
        ("=", "the "),
        ("-", "cat"),
        ("+", "dog"),
        ("=", " sat"),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", ""),
        ("", "all new"),
        ("all gone", ""),
        ("a  b\n c", "a b\n\n c d"),
        ("<script>x</script>", "</script>"),
        ("same", "same"),
    ],
)
def test_word_diff_segments_rebuild_both_texts(old, new):
    segments = word_diff(old, new)
    assert "".join(t for op, t in segments if op != "+") == old
    assert "".join(t for op, t in segments if op != "-") == new
    # adjacent segments never share an op
    assert all(a[0] != b[0] for a, b in itertools.pairwise(segments))


def test_diff_ratio():
    assert diff_ratio(word_diff("a b", "a b")) == 0.0
    assert diff_ratio(word_diff("", "")) == 0.0
    assert 0 < diff_ratio(word_diff("a b c d", "a x c d")) < 1


def test_json_diff_paths_and_kinds():
    old = {"a": 1, "b": [1, 2], "c": {"d": "x"}, "odd key": 1, "t": 1}
    new = {"a": 2, "b": [1], "c": {"d": "x", "e": None}, "odd key": 1, "t": "1"}
    changes = [c.to_list() for c in json_diff(old, new)]
    assert changes == [
        ["$.a", "changed", 1, 2],
        ["$.b[1]", "removed", 2, None],
        ["$.c.e", "added", None, None],
        ["$.t", "type", 1, "1"],
    ]


def test_json_diff_int_and_float_compare_as_numbers_and_limit_applies():
    assert json_diff({"x": 1}, {"x": 1.0}) == []
    assert json_diff([True], [1])[0].kind == "type"
    big = json_diff(list(range(50)), list(range(100, 150)), limit=7)
    assert len(big) == 7


def test_json_diff_quotes_keys_that_are_not_identifiers():
    (change,) = json_diff({"a b": 1}, {"a b": 2})
    assert change.path == '$["a b"]'


def test_parse_json_output_and_as_text():
    assert parse_json_output('{"a": 1}') == {"a": 1}
    assert parse_json_output(" [1, 2] ") == [1, 2]
    assert parse_json_output("{not json}") is None
    assert parse_json_output("plain") is None
    assert parse_json_output(3) is None
    assert as_text(None) == ""
    assert as_text("x") == "x"
    assert as_text({"b": 1, "a": 2}) == '{\n  "a": 2,\n  "b": 1\n}'
