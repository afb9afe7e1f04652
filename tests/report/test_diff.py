from __future__ import annotations

import itertools
import random

import pytest

from pytest_runcompare.diff import (
    LEVEL_NOTES,
    DiffLevel,
    _myers,
    as_text,
    diff_ratio,
    json_diff,
    parse_json_output,
    text_diff,
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


# ---------------------------------------------------------------- bounded (issue 12)
def _rebuilds(diff, old: str, new: str) -> bool:
    segments = diff.segments
    return (
        "".join(t for op, t in segments if op != "+") == old
        and "".join(t for op, t in segments if op != "-") == new
        and all(a[0] != b[0] for a, b in itertools.pairwise(segments))
    )


def test_the_issue_shape_is_a_word_diff_of_one_change():
    old, new = "a " * 10000, "a " * 9999 + "b "
    diff = text_diff(old, new)
    assert diff.level is DiffLevel.WORD
    assert diff.note == ""
    assert diff.segments == (("=", "a " * 9999), ("-", "a"), ("+", "b"), ("=", " "))
    assert _rebuilds(diff, old, new)


def test_a_small_edit_in_a_long_repetitive_text_is_diffed_word_by_word():
    old = "a b " * 3000 + "x " + "a b " * 3000
    new = "a b " * 3000 + "y z " + "a b " * 2999
    diff = text_diff(old, new)
    assert diff.level is DiffLevel.WORD
    assert ("-", "x") in diff.segments
    assert _rebuilds(diff, old, new)


def test_past_the_bound_a_diff_falls_back_to_lines_and_says_so():
    old = "\n".join(f"line {i} " + "w " * 20 for i in range(30))
    new = old.replace("line 7 ", "line seven ").replace("w w w", "v v v", 5)
    diff = text_diff(old, new, max_work=300)
    assert diff.level is DiffLevel.LINE
    assert diff.note == LEVEL_NOTES[DiffLevel.LINE]
    assert "line by line" in diff.note
    assert _rebuilds(diff, old, new)
    # the changed middle (after the common "line 0 ", before the common " w w ...")
    # is diffed as lines: line 0's rest whole, then line 7's changed head
    assert diff.segments[:3] == (
        ("=", "line 0 "),
        ("-", " ".join(["w"] * 20)),
        ("+", " ".join(["v"] * 15 + ["w"] * 5)),
    )
    assert diff.segments[4:6] == (("-", "line 7"), ("+", "line seven"))


def test_with_no_budget_left_the_changed_part_is_shown_whole():
    diff = text_diff("same start cat same end", "same start dog same end", max_work=0)
    assert diff.level is DiffLevel.WHOLE
    assert "too different to diff" in diff.note
    assert diff.segments == (
        ("=", "same start "),
        ("-", "cat"),
        ("+", "dog"),
        ("=", " same end"),
    )
    assert diff.work == 0


def test_equal_texts_need_no_budget():
    diff = text_diff("same text", "same text", max_work=0)
    assert diff.segments == (("=", "same text"),)
    assert diff.level is DiffLevel.WORD


def test_unrelated_long_texts_stay_within_the_bound():
    rng = random.Random(5)
    words = [f"w{i}" for i in range(30)]
    old = " ".join(rng.choice(words) for _ in range(3000))
    new = " ".join(rng.choice(words) for _ in range(3000))
    diff = text_diff(old, new, max_work=50_000)
    # each of the four attempts is given up at its bound: never more than that
    assert diff.work <= 50_000 // 8 * 2 + 50_000 * 2 + 3000
    assert _rebuilds(diff, old, new)


def test_myers_finds_a_shortest_edit_script():
    rng = random.Random(2)
    for _ in range(300):
        a = [rng.choice("abc ") for _ in range(rng.randint(0, 9))]
        b = [rng.choice("abc ") for _ in range(rng.randint(0, 9))]
        codes, _ = _myers(a, b, 10**9)
        kept = sum(i2 - i1 for tag, i1, i2, _, _ in codes if tag == "equal")
        assert kept == _lcs(a, b)
        assert [x for t, i1, i2, _, _ in codes for x in a[i1:i2]] == a
        assert [x for t, _, _, j1, j2 in codes for x in b[j1:j2]] == b


def _lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


@pytest.mark.parametrize("seed", range(5))
def test_bounded_diffs_rebuild_both_texts_at_every_level(seed):
    rng = random.Random(seed)
    pieces = ["a", "b", "the", " ", "  ", "\n", "x\ty", "é"]
    old = "".join(rng.choice(pieces) for _ in range(200))
    new = "".join(rng.choice(pieces) for _ in range(200))
    for max_work in (0, 50, 500, 10**7):
        assert _rebuilds(text_diff(old, new, max_work=max_work), old, new)


def test_json_change_view_shows_non_finite_numbers_as_the_model_wrote_them():
    old = parse_json_output('{"score": 1, "gone": [1]}')
    new = parse_json_output('{"score": NaN, "extra": Infinity}')
    views = [c.to_view() for c in json_diff(old, new)]
    assert views == [
        ["$.extra", "added", "", "Infinity"],
        ["$.gone", "removed", "[1]", ""],
        ["$.score", "changed", "1", "NaN"],
    ]
