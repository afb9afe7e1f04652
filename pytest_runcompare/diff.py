"""Output diffs: word-level text diffs (difflib) and structural JSON diffs.

Pure functions of two outputs returning plain values, so that the HTML report can
embed them as JSON and the Markdown and JSON reports can reuse them. Nothing here
renders markup: callers escape.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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


def word_diff(old: str, new: str, *, autojunk: bool = False) -> list[tuple[Op, str]]:
    """Word-level diff of two texts as ``(op, text)`` segments.

    ``op`` is ``"="`` (in both), ``"-"`` (only in ``old``) or ``"+"`` (only in
    ``new``); a replaced span gives a ``"-"`` then a ``"+"`` segment. Joining the
    ``=``/``-`` segments gives ``old`` back, the ``=``/``+`` segments ``new``.
    Whitespace runs are tokens too, so a change of spacing shows.

    >>> word_diff("the cat sat", "the dog sat")
    [('=', 'the '), ('-', 'cat'), ('+', 'dog'), ('=', ' sat')]
    """
    a = _TOKEN.findall(old)
    b = _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=autojunk)
    out: list[tuple[Op, str]] = []

    def emit(op: Op, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit("=", a[i1:i2])
        else:
            emit("-", a[i1:i2])
            emit("+", b[j1:j2])
    return out


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
