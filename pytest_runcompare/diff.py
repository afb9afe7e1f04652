"""Output diffs: word-level text diffs (difflib) and structural JSON diffs.

Pure functions of two outputs returning plain values, so that the HTML report can
embed them as JSON and the Markdown and JSON reports can reuse them. Nothing here
renders markup: callers escape.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from pytest_runcompare.untrusted import MESSAGE_CHARS, clip

#: A word (run of non-space characters) or a run of whitespace; joining the tokens
#: gives the text back exactly.
_TOKEN = re.compile(r"\s+|[^\s]+")

Op = Literal["=", "-", "+"]


@dataclass(frozen=True, slots=True)
class JsonChange:
    """One difference between two JSON values, at a path such as ``$.a[2].b``."""

    path: str
    kind: Literal["added", "removed", "changed", "type"]
    old: Any = None
    new: Any = None

    def to_list(self) -> list[Any]:
        """``[path, kind, old, new]``: compact form for embedding."""
        return [self.path, self.kind, self.old, self.new]

    def to_view(self) -> list[str]:
        """``[path, kind, old, new]`` as text to show: values as JSON, ``""`` absent.

        The values are written by Python (``NaN`` and ``Infinity`` as a model wrote
        them, which strict JSON cannot carry) and bounded at ``MESSAGE_CHARS``.
        """
        old = "" if self.kind == "added" else _json_text(self.old)
        new = "" if self.kind == "removed" else _json_text(self.new)
        return [clip(self.path, MESSAGE_CHARS), self.kind, old, new]


def _json_text(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return clip(text, MESSAGE_CHARS)


def as_text(value: Any) -> str:
    """An output as text: strings as they are, anything else as indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def parse_json_output(value: Any) -> Any:
    """The JSON object or array an output holds (itself, or parsed from a string).

    Returns ``None`` when the output is not a JSON object or array, so that plain
    strings and numbers are diffed as text.
    """
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                return None
            if isinstance(parsed, dict | list):
                return parsed
    return None


class DiffLevel(StrEnum):
    """How finely a text diff could be drawn within its bound on work."""

    WORD = "word"
    LINE = "line"
    WHOLE = "whole"


#: What the report says when a diff is coarser than word by word.
LEVEL_NOTES: Final = {
    DiffLevel.WORD: "",
    DiffLevel.LINE: "diffed line by line: too many word changes to diff word by word",
    DiffLevel.WHOLE: (
        "too different to diff: the changed part is shown as removed, then added"
    ),
}
#: Default bound on a diff's work: pairs of equal (non-blank) tokens in the two
#: changed middles, which is what difflib's matcher walks through (see
#: ``benchmarks/bench_diff.py`` for the time it takes).
MAX_WORK: Final = 400_000


@dataclass(frozen=True, slots=True)
class TextDiff:
    """A text diff as ``(op, text)`` segments, and how finely it was drawn."""

    segments: tuple[tuple[Op, str], ...]
    level: DiffLevel = DiffLevel.WORD

    @property
    def note(self) -> str:
        """What a reader should be told about the diff (empty for a word diff)."""
        return LEVEL_NOTES[self.level]


def _blank(token: str) -> bool:
    # Whitespace is junk to the matcher: it never starts a match (it is in every
    # gap), but matches extend across it, so a change of spacing still shows.
    return token.isspace()


def _work(a: Sequence[str], b: Sequence[str]) -> int:
    """Pairs of equal non-blank tokens of ``a`` and ``b``: the matcher's inner loop."""
    counts = Counter(t for t in b if not _blank(t))
    return sum(counts.get(t, 0) for t in a if not _blank(t))


