"""Neutralise strings from run data before they reach a terminal or a CI log.

Ids, tags, metric names and model outputs are untrusted text: a newline could start a
GitHub workflow command (``::error ...``) and an ESC or OSC sequence could retitle or clear
the terminal. Every face that prints run data to a terminal or a log passes it through
:func:`one_line` first.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators, plus lone
# surrogates (which no encoder will write).
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object) -> str:
    """``text`` as one printable line: every control character shown as an escape."""
    return _UNSAFE.sub(_escape, str(text))
