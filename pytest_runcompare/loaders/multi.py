"""A sweep's candidates: globs, folders of runs and multi-run files, one run each.

Each entry of the gates file's ``candidates:`` (or of the command line) becomes one or
more labelled candidates, in a deterministic order:

- a glob (``runs/sweep/*``, ``runs/*.jsonl``, ``**`` too): one candidate per match,
  sorted, labelled by the match's name (a file's stem); each match is expanded in
  turn when it holds several runs (``<match>/<run>``);
- a location that holds several runs, as its reader lists them through the
  ``pytest_runcompare_list_runs`` hook: a folder of run folders, a promptfoo file's
  columns, an lm-eval output folder with several runs, an MLflow experiment
  (``mlflow://experiment/<name or id>`` or a file store's experiment folder);
  labelled by the reader (``<label>/<run>`` under an entry's own label);
- anything else: itself, labelled by the entry's label or the location's stem.

An entry's own label names the one run it expands to, or prefixes its runs'.

Labels derived here that collide are made unique with the path of the run relative
to the colliding runs' common folder, else ``#2``, ``#3``, ...; labels given twice
explicitly are an error.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pytest_runcompare import limits
from pytest_runcompare.errors import ConfigError, RunCompareError, RunNotFoundError
from pytest_runcompare.loaders.registry import is_uri, split_location

if TYPE_CHECKING:
    from pytest_runcompare.config import Candidate, RunSource

ListHook = Callable[..., "list[tuple[str, str]] | None"]

#: A RunWriter's work folder beside its run (``<name>.writing-<pid>-<host>-...``):
#: an unfinished or crashed write, never a candidate of its own.
_WORK_FOLDER: Final = re.compile(r"\.writing-")


@dataclass(frozen=True, slots=True)
class _Found:
    """One run an entry expanded to, before labels are made unique."""

    label: str
    location: str
    #: the entry or glob match the run came from (a path or a URI)
    origin: str
    #: the reader's label of the run inside ``origin`` (None: ``origin`` is the run)
    inner: str | None
    #: the label was given in the gates file or on the command line
    explicit: bool
    entry: int


def is_work_folder(path: str | Path) -> bool:
    """Whether ``path`` is a RunWriter's work folder (an unfinished write)."""
    return _WORK_FOLDER.search(Path(path).name) is not None


def expand_candidates(
    entries: Sequence[Candidate], *, hook: ListHook | None = None
) -> tuple[Candidate, ...]:
    """Turn every entry into one or more labelled candidates, in a deterministic order.

    ``hook`` is the caller of ``pytest_runcompare_list_runs`` (the pytest session's;
    default: a plugin manager with the built-in readers and installed plugins). Each
    candidate keeps its entry's reader options. Raises :class:`RunNotFoundError` for
    a glob that matches nothing, a path that does not exist or cannot be listed, a
    location that holds no run; :class:`ConfigError` for a label given twice or more
    candidates than ``RUNCOMPARE_MAX_CANDIDATES`` allows.
    """
    _check_explicit_labels(entries)
    caller = hook or _default_hook()
    found: list[_Found] = []
    for index, entry in enumerate(entries):
        items = _expand(entry, index, caller, len(found))
        if entry.label is not None and len(items) == 1:  # a glob with one match too
            items = [replace(items[0], label=entry.label, explicit=True)]
        found.extend(items)
        _check_bound(entry, len(found))
    labels = _unique_labels(found)
    return tuple(
        replace(
            entries[item.entry],
            label=label,
            source=replace(entries[item.entry].source, location=item.location),
        )
        for item, label in zip(found, labels, strict=True)
    )


