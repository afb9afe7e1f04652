r"""Neutralise strings from run data before they reach a terminal, a CI log or a file.

Ids, tags, metric names and model outputs are untrusted text: a newline could start a
GitHub workflow command (``::error ...``) and an ESC or OSC sequence could retitle or clear
the terminal. Every face that prints run data to a terminal or a log passes each string
through :func:`one_line` first, and a multi-line text it cannot take apart through
:func:`log_text`. The report writers pass their whole text through :func:`no_surrogates`,
since a lone surrogate (valid JSON, ``"\ud800"``) cannot be encoded as UTF-8, and
bound names with :func:`clip`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, the bidi
# embeddings, overrides and isolates (which reorder what a reader sees), plus lone
# surrogates (which no encoder will write).
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: The same, but a newline is kept: for a multi-line text whose lines are our own.
_UNSAFE_KEEP_NEWLINE: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: What a CI runner reads as a command at the start of a line, after any spaces:
#: GitHub's ``::name ...::`` and the older ``##[name]``, Azure's ``##vso[``.
_COMMAND: Final = re.compile(r"^([ \t]*)(::|##\[|##vso\[)", re.MULTILINE)
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: Longest id, tag or metric name a terminal line or a report shows whole.
NAME_CHARS: Final = 200
#: Longest sentence of ours around run data (a gate's message line) shown whole.
MESSAGE_CHARS: Final = 2_000


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _break_command(match: re.Match[str]) -> str:
    # The first character shown as an escape: still readable, never a command.
    lead, mark = match.group(1), match.group(2)
    return f"{lead}\\x{ord(mark[0]):02x}{mark[1:]}"


def one_line(text: object, limit: int | None = None) -> str:
    r"""``text`` as one printable line: every control character shown as an escape.

    A line that would start a CI workflow command (``::``, ``##[``) has its first
    character escaped (``\x3a:error``); ``limit`` cuts the text with :func:`clip`.
    """
    s = str(text)
    if limit is not None:
        s = clip(s, limit)
    return _COMMAND.sub(_break_command, _UNSAFE.sub(_escape, s))


def log_text(text: object) -> str:
    """A multi-line text safe on a terminal or CI log: newlines kept, nothing else.

    For a message whose parts cannot be told apart any more (an error naming a
    datapoint): every other control character is escaped and no line can start a
    workflow command.
    """
    return _COMMAND.sub(_break_command, _UNSAFE_KEEP_NEWLINE.sub(_escape, str(text)))


def no_surrogates(text: str) -> str:
    r"""``text`` with every lone surrogate written as its ``\udxxx`` escape.

    Inside a JSON string that escape is JSON's own, so the value reads back the same;
    anywhere else it shows the character as text, and the file can be encoded.
    """
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (which UTF-8 cannot encode)."""
    return _SURROGATE.search(text) is not None


def clip_words(text: str, limit: int) -> str:
    """``text`` with every run of more than ``limit`` non-space characters clipped.

    For a sentence that names a gate or a datapoint: a name a million characters
    long is cut where it stands (see :func:`clip`), and the sentence reads on.
    """
    if len(text) <= limit:
        return text
    long_word = re.compile(rf"\S{{{limit + 1},}}")
    return long_word.sub(lambda m: clip(m.group(), limit), text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a visible marker, if longer.

    The marker gives the full length and a short hash of the whole text, so that two
    long names that share their first characters stay apart:
    ``aaaa…[cut: 10,000,000 chars, #1a2b3c4d]``.
    """
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{text[:limit]}…[cut: {len(text):,} chars, #{digest}]"
