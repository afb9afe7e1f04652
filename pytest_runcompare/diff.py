"""Output diffs: word-level text diffs (difflib) and structural JSON diffs.

Pure functions of two outputs returning plain values, so that the HTML report can
embed them as JSON and the Markdown and JSON reports can reuse them. Nothing here
renders markup: callers escape.
"""

from __future__ import annotations

import difflib
import json
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from pytest_runcompare.untrusted import MESSAGE_CHARS, clip

#: A word (run of non-space characters) or a run of whitespace; joining the tokens
#: gives the text back exactly.
_TOKEN = re.compile(r"\s+|[^\s]+")
#: What the matcher compares: a word with the whitespace after it (and leading
#: whitespace alone), so that no token is as common as a space, which would make
#: the matcher quadratic; the whitespace both sides of a change share is given back
#: to the unchanged text (:meth:`_Segments.opcodes`).
_MATCH_TOKEN = re.compile(r"\s+|\S+\s*")

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
    DiffLevel.LINE: (
        "diffed line by line: a word-by-word diff of these outputs would take too long"
    ),
    DiffLevel.WHOLE: (
        "too different to diff in time: the changed part is shown as removed, "
        "then added"
    ),
}
#: Default bound on a diff's work at each level (see :class:`_BoundedMatcher`);
#: ``benchmarks/bench_diff.py`` measures the time it takes.
MAX_WORK: Final = 2_000_000


@dataclass(frozen=True, slots=True)
class TextDiff:
    """A text diff as ``(op, text)`` segments, and how finely it was drawn."""

    segments: tuple[tuple[Op, str], ...]
    level: DiffLevel = DiffLevel.WORD
    #: the work this diff took, in the units of ``max_work``
    work: int = 0

    @property
    def note(self) -> str:
        """What a reader should be told about the diff (empty for a word diff)."""
        return LEVEL_NOTES[self.level]


class _OverBudget(Exception):
    """A diff would pass its bound on work (``spent``: what it took until then)."""

    def __init__(self, spent: int) -> None:
        super().__init__(spent)
        self.spent = spent


_Opcodes = list[tuple[str, int, int, int, int]]


def _myers(a: Sequence[str], b: Sequence[str], budget: int) -> tuple[_Opcodes, int]:
    """Myers' O(ND) shortest edit script as difflib opcodes, and the work it took.

    Linear in the sizes when few tokens changed (an edited text), where difflib's
    earliest-longest-match recursion is quadratic in the number of edits; the work
    (diagonals tried and tokens compared) is bounded by ``budget``.
    """
    n, m = len(a), len(b)
    v: dict[int, int] = {1: 0}
    trace: list[dict[int, int]] = []
    spent = 0
    for d in range(n + m + 1):
        trace.append(v.copy())
        spent += d + 1
        for k in range(-d, d + 1, 2):
            down = k == -d or (k != d and v[k - 1] < v[k + 1])
            x = v[k + 1] if down else v[k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            spent += x - start
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m), spent
        if spent > budget:
            raise _OverBudget(spent)
    raise AssertionError("unreachable: d = n + m always reaches the end")


def _backtrack(trace: list[dict[int, int]], n: int, m: int) -> _Opcodes:
    """The opcodes of the path Myers' search found, from its saved diagonals."""
    moves: list[tuple[bool, int, int]] = []  # (equal?, x, y) where a move starts
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]  # the furthest x on each diagonal before round d
        k = x - y
        down = k == -d or (k != d and v[k - 1] < v[k + 1])
        prev_k = k + 1 if down else k - 1
        prev_x = v[prev_k]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x, y = x - 1, y - 1
            moves.append((True, x, y))
        if d > 0:
            moves.append((False, prev_x, prev_y))
        x, y = prev_x, prev_y
    codes: _Opcodes = []
    for k in range(len(moves) - 1, -1, -1):
        equal, x, y = moves[k]
        nx, ny = moves[k - 1][1:] if k else (n, m)
        tag = "equal" if equal else "replace"
        if codes and codes[-1][0] == tag:
            codes[-1] = (tag, codes[-1][1], nx, codes[-1][3], ny)
        else:
            codes.append((tag, x, nx, y, ny))
    return codes


def _matched(a: Sequence[str], b: Sequence[str], budget: int) -> tuple[_Opcodes, int]:
    """Difflib's opcodes (longest matches first), and the work it took."""
    matcher = _BoundedMatcher(a, b, budget)
    return [tuple(c) for c in matcher.get_opcodes()], matcher.spent  # type: ignore[misc]