def leave_out_baseline(
    baseline: RunSource, candidates: Sequence[Candidate]
) -> tuple[tuple[Candidate, ...], str | None]:
    """The candidates without the baseline itself (the same run, or the same column).

    A glob such as ``runs/*`` or a multi-run file matches the baseline too; judged, it
    would pass every gate and, under ``require: any``, pass the sweep on its own.
    Returns the others and a note naming what was left out (None: nothing was).
    Raises :class:`ConfigError` when no other candidate remains.
    """
    own = _run_key(baseline.location)
    kept = tuple(c for c in candidates if _run_key(c.source.location) != own)
    if len(kept) == len(candidates):
        return kept, None
    left = next(c for c in candidates if _run_key(c.source.location) == own)
    what = f"{left.label!r} ({left.source.location})"
    if not kept:
        raise ConfigError(
            f"candidates: {what} is the baseline itself, and there is no other "
            "candidate to judge against it"
        )
    return kept, (
        f"candidates: left out {what}: it is the baseline itself (it would pass "
        "every gate and, under require: any, pass the sweep alone)"
    )


def _run_key(location: str) -> tuple[str, str | None]:
    """What names a run: its file or folder (resolved) and its selector, or a URI."""
    if is_uri(location):
        return location, None
    path, selector = split_location(location)
    return os.path.realpath(path), selector


def _default_hook() -> ListHook:
    from pytest_runcompare.loaders.registry import default_plugin_manager

    hook: ListHook = default_plugin_manager().hook.pytest_runcompare_list_runs
    return hook


def _check_explicit_labels(entries: Sequence[Candidate]) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.label is None:
            continue
        if "::" in entry.label:
            raise ConfigError(
                f"candidates: the label {entry.label!r} ({entry.source.location}) "
                "contains '::', which separates the parts of a pytest node id "
                "(runcompare.yaml::<label>::<gate>); choose a label without it"
            )
        if entry.label in seen:
            raise ConfigError(
                f"candidates: the label {entry.label!r} is given twice "
                f"({seen[entry.label]} and {entry.source.location}); give each "
                "candidate its own label"
            )
        seen[entry.label] = entry.source.location


def _describe(entry: Candidate) -> str:
    where = entry.source.location
    return where if entry.label is None else f"{entry.label!r} ({where})"


def _check_bound(entry: Candidate, count: int) -> None:
    if count > limits.CANDIDATES.value:
        raise ConfigError(
            f"candidates: {_describe(entry)}: "
            + limits.CANDIDATES.exceeded(f"{count:,} so far")
        )


def _expand(
    entry: Candidate, index: int, caller: ListHook, before: int
) -> list[_Found]:
    location = entry.source.location
    path, selector = split_location(location)
    if not is_uri(location) and not path.exists() and glob.has_magic(str(path)):
        return _expand_glob(entry, index, caller, before, path, selector)
    if not is_uri(location) and not path.exists():
        raise RunNotFoundError(
            f"candidates: {_describe(entry)}: {path}: no such file or directory"
        )
    inner = _list(entry, location, caller)
    if inner is None:
        label = entry.label or _stem(location)
        return [_Found(label, location, location, None, entry.label is not None, index)]
    if not inner:
        raise RunNotFoundError(
            f"candidates: {_describe(entry)}: holds no run (its reader listed none)"
        )
    _check_bound(entry, before + len(inner))
    return [
        _Found(
            sub if entry.label is None else f"{entry.label}/{sub}",
            where,
            location,
            sub,
            False,
            index,
        )
        for sub, where in inner
    ]


def _expand_glob(
    entry: Candidate,
    index: int,
    caller: ListHook,
    before: int,
    pattern: Path,
    selector: str | None,
) -> list[_Found]:
    matches: list[str] = []
    for match in glob.iglob(str(pattern), recursive=True):
        if is_work_folder(match):
            continue
        matches.append(match)
        _check_bound(entry, before + len(matches))
    if not matches:
        raise RunNotFoundError(
            f"candidates: {_describe(entry)}: the glob matches no file or folder "
            f"(looked in {_glob_root(pattern)})"
        )
    out: list[_Found] = []
    for match in sorted(matches):
        location = match if selector is None else f"{match}::{selector}"
        name = _stem(location)
        prefix = name if entry.label is None else f"{entry.label}/{name}"
        inner = _list(entry, location, caller)
        if inner is None:
            out.append(_Found(prefix, location, location, None, False, index))
        else:
            out.extend(
                _Found(f"{prefix}/{sub}", where, location, sub, False, index)
                for sub, where in inner
            )
        _check_bound(entry, before + len(out))
    return out


