"""Reading helpers shared by the readers: UTF-8, JSON, JSONL in chunks, safe YAML.

Every failure becomes a :class:`RunFormatError` naming the file and the line.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
from collections.abc import Callable, Iterator
from itertools import chain, repeat
from pathlib import Path
from typing import Any, Final

from pytest_runcompare.errors import RunFormatError

#: Lines parsed per chunk: big enough to amortise the call, small enough that the
#: chunk's records are still in the CPU's cache when the builder reads them (2,000
#: loaded 1M datapoints a quarter faster than 20,000 with orjson, as fast without).
CHUNK_LINES = 2_000
#: Bytes read at a time by :func:`iter_jsonl`.
BLOCK_BYTES = 1 << 22


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


def check_regular(path: Path) -> int:
    """The size of ``path`` if it is a regular file within ``FILE_BYTES``, else an error.

    A FIFO would block the reader forever and ``/dev/zero`` would never end: only
    regular files are read.
    """
    import stat

    from pytest_runcompare import limits

    try:
        info = path.stat()
    except OSError as error:
        raise RunFormatError(
            f"cannot be read: {error.strerror or error}", path=path
        ) from None
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a directory"
            if stat.S_ISDIR(info.st_mode)
            else "not a regular file"
        )
        raise RunFormatError(
            f"is {kind}, not a regular file: a run is read from files only",
            path=path,
            hint="write the run to a file first and point at that file",
        )
    if info.st_size > limits.FILE_BYTES.value:
        raise RunFormatError(limits.FILE_BYTES.exceeded(info.st_size), path=path)
    return info.st_size


def read_bytes(path: Path) -> bytes:
    """The whole file, refused if it is not a regular file or passes ``FILE_BYTES``."""
    from pytest_runcompare import limits

    check_regular(path)
    cap = limits.FILE_BYTES.value
    # In blocks: one read(cap + 1) asks for the whole limit (4 GB) at once, which a
    # memory cap refuses even for a 60-byte file.
    pieces: list[bytes] = []
    size = 0
    try:
        with path.open("rb") as handle:
            while piece := handle.read(min(BLOCK_BYTES, cap + 1 - size)):
                pieces.append(piece)
                size += len(piece)
                if size > cap:  # the file grew while being read
                    raise RunFormatError(
                        limits.FILE_BYTES.exceeded(f"{size:,}+"), path=path
                    )
    except OSError as error:
        raise RunFormatError(
            f"cannot be read: {error.strerror or error}", path=path
        ) from None
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def read_text(path: Path) -> str:
    """The file as text, or a clear error if it is not UTF-8 or not a bounded file."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _utf8_error(path, data, error) from None


class _DuplicateKey(ValueError):
    """A JSON object with the same key twice (raised from ``object_pairs_hook``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _LongNumber(ValueError):
    """A JSON integer with more digits than ``NUMBER_DIGITS`` (from ``parse_int``)."""

    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _int_parser(cap: int) -> Callable[[str], int]:
    """``parse_int`` for :func:`loads`: integers of at most ``cap`` digits."""

    def parse(text: str) -> int:
        if len(text) <= cap:
            try:
                return int(text)
            except ValueError:  # Python's int-string limit (4,300), below ``cap``
                raise _LongNumber(len(text) - (text[0] == "-")) from None
        digits = len(text) - (text[0] == "-")
        if digits > cap:
            raise _LongNumber(digits)
        return int(text)  # "-" and exactly ``cap`` digits

    return parse


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses duplicate keys and integers over ``NUMBER_DIGITS``.

    Raises ``json.JSONDecodeError``, ``RecursionError`` or one of the private
    ``ValueError`` subclasses above; :func:`parse_json` turns them into messages.
    """
    from pytest_runcompare import limits

    parse_int = _int_parser(limits.NUMBER_DIGITS.value)
    return json.loads(text, object_pairs_hook=_pairs, parse_int=parse_int)