def _common(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """Lengths of the common prefix and (not overlapping it) suffix of two lists."""
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    s = 0
    while s < n - p and a[-1 - s] == b[-1 - s]:
        s += 1
    return p, s


class _Segments:
    """Segments built left to right, adjacent ones of the same op merged."""

    def __init__(self) -> None:
        self.out: list[tuple[Op, str]] = []

    def emit(self, op: Op, text: str) -> None:
        if not text:
            return
        if self.out and self.out[-1][0] == op:
            self.out[-1] = (op, self.out[-1][1] + text)
        else:
            self.out.append((op, text))

    def opcodes(self, a: Sequence[str], b: Sequence[str]) -> None:
        matcher = difflib.SequenceMatcher(_blank, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                self.emit("=", "".join(a[i1:i2]))
            else:
                self.emit("-", "".join(a[i1:i2]))
                self.emit("+", "".join(b[j1:j2]))


def text_diff(old: str, new: str, *, max_work: int = MAX_WORK) -> TextDiff:
    """Word-level diff of two texts, bounded: never more than ``max_work`` matching.

    The common prefix and suffix (in words) are taken off first, in linear time; the
    changed middles are then diffed word by word when their work (pairs of equal
    words, see :func:`_work`) is at most ``max_work``, else line by line under the
    same bound, else shown whole as removed then added. ``level`` says which; the
    segments always rebuild both texts.
    """
    a = _TOKEN.findall(old)
    b = _TOKEN.findall(new)
    p, s = _common(a, b)
    mid_a, mid_b = a[p : len(a) - s], b[p : len(b) - s]
    out = _Segments()
    out.emit("=", "".join(a[:p]))
    level = DiffLevel.WORD
    if _work(mid_a, mid_b) <= max_work:
        out.opcodes(mid_a, mid_b)
    else:
        lines_a = "".join(mid_a).splitlines(keepends=True)
        lines_b = "".join(mid_b).splitlines(keepends=True)
        if _work(lines_a, lines_b) <= max_work:
            level = DiffLevel.LINE
            out.opcodes(lines_a, lines_b)
        else:
            level = DiffLevel.WHOLE
            out.emit("-", "".join(mid_a))
            out.emit("+", "".join(mid_b))
    out.emit("=", "".join(a[len(a) - s :]))
    return TextDiff(tuple(out.out), level)


def word_diff(old: str, new: str, *, max_work: int = MAX_WORK) -> list[tuple[Op, str]]:
    """Word-level diff of two texts as ``(op, text)`` segments.

    ``op`` is ``"="`` (in both), ``"-"`` (only in ``old``) or ``"+"`` (only in
    ``new``); a replaced span gives a ``"-"`` then a ``"+"`` segment. Joining the
    ``=``/``-`` segments gives ``old`` back, the ``=``/``+`` segments ``new``.
    Whitespace runs are tokens too, so a change of spacing shows. Bounded like
    :func:`text_diff`, which also says how finely the diff was drawn.

    >>> word_diff("the cat sat", "the dog sat")
    [('=', 'the '), ('-', 'cat'), ('+', 'dog'), ('=', ' sat')]
    """
    return list(text_diff(old, new, max_work=max_work).segments)


def diff_ratio(segments: list[tuple[Op, str]]) -> float:
    """Share of characters that changed, from the segments of :func:`word_diff`."""
    changed = sum(len(t) for op, t in segments if op != "=")
    total = sum(len(t) for _, t in segments)
    return 0.0 if total == 0 else changed / total


def _key(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def json_diff(old: Any, new: Any, *, limit: int = 200) -> list[JsonChange]:
    """Structural diff of two JSON values: keys added, removed or changed, by path.

    Objects are compared key by key (sorted), arrays position by position; at most
    ``limit`` changes are returned, in path order.

    >>> [c.to_list() for c in json_diff({"a": 1, "b": [1, 2]}, {"a": 2, "b": [1]})]
    [['$.a', 'changed', 1, 2], ['$.b[1]', 'removed', 2, None]]
    """
    out: list[JsonChange] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in sorted(set(a) | set(b), key=str):
                sub = _key(path, str(key))
                if key not in b:
                    out.append(JsonChange(sub, "removed", a[key], None))
                elif key not in a:
                    out.append(JsonChange(sub, "added", None, b[key]))
                else:
                    walk(sub, a[key], b[key])
                if len(out) >= limit:
                    return
        elif isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b))):
                sub = f"{path}[{i}]"
                if i >= len(b):
                    out.append(JsonChange(sub, "removed", a[i], None))
                elif i >= len(a):
                    out.append(JsonChange(sub, "added", None, b[i]))
                else:
                    walk(sub, a[i], b[i])
                if len(out) >= limit:
                    return
        elif type(a) is not type(b) and not (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
        ):
            out.append(JsonChange(path, "type", a, b))
        elif a != b:
            out.append(JsonChange(path, "changed", a, b))

    walk("$", old, new)
    return out
