"""Bounds on what a reader will read, decompress, expand or hold, each raisable by name.

A run or gates file comes from another tool, another machine or a half-finished job; a
hostile or broken one must end in a clear error, never a hang or unbounded memory. Each
limit has a default that serves real evaluation runs many times over and an environment
variable ``RUNCOMPARE_MAX_<NAME>`` that raises it (``RUNCOMPARE_MAX_FILE_BYTES=8GB``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final

from pytest_runcompare.errors import RunCompareError


@dataclass(frozen=True, slots=True)
class Limit:
    """One bound: its name, default and what it counts (for messages and the README)."""

    name: str
    default: int
    counts: str

    @property
    def variable(self) -> str:
        """The environment variable that raises this limit."""
        return f"RUNCOMPARE_MAX_{self.name.upper()}"

    @property
    def value(self) -> int:
        """The limit in force: the environment's value if set, else the default."""
        raw = os.environ.get(self.variable)
        if raw is None or not raw.strip():
            return self.default
        return parse_amount(raw, self.variable)

    def exceeded(self, seen: int | str) -> str:
        """A message saying this limit was passed and how to raise it."""
        return (
            f"more than {self.value:,} {self.counts} ({seen}); raise the limit with "
            f"{self.variable}=<number> if this input is genuine"
        )


class LimitError(RunCompareError, ValueError):
    """An environment variable that sets a limit is not a positive amount."""


_UNITS: Final = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_UNITS.update({"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12})
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})
_AMOUNT: Final = re.compile(r"^\s*([0-9][0-9_]*)\s*([a-zA-Z]*)\s*$")


def parse_amount(raw: str, variable: str) -> int:
    """``"2GB"`` → 2,000,000,000; ``"512MiB"`` → 536,870,912; a plain count as it is."""
    match = _AMOUNT.match(raw)
    unit = "" if match is None else match.group(2).lower()
    if match is None or unit not in _UNITS or int(match.group(1)) <= 0:
        raise LimitError(
            f"{variable}={raw!r} is not a positive amount: write a whole number, "
            "optionally with a unit (k, M, G, KB, MB, GB, KiB, MiB, GiB)"
        )
    return int(match.group(1)) * _UNITS[unit]


FILE_BYTES: Final = Limit("file_bytes", 4 * 10**9, "bytes in one run file")
MEMBER_BYTES: Final = Limit(
    "member_bytes", 2 * 10**9, "bytes decompressed from one archive member"
)
ARCHIVE_BYTES: Final = Limit(
    "archive_bytes", 8 * 10**9, "bytes decompressed from one archive"
)
LINE_BYTES: Final = Limit("line_bytes", 256 * 10**6, "bytes in one line of a run file")
TEXT_CHARS: Final = Limit(
    "text_chars", 10_000, "characters in an id, a metric name or a tag"
)
TAGS: Final = Limit("tags", 10_000, "slice tags on one datapoint")
METRICS: Final = Limit("metrics", 10_000, "metrics in one run")
YAML_NODES: Final = Limit(
    "yaml_nodes", 1_000_000, "YAML nodes after aliases are expanded"
)
NUMBER_DIGITS: Final = Limit("number_digits", 400, "digits in one number")
AUTO_SLICES: Final = Limit(
    "auto_slices", 200, "automatic warn-only slice gates per metric"
)
NESTING: Final = Limit(
    "nesting", 64, "levels of nesting in one value of a run's metadata"
)
CLASSES: Final = Limit(
    "classes", 50, "distinct labels for the classification views of a report"
)
CURVES: Final = Limit("curves", 200, "metric curves in one run")
CURVE_POINTS: Final = Limit("curve_points", 100_000, "points in one metric curve")
CANDIDATES: Final = Limit(
    "candidates", 1000, "candidates in one sweep, after globs and multi-run expansion"
)
STEPS: Final = Limit(
    "steps", 1000, "named steps (turns, repeated samplings) a reader makes in one run"
)

ALL: Final = (
    FILE_BYTES,
    MEMBER_BYTES,
    ARCHIVE_BYTES,
    LINE_BYTES,
    TEXT_CHARS,
    TAGS,
    METRICS,
    YAML_NODES,
    NUMBER_DIGITS,
    NESTING,
    AUTO_SLICES,
    CLASSES,
    CURVES,
    CURVE_POINTS,
    CANDIDATES,
    STEPS,
)
