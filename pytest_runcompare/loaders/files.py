"""Reading helpers shared by the readers: UTF-8, JSON, JSONL in chunks, safe YAML.

Every failure becomes a :class:`RunFormatError` naming the file and the line.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from pytest_runcompare.errors import RunFormatError

#: Lines parsed per chunk: big enough to amortise the call, small enough for memory.
CHUNK_LINES = 20_000


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a reader builds a run.

    Parsed records hold no reference cycles, but every collection of the old
    generation walks all the objects a large run has kept so far (its ids, outputs,
    tags), which made loading a million datapoints several times slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _utf8_error(
    path: Path, data: bytes, error: UnicodeDecodeError, first_line: int = 1
) -> RunFormatError:
    line = first_line + data.count(b"\n", 0, error.start)
    bad = data[error.start : error.start + 1].hex()
    return RunFormatError(
        f"not valid UTF-8 (byte 0x{bad})",
        path=path,
        line=line,
        hint="run files must be UTF-8 encoded text",
    )


def read_text(path: Path) -> str:
    """The file as text, or a clear error if it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _utf8_error(path, data, error) from None


def parse_json(text: str, path: Path) -> Any:
    """Parse a whole JSON document, naming the line and column of a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RunFormatError(
            f"malformed JSON: {error.msg} (column {error.colno})",
            path=path,
            line=error.lineno,
        ) from None
    except RecursionError:
        raise RunFormatError("JSON nested too deeply", path=path) from None


@functools.cache
def _loader() -> Any:
    """The YAML loader of run and gates files (:mod:`pytest_runcompare.yaml_text`)."""
    from pytest_runcompare import yaml_text

    return yaml_text.loader_class()


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML with the 1.2 core schema: plain data only, bounded, no duplicate keys.

    Dates, ``no`` and ``1:30`` stay text; aliases that expand past
    ``limits.YAML_NODES`` are refused (:mod:`pytest_runcompare.yaml_text`).
    """
    from pytest_runcompare import yaml_text

    return yaml_text.load(text, path)


def iter_jsonl(
    path: Path,
    *,
    tolerate_truncated_tail: bool = False,
    warnings: list[str] | None = None,
) -> Iterator[tuple[list[Any], list[int]]]:
    """Yield ``(records, line_numbers)`` chunks of a JSON Lines file; blank lines skipped.

    Each chunk is parsed with one ``json.loads`` over the joined lines (fast); when that
    fails the chunk is parsed line by line to name the bad line. With
    ``tolerate_truncated_tail`` an unparsable last line without a newline (a writer that
    crashed mid-line) is dropped and reported in ``warnings``.
    """
    with path.open("rb") as handle:
        line_no = 0
        while True:
            raw = list(islice(handle, CHUNK_LINES))
            if not raw:
                return
            numbers = list(range(line_no + 1, line_no + 1 + len(raw)))
            line_no += len(raw)
            # Blank lines are skipped (numbers kept). Empty ones are found cheaply
            # here; a line of spaces fails the joined parse and is skipped below.
            if b"\n" in raw or b"\r\n" in raw or b"" in raw:
                kept = [(n, r) for n, r in zip(numbers, raw, strict=True) if r.strip()]
                numbers = [n for n, _ in kept]
                raw = [r for _, r in kept]
                if not raw:
                    continue
            yield (
                _parse_chunk(path, raw, numbers, tolerate_truncated_tail, warnings),
                numbers,
            )


def _parse_chunk(
    path: Path,
    raw: list[bytes],
    numbers: list[int],
    tolerate_truncated_tail: bool,
    warnings: list[str] | None,
) -> list[Any]:
    data = b"[" + b",".join(raw) + b"]"
    try:
        records = json.loads(data.decode("utf-8"))
        if len(records) == len(raw):
            return records  # type: ignore[no-any-return]
    except (ValueError, RecursionError):
        pass
    records = []
    kept: list[int] = []
    for k, (line, number) in enumerate(zip(raw, numbers, strict=True)):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise _utf8_error(path, line, error, number) from None
        try:
            records.append(json.loads(text))
            kept.append(number)
        except json.JSONDecodeError as error:
            last = k == len(raw) - 1 and not line.endswith(b"\n")
            if last and tolerate_truncated_tail:
                if warnings is not None:
                    warnings.append(
                        f"{path}:{number}: dropped a truncated last line (the run was "
                        "still being written or its writer crashed)"
                    )
                continue
            raise RunFormatError(
                f"malformed JSON: {error.msg} (column {error.colno})",
                path=path,
                line=number,
                hint="each line of a .jsonl file must be one JSON object",
            ) from None
        except RecursionError:
            raise RunFormatError(
                "JSON nested too deeply", path=path, line=number
            ) from None
    numbers[:] = kept
    return records