def _glob_root(pattern: Path) -> Path:
    """The folder a glob starts from: its parts before the first wildcard."""
    parts: list[str] = []
    for part in pattern.parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _list(
    entry: Candidate, location: str, caller: ListHook
) -> list[tuple[str, str]] | None:
    try:
        listed = caller(location=location, options=dict(entry.source.options))
    except RunCompareError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RunNotFoundError(
            f"candidates: {_describe(entry)}: {location} could not be listed "
            f"({type(error).__name__}: {error})"
        ) from error
    if listed is None:
        return None
    return [(_clean(label), str(where)) for label, where in listed]


def _clean(label: object) -> str:
    from pytest_runcompare.untrusted import NAME_CHARS, one_line

    # "::" separates a pytest node id's parts: a label must not contain it
    text = re.sub(":{2,}", ":", one_line(label, NAME_CHARS)).strip()
    return text or "run"


def _stem(location: str) -> str:
    """A run's default label: a folder's name, a file's stem, a URI's last part."""
    if is_uri(location):
        tail = location.split("://", 1)[-1] if "://" in location else location[6:]
        return _clean(tail.rstrip("/").rsplit("/", 1)[-1] or location)
    path, selector = split_location(location)
    name = path.name if path.is_dir() else path.stem
    name = name or str(path)
    return _clean(name if selector is None else f"{name}:{selector}")


# --------------------------------------------------------------------- unique labels


def _unique_labels(found: Sequence[_Found]) -> list[str]:
    """Each run's label, derived ones made unique (explicit ones never change)."""
    labels = [item.label for item in found]
    for _ in range(2):  # a longer label can collide with another one once more
        clashes = _clashes(found, labels)
        if not clashes:
            return labels
        for group in clashes:
            longer = _relative_labels([found[i] for i in group])
            for i, label in zip(group, longer, strict=True):
                labels[i] = label
    taken = {label for label, item in zip(labels, found, strict=True) if item.explicit}
    out: list[str] = []
    for label, item in zip(labels, found, strict=True):
        if item.explicit:
            out.append(label)
            continue
        unique, n = label, 1
        while unique in taken:
            n += 1
            unique = f"{label}#{n}"
        taken.add(unique)
        out.append(unique)
    return out


def _clashes(found: Sequence[_Found], labels: Sequence[str]) -> list[list[int]]:
    """Groups of derived labels that equal another label."""
    where: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        where.setdefault(label, []).append(i)
    groups = []
    for indices in where.values():
        derived = [i for i in indices if not found[i].explicit]
        if derived and len(indices) > 1:
            groups.append(derived)
    return groups


def _relative_labels(group: Sequence[_Found]) -> list[str]:
    """Labels naming each run's origin relative to the group's common folder."""
    paths = [split_location(item.origin)[0] for item in group]
    if any(is_uri(item.origin) for item in group) or len(group) < 2:
        return [item.label for item in group]
    try:
        common = Path(os.path.commonpath([str(p) for p in paths]))
    except ValueError:  # relative and absolute paths mixed
        return [item.label for item in group]
    out = []
    for item, path in zip(group, paths, strict=True):
        relative = path.relative_to(common).as_posix() if path != common else path.name
        if not path.is_dir():
            relative = relative.removesuffix(path.suffix) or relative
        selector = split_location(item.origin)[1]
        if selector is not None:
            relative = f"{relative}:{selector}"
        out.append(
            _clean(relative if item.inner is None else f"{relative}/{item.inner}")
        )
    if len(set(out)) < len(out):  # a.json and a.jsonl: keep the suffixes
        out = [
            _clean(
                (path.relative_to(common).as_posix() if path != common else path.name)
                + ("" if item.inner is None else f"/{item.inner}")
            )
            for item, path in zip(group, paths, strict=True)
        ]
    return out