class _BoundedMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, counting the pairs it walks; past ``budget`` it stops.

    Its search for the longest match is difflib's (no junk, so the same blocks), but
    it walks only the positions of each token inside the searched range of ``b``
    (found by bisection) where difflib walks every one before the range's end. The
    count is deterministic, unlike a clock, so equal inputs still give equal reports.
    """

    def __init__(self, a: Sequence[str], b: Sequence[str], budget: int) -> None:
        self.budget = budget
        self.spent = 0
        self._a, self._b = a, b
        self._where: dict[str, list[int]] = {}  # each token's positions in b
        for j, t in enumerate(b):
            self._where.setdefault(t, []).append(j)
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        a, where = self._a, self._where
        ahi = len(a) if ahi is None else ahi
        bhi = len(self._b) if bhi is None else bhi
        empty: list[int] = []
        besti, bestj, bestsize = alo, blo, 0
        # j2len[j]: length of the longest match ending with a[i - 1] and b[j]
        j2len: dict[int, int] = {}
        for i in range(alo, ahi):
            positions = where.get(a[i], empty)
            lo, hi = bisect_left(positions, blo), bisect_left(positions, bhi)
            self.spent += 1 + hi - lo
            if self.spent > self.budget:
                raise _OverBudget(self.spent)
            get, new = j2len.get, {}
            for n in range(lo, hi):
                j = positions[n]
                k = new[j] = get(j - 1, 0) + 1
                if k > bestsize:
                    besti, bestj, bestsize = i - k + 1, j - k + 1, k
            j2len = new
        return difflib.Match(besti, bestj, bestsize)


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

    def opcodes(self, a: Sequence[str], b: Sequence[str], codes: _Opcodes) -> None:
        """Emit the segments of difflib-style opcodes over the tokens ``a``, ``b``."""
        for tag, i1, i2, j1, j2 in codes:
            if tag == "equal":
                self.emit("=", "".join(a[i1:i2]))
                continue
            old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
            # the whitespace both sides end with is unchanged text, not a change
            space = old[len(old.rstrip()) :]
            if not (old and new) or new[len(new.rstrip()) :] != space or old.isspace():
                space = ""
            old, new = old[: len(old) - len(space)], new[: len(new) - len(space)]
            self.emit("-", old)
            self.emit("+", new)
            self.emit("=", space)


def text_diff(old: str, new: str, *, max_work: int = MAX_WORK) -> TextDiff:
    """Word-level diff of two texts, bounded: at most ``max_work`` per attempt.

    The common prefix and suffix (in words) are taken off first, in linear time.
    The changed middles are then diffed word by word with Myers' algorithm (fast
    when little changed), else with difflib's longest matches (fast when much did),
    else line by line the same two ways, each attempt given up once its work passes
    its bound (``max_work``; an eighth of it for Myers, whose work grows as the
    square of the changes); else they are shown whole, as removed then added.
    ``level`` says which and ``work`` what it all took; the segments always rebuild
    both texts.
    """
    a = _TOKEN.findall(old)
    b = _TOKEN.findall(new)
    p, s = _common(a, b)
    mid_a, mid_b = a[p : len(a) - s], b[p : len(b) - s]
    head, tail = "".join(a[:p]), "".join(a[len(a) - s :])
    text_a, text_b = "".join(mid_a), "".join(mid_b)

    def words() -> tuple[list[str], list[str]]:
        return _MATCH_TOKEN.findall(text_a), _MATCH_TOKEN.findall(text_b)

    def lines() -> tuple[list[str], list[str]]:
        return text_a.splitlines(keepends=True), text_b.splitlines(keepends=True)

    attempts: tuple[
        tuple[DiffLevel, Callable[[], tuple[list[str], list[str]]], Any], ...
    ] = (
        (DiffLevel.WORD, lambda: (mid_a, mid_b), _myers),
        (DiffLevel.WORD, words, _matched),
        (DiffLevel.LINE, lines, _myers),
        (DiffLevel.LINE, lines, _matched),
    )
    spent = 0
    if max_work > 0 or not (mid_a or mid_b):
        for level, tokens, differ in attempts:
            x, y = tokens()
            # Myers is worth trying only while few tokens changed (its work grows
            # as the square of the changes): an eighth of the bound.
            budget = max_work // 8 if differ is _myers else max_work
            try:
                codes, cost = differ(x, y, budget)
            except _OverBudget as over:
                spent += min(over.spent, budget)
                continue
            out = _Segments()
            out.emit("=", head)
            out.opcodes(x, y, codes)
            out.emit("=", tail)
            return TextDiff(tuple(out.out), level, spent + cost)
    out = _Segments()
    for op, text in (("=", head), ("-", text_a), ("+", text_b)):
        out.emit(op, text)  # type: ignore[arg-type]
    out.emit("=", tail)
    return TextDiff(tuple(out.out), DiffLevel.WHOLE, spent)


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