def loads_unchecked_keys(text: str) -> Any:
    """:func:`loads` without the duplicate-key hook: pair it with :func:`unique_keys`.

    The hook is a Python call per JSON object (a quarter of the parse of a large
    run); counting keys afterwards is exact and costs far less.
    """
    from pytest_runcompare import limits

    parse_int = _int_parser(limits.NUMBER_DIGITS.value)
    return json.loads(text, parse_int=parse_int)


#: Bytes that may stand between a key's closing quote and its colon.
_KEY_END: Final = re.compile(rb'"[ \t\r\n]*:')
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
#: Objects nested deeper than this are left to the exact check (the hook).
_KEY_COUNT_DEPTH: Final = 500
#: Above this many distinct keys at one level, keys are not walked column by column.
_KEY_COLUMNS: Final = 64


def unique_keys(values: list[Any], data: bytes) -> bool:
    r"""True only if no object parsed from ``data`` into ``values`` repeats a key.

    Every key ends with ``"`` and optional whitespace before ``:``; outside a key that
    sequence occurs only inside a string (after an escaped ``\"``). So ``data`` holds
    at least as many such ends as the objects had keys, and the parsed objects hold
    exactly as many as they had keys less one per duplicate. The counts being equal
    proves there is none; when they differ (a duplicate, or ``\":`` inside a string)
    the answer is False and the caller parses again with the exact hook.
    """
    ends = _key_ends(data)
    if _records_keys(values) == ends:
        return True
    found = _count_keys(values, ends)
    return found is not None and found == ends


@functools.cache
def _json_space() -> Any:
    """Whether each byte value is JSON whitespace: a 256-entry numpy lookup table."""
    import numpy as np

    return np.isin(np.arange(256), list(b" \t\r\n"))


def _key_ends(data: bytes) -> int:
    """How many times ``"``, optional whitespace and ``:`` follow each other in ``data``."""
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    before = raw[:-1][raw[1:] == 58]  # the byte before each ':'
    if _json_space()[before].any():  # '"a" : 1': rare, so a regex may count those
        return len(_KEY_END.findall(data))
    return int(np.count_nonzero(before == 34))  # '"'


def _records_keys(values: list[Any]) -> int:
    """Keys of the records and of their mapping fields (``metrics``): a lower bound.

    The parsed keys never outnumber the key ends in the text; a lower bound that
    reaches that number settles the question without visiting every value.
    """
    if set(map(type, values)) != {dict} or not values:
        return -1
    total = sum(map(len, values))
    for key, value in values[0].items():
        if type(value) is not dict:
            continue
        column: list[Any] = list(map(dict.get, values, repeat(key)))
        kinds = set(map(type, column))
        if kinds == {dict, type(None)}:
            column = [v for v in column if v is not None]
        elif kinds != {dict}:
            continue
        total += sum(map(len, column))
    return total


def _count_keys(values: list[Any], most: int) -> int | None:
    """Keys of every object nested in ``values``; None past the depth or ``most``."""
    total = 0
    level: list[list[Any]] = [values]
    for _ in range(_KEY_COUNT_DEPTH):
        deeper: list[list[Any]] = []
        for items in level:
            kinds = set(map(type, items))
            if kinds <= _SCALARS:
                continue
            if dict in kinds:
                dicts = (
                    items if kinds == {dict} else [v for v in items if type(v) is dict]
                )
                total += sum(map(len, dicts))
                names = set(chain.from_iterable(dicts))
                if len(names) <= _KEY_COLUMNS:  # column by column: each one kind
                    deeper.extend(list(map(dict.get, dicts, repeat(k))) for k in names)
                else:
                    deeper.append(list(chain.from_iterable(map(dict.values, dicts))))
            if list in kinds:
                lists = (
                    items if kinds == {list} else [v for v in items if type(v) is list]
                )
                deeper.append(list(chain.from_iterable(lists)))
            if not kinds <= _SCALARS | {dict, list}:
                return None  # not parsed JSON: let the exact check decide
        if total > most:
            return None
        if not deeper:
            return total
        level = deeper
    return None


