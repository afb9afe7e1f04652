"""The neutralisers of run-data text: one line, a log text, a bound, no surrogates."""

from __future__ import annotations

import json

import pytest

from pytest_runcompare.untrusted import (
    clip,
    has_surrogates,
    log_text,
    no_surrogates,
    one_line,
)

ID_PAYLOAD = "q1\n::error file=README.md,line=1::all gates passed (injected)"
TAG_PAYLOAD = "lang:en\n::add-mask::FAILED"
TERMINAL_PAYLOAD = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred"


def test_one_line_escapes_the_newline_that_would_start_a_workflow_command():
    assert one_line(ID_PAYLOAD) == (
        "q1\\x0a::error file=README.md,line=1::all gates passed (injected)"
    )
    assert one_line(TAG_PAYLOAD) == "lang:en\\x0a::add-mask::FAILED"


def test_one_line_shows_osc_and_csi_sequences_as_text():
    assert one_line(TERMINAL_PAYLOAD) == "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("::error::x", "\\x3a:error::x"),
        ("  ::warning file=a::b", "  \\x3a:warning file=a::b"),
        ("##[error]x", "\\x23#[error]x"),
        ("##vso[task.setvariable]x", "\\x23#vso[task.setvariable]x"),
        ("a ::error::inside a line is inert", "a ::error::inside a line is inert"),
        ("## a heading", "## a heading"),
    ],
)
def test_one_line_breaks_a_leading_ci_command(text, shown):
    assert one_line(text) == shown


def test_one_line_escapes_c1_bidi_separators_and_surrogates():
    assert one_line("a\x9bb\u202ec\u2028d\ud800") == "a\\x9bb\\u202ec\\u2028d\\ud800"


def test_one_line_keeps_ordinary_unicode():
    assert one_line("naïve café 東京 😀") == "naïve café 東京 😀"


def test_log_text_keeps_newlines_and_breaks_every_command_line():
    text = "gate failed\n::error::forged\n  ##[warning]x\nesc \x1b[2J\r"
    assert log_text(text) == (
        "gate failed\n\\x3a:error::forged\n  \\x23#[warning]x\nesc \\x1b[2J\\x0d"
    )


def test_clip_marks_the_cut_with_the_length_and_a_hash():
    assert clip("short", 10) == "short"
    a = clip("a" * 1_000 + "x", 5)
    b = clip("a" * 1_000 + "y", 5)
    assert a.startswith("aaaaa…[cut: 1,001 chars, #")
    assert a.endswith("]")
    assert a != b  # names that share their first characters stay apart
    assert len(a) == len("aaaaa…[cut: 1,001 chars, #12345678]")


def test_clip_of_a_lone_surrogate_does_not_raise():
    assert clip("\ud800" * 20, 3).startswith("\ud800\ud800\ud800…[cut: 20 chars, #")


def test_no_surrogates_writes_the_json_escape_that_reads_back_the_same():
    raw = json.dumps({"o": "x\ud800y"}, ensure_ascii=False)
    assert has_surrogates(raw)
    safe = no_surrogates(raw)
    assert safe == '{"o": "x\\ud800y"}'
    assert not has_surrogates(safe)
    safe.encode("utf-8")
    assert json.loads(safe) == {"o": "x\ud800y"}
    assert no_surrogates("😀") == "😀"  # a real pair is one character: kept
