"""The ``fast`` extra's parser for native ``.jsonl`` runs: orjson, one call per chunk.

The native reader hands each chunk of lines to :func:`parse_chunk` first. It returns
the records only when they are exactly what the validating parser
(:func:`pytest_runcompare.loaders.files.loads`) would return: otherwise ``None``, and
that parser reads the chunk and names the line, datapoint and field of whatever is
wrong. orjson refuses NaN, infinities, lone surrogates, invalid UTF-8, a BOM and deep
nesting itself; what it would accept differently (a repeated key, whose last value it
keeps, and integers past 64 bits, which it turns into floats) is checked here. The
records then go through the same :class:`~pytest_runcompare.building.RunBuilder`, so
the run and every message are the validating reader's.

Measured on 2 x 1,000,000 datapoints (``benchmarks/bench_fast_jsonl.py``), orjson was
the quickest way to the Python ids and outputs a run holds: DuckDB's and pyarrow's
JSON readers build Arrow columns faster or about as fast, but turning their strings
and lists back into Python objects, and matching the validating reader's refusals,
cost more than they saved.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pytest_runcompare import limits
from pytest_runcompare.loaders.files import unique_keys

#: Set to ``0`` to read native runs with the standard library's parser alone.
SWITCH: Final = "RUNCOMPARE_FAST_JSONL"
#: orjson turns integers past 64 bits into floats: a run of this many digits (in a
#: number or inside a string) sends the chunk to the validating parser.
_LONG_DIGITS: Final = 19
#: ``bytes.translate`` table: digits to ``0``, anything else to ``x`` (then a plain
#: substring search finds a run of digits, far quicker than a regex).
_DIGITS: Final = bytes(48 if 48 <= b <= 57 else 120 for b in range(256))


@dataclass(slots=True)
class Usage:
    """How many chunks each parser read, since the process started (for tests)."""

    fast: int = 0
    fallback: int = 0


usage: Final = Usage()


@functools.cache
def _orjson_loads() -> Callable[[bytes], Any] | None:
    try:
        import orjson
    except ImportError:
        return None
    return orjson.loads


def chunk_parser() -> Callable[[list[bytes]], list[Any] | None] | None:
    """The fast parser, or ``None`` when orjson is absent or switched off.

    Also ``None`` when ``NUMBER_DIGITS`` is set below what a 64-bit integer holds:
    orjson would not count the digits of the integers it accepts.
    """
    if os.environ.get(SWITCH, "").strip() == "0":
        return None
    if _orjson_loads() is None or limits.NUMBER_DIGITS.value < _LONG_DIGITS + 1:
        return None
    return parse_chunk


def parse_chunk(raw: list[bytes]) -> list[Any] | None:
    """The records of ``raw`` (lines without newlines), or ``None`` to delegate."""
    loads = _orjson_loads()
    assert loads is not None  # chunk_parser() hands this out only with orjson
    data = b"[" + b",".join(raw) + b"]"
    try:
        records = loads(data)
    except ValueError:  # orjson.JSONDecodeError: the validating parser says where
        usage.fallback += 1
        return None
    if type(records) is not list or len(records) != len(raw):  # "1, 2" or nothing
        usage.fallback += 1
        return None
    long_number = b"0" * _LONG_DIGITS in data.translate(_DIGITS)
    if long_number or not unique_keys(records, data):
        usage.fallback += 1
        return None
    usage.fast += 1
    return records
