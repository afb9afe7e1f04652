"""Small helpers shared by the readers of other tools' files.

Kept free of heavy imports: every reader module imports this at module level.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_runcompare.errors import RunFormatError

#: Bytes read from the start of a file to recognise its format without parsing it.
HEAD_BYTES = 4096


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a file (empty if it cannot be read)."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def json_starts_with_key(head: bytes, *keys: str) -> bool:
    """Whether a JSON document's first key is one of ``keys`` (a cheap format sniff)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    match = re.match(rb'\{\s*"([^"\\]{1,64})"\s*:', text)
    return match is not None and match.group(1).decode("utf-8", "replace") in keys


def replicate_ids(keys: Sequence[Any]) -> tuple[list[Any], list[str | None]]:
    """Ids and groups for keyed rows: a key seen more than once gives replicates.

    A unique key is its own id (no group); a repeated one gives ``<key>#1``,
    ``<key>#2``, ... grouped as ``<key>`` (the same question asked again, a test run
    repeated), so that the statistics treat them as replicates of one datapoint.
    """
    counts: dict[Any, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    ids: list[Any] = []
    groups: list[str | None] = []
    seen: dict[Any, int] = {}
    for key in keys:
        if counts[key] == 1:
            ids.append(key)
            groups.append(None)
            continue
        seen[key] = seen.get(key, 0) + 1
        ids.append(f"{key}#{seen[key]}")
        groups.append(str(key))
    return ids, groups


def stable_hash(value: Any, length: int = 12) -> str:
    """A short hash of a JSON-like value that does not depend on key order."""
    text = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def as_text(value: Any) -> str | None:
    """A model output as text: strings as they are, other JSON values serialised."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def scalar(
    value: Any,
    *,
    path: Path | str | None = None,
    line: int | None = None,
    datapoint: object | None = None,
    field: str | None = None,
) -> float | bool | None:
    """A per-datapoint metric value, or ``None`` when it is not a finite scalar.

    An integer beyond a 64-bit float is a :class:`RunFormatError` at the place given,
    not an ``OverflowError``: it is a damaged score, not a missing one.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # only an int overflows here
            raise _too_large(int(value), path, line, datapoint, field) from None
        return number if math.isfinite(number) else None
    return None


def _too_large(
    value: int,
    path: Path | str | None,
    line: int | None,
    datapoint: object | None,
    field: str | None,
) -> RunFormatError:
    from pytest_runcompare import limits

    digits = len(str(abs(value))) if value.bit_length() < 20_000 else 6_000
    cap = limits.NUMBER_DIGITS
    reason = (
        f"metric value: {cap.exceeded(f'an integer of {digits:,} digits')}"
        if digits > cap.value
        else f"metric value is too large for a 64-bit float (an integer of "
        f"{digits:,} digits; a float holds 309 at most, {cap.name} "
        f"{cap.value:,} bounds what is read)"
    )
    return RunFormatError(
        reason,
        path=path,
        line=line,
        datapoint=datapoint,
        field=field,
        hint="write the score as a number that fits a 64-bit float",
    )


def parse_selector(
    selector: str | None, *, path: Path, accepted: Iterable[str]
) -> dict[str, str]:
    """Parse ``key=value,key=value`` (the part of a location after ``::``)."""
    if not selector:
        return {}
    accepted = tuple(accepted)
    out: dict[str, str] = {}
    for part in _split_selector(selector):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in accepted:
            raise RunFormatError(
                f"cannot read the selector {selector!r}: {part!r} is not "
                f"key=value with a key in {list(accepted)}",
                path=path,
                hint=f"write {path}::{accepted[0]}=...",
            )
        out[key] = value.strip()
    return out


def _split_selector(selector: str) -> list[str]:
    # Commas separate key=value pairs, but a value may itself hold commas
    # (``prompt=Product Ideas v2, short``): a part without '=' joins the previous one.
    parts: list[str] = []
    for piece in selector.split(","):
        if parts and "=" not in piece:
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    return [p for p in parts if p.strip()]


def merged_options(
    options: Mapping[str, Any], selector: dict[str, str], keys: Iterable[str]
) -> dict[str, Any]:
    """Reader options from the gates file, overridden by the location's selector."""
    out = {k: options[k] for k in keys if options.get(k) is not None}
    out.update(selector)
    return out


def load_json(path: Path) -> Any:
    """Read and parse a whole JSON file, naming the file on any error."""
    from pytest_runcompare.loaders.files import parse_json, read_text

    text = read_text(path)
    if not text.strip():
        raise RunFormatError("the file is empty", path=path)
    return parse_json(text, path)


def object_field(mapping: Mapping[Any, Any], key: object) -> dict[Any, Any]:
    """``mapping[key]`` if it is a JSON object (a dict), else an empty dict."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def array_field(mapping: Mapping[Any, Any], key: object) -> list[Any]:
    """``mapping[key]`` if it is a JSON array (a list), else an empty list."""
    value = mapping.get(key)
    return value if isinstance(value, list) else []


def require_mapping(value: Any, *, path: Path, field: str, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an error naming the field."""
    if not isinstance(value, dict):
        raise RunFormatError(
            f"{what}: expected an object, got {type(value).__name__}",
            path=path,
            field=field,
        )
    return value


def truncation_error(warning: str, path: Path, *, hint: str) -> RunFormatError:
    """Turn ``iter_jsonl``'s truncated-tail warning into an error naming the line."""
    match = re.search(r":(\d+): ", warning)
    return RunFormatError(
        "truncated last line: the file is cut off mid-record",
        path=path,
        line=None if match is None else int(match.group(1)),
        hint=hint,
    )