def _lone_surrogate(value: Any, where: str = "") -> str | None:
    """The place of the first string (or key) holding a lone UTF-16 surrogate."""
    if isinstance(value, str):
        return where if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            place = f"{where}.{key}" if where else str(key)
            if _SURROGATE.search(key):
                return place
            found = _lone_surrogate(item, place)
            if found is not None:
                return found
    elif isinstance(value, list):
        for k, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{k}]")
            if found is not None:
                return found
    return None


_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_MAYBE_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


def check_surrogates(
    value: Any, data: bytes | str, path: Path, line: int | None
) -> None:
    r"""Refuse a lone surrogate (``"\\ud800"``): valid JSON, but no encoder writes it.

    Only text holding a ``\\ud8..``-``\\udf..`` escape is walked, so the check costs
    nothing on ordinary files.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not _MAYBE_SURROGATE.search(raw):
        return
    place = _lone_surrogate(value)
    if place is not None:
        raise RunFormatError(
            "a string holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without "
            "its pair), which is not text and cannot be written back",
            path=path,
            line=line,
            field=place or None,
            hint="fix the tool that wrote it; a surrogate pair (\\ud83d\\ude00) is fine",
        )


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _json_error(
    error: BaseException, path: Path, line: int | None, text: str | None = None
) -> RunFormatError:
    """The message for a JSON document or line that :func:`loads` refused."""
    from pytest_runcompare import limits

    if isinstance(error, json.JSONDecodeError):
        return RunFormatError(
            f"malformed JSON: {error.msg} (column {error.colno})",
            path=path,
            line=error.lineno if line is None else line,
            hint=None
            if line is None
            else "each line of a .jsonl file must be one JSON object",
        )
    if isinstance(error, RecursionError):
        return RunFormatError("JSON nested too deeply", path=path, line=line)
    if isinstance(error, _DuplicateKey):
        if line is None and text is not None:
            # The hook does not know where it is: the key's second occurrence is the
            # likely place (the message says "near").
            found = [
                m.start()
                for m in re.finditer(re.escape(json.dumps(error.key)) + r"\s*:", text)
            ]
            line = _line_of(text, found[1]) if len(found) > 1 else None
        return RunFormatError(
            f"duplicate key {error.key!r} in one JSON object: which value is meant is "
            "ambiguous",
            path=path,
            line=line,
            field=error.key,
            hint="write each key once per object",
        )
    assert isinstance(error, _LongNumber)
    if line is None and text is not None:
        match = re.search(rf"\d{{{limits.NUMBER_DIGITS.value + 1},}}", text)
        line = None if match is None else _line_of(text, match.start())
    return RunFormatError(
        limits.NUMBER_DIGITS.exceeded(f"an integer of {error.digits:,} digits"),
        path=path,
        line=line,
    )


def parse_json(text: str, path: Path) -> Any:
    """Parse a whole JSON document, naming the line of a syntax error or bad value."""
    try:
        value = loads(text)
    except (ValueError, RecursionError) as error:
        raise _json_error(error, path, None, text) from None
    check_surrogates(value, text, path, None)
    return value


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
    fast_parse: Callable[[list[bytes]], list[Any] | None] | None = None,
) -> Iterator[tuple[list[Any], list[int]]]:
    """Yield ``(records, line_numbers)`` chunks of a JSON Lines file; blank lines skipped.

    The file is read in blocks, never more than ``LINE_BYTES`` in one line nor
    ``FILE_BYTES`` in all (``/dev/zero`` would otherwise be read until memory runs
    out). Each chunk is parsed with one ``json.loads`` over the joined lines (fast);
    when that fails the chunk is parsed line by line to name the bad line. With
    ``tolerate_truncated_tail`` an unparsable last line without a newline (a writer
    that crashed mid-line) is dropped and reported in ``warnings``. ``fast_parse``
    (the ``fast`` extra's parser) is tried first on each chunk; where it returns
    ``None`` the chunk is parsed here, so every message stays this reader's.
    """
    check_regular(path)
    line_no = 0
    for raw, unterminated in _line_chunks(path):
        numbers = list(range(line_no + 1, line_no + 1 + len(raw)))
        line_no += len(raw)
        # Blank lines are skipped (numbers kept).
        # Empty ones are found cheaply here; a line of spaces fails the joined parse
        # and is skipped below.
        if not all(raw):
            kept = [(n, r) for n, r in zip(numbers, raw, strict=True) if r]
            numbers = [n for n, _ in kept]
            raw = [r for _, r in kept]
            if not raw:
                continue
        records = None if fast_parse is None else fast_parse(raw)
        if records is None:
            records = _parse_chunk(
                path, raw, numbers, unterminated, tolerate_truncated_tail, warnings
            )
        yield records, numbers


def _line_chunks(path: Path) -> Iterator[tuple[list[bytes], bool]]:
    """Lines (without their newline) in chunks of ``CHUNK_LINES``, read in blocks.

    The flag is true on the last chunk when the file does not end with a newline.
    """
    from pytest_runcompare import limits

    line_cap = limits.LINE_BYTES.value
    file_cap = limits.FILE_BYTES.value
    pending: list[bytes] = []
    tail: list[bytes] = []  # pieces of the line being read (no newline seen yet)
    tail_size = 0
    total = 0
    done = 0  # lines yielded so far

    def too_long(extra: int) -> RunFormatError:
        return RunFormatError(
            limits.LINE_BYTES.exceeded(f"{extra:,}+ bytes"),
            path=path,
            line=done + len(pending) + 1,
            hint="a .jsonl file holds one datapoint per line",
        )

    with path.open("rb") as handle:
        while True:
            block = handle.read(BLOCK_BYTES)
            if not block:
                break
            total += len(block)
            if total > file_cap:
                raise RunFormatError(
                    limits.FILE_BYTES.exceeded(f"{total:,}+"), path=path
                )
            if b"\n" not in block:
                tail.append(block)
                tail_size += len(block)
                if tail_size > line_cap:
                    raise too_long(tail_size)
                continue
            tail.append(block)
            parts = b"".join(tail).split(b"\n")
            last = parts.pop()
            if tail_size + len(parts[0]) - len(tail[-1]) > line_cap or (
                len(parts) > 1 and max(map(len, parts)) > line_cap
            ):
                for k, part in enumerate(parts):
                    if len(part) > line_cap:
                        pending.extend(parts[:k])
                        raise too_long(len(part))
            tail, tail_size = [last], len(last)
            if tail_size > line_cap:
                pending.extend(parts)
                raise too_long(tail_size)
            pending.extend(parts)
            while len(pending) >= CHUNK_LINES:
                yield pending[:CHUNK_LINES], False
                del pending[:CHUNK_LINES]
                done += CHUNK_LINES
    rest = b"".join(tail)
    if rest:
        pending.append(rest)
    while len(pending) > CHUNK_LINES:
        yield pending[:CHUNK_LINES], False
        del pending[:CHUNK_LINES]
    if pending:
        yield pending, bool(rest)


def _parse_chunk(
    path: Path,
    raw: list[bytes],
    numbers: list[int],
    unterminated: bool,
    tolerate_truncated_tail: bool,
    warnings: list[str] | None,
) -> list[Any]:
    data = b"[" + b",".join(raw) + b"]"
    try:
        text = data.decode("utf-8")
        records = loads_unchecked_keys(text)
        if len(records) == len(raw):
            if not unique_keys(records, data):
                records = loads(text)  # exact: raises on a duplicate key
            check_surrogates(records, data, path, None)
            return records  # type: ignore[no-any-return]
    except (ValueError, RecursionError):
        pass
    except RunFormatError:
        pass  # a lone surrogate: found again below, with its line
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
            record = loads(text)
        except json.JSONDecodeError as error:
            last = k == len(raw) - 1 and unterminated
            if last and tolerate_truncated_tail:
                if warnings is not None:
                    warnings.append(
                        f"{path}:{number}: dropped a truncated last line (the run was "
                        "still being written or its writer crashed)"
                    )
                continue
            raise _json_error(error, path, number) from None
        except (ValueError, RecursionError) as error:
            raise _json_error(error, path, number) from None
        check_surrogates(record, line, path, number)
        records.append(record)
        kept.append(number)
    numbers[:] = kept
    return records
