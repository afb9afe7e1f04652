"""Promoting a candidate to be the new baseline: explicit, serialised, never losing one.

A promotion holds the baseline's lock file (two CI jobs take turns), refuses when the
baseline changed since the session looked at it, copies the previous baseline into
``<baseline>.history/`` as a numbered generation that loads as it is, writes the new
one atomically, and appends one line to ``<baseline>.provenance.jsonl``: when, by
whom, why, the previous and new content hashes, the gates that changed outcome and
each metric's mean. Nothing in the history is deleted except by :func:`prune` (the
``runcompare prune`` command), which logs what it removed.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunCompareError
from pytest_runcompare.locking import DEFAULT_TIMEOUT, exclusive

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run

#: The ``action`` of a provenance entry (entries written before prune had none).
PROMOTE, PRUNE = "promote", "prune"
#: File shapes the update writes back as files of the same format.
FILE_SUFFIXES = (".jsonl", ".json", ".yaml", ".yml", ".parquet", ".arrow", ".feather")
#: File shapes a baseline may be read from but that the update cannot write.
READ_ONLY_SUFFIXES = (".csv",)
#: The CI variables that say which job promoted (GitHub Actions, GitLab CI).
_CI_VARIABLES = (
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_JOB",
    "GITHUB_SHA",
    "GITHUB_ACTOR",
    "CI_PROJECT_PATH",
    "CI_JOB_ID",
    "CI_COMMIT_SHA",
)


class BaselineUpdateRefused(RunCompareError):
    """The candidate may not become the baseline (failed, incomplete, changed, ...)."""


def _refused(why: str) -> BaselineUpdateRefused:
    return BaselineUpdateRefused(
        f"refusing to update the baseline: {why} — the baseline was left as it was"
    )


def history_dir(path: Path) -> Path:
    """Where the previous baselines are kept: ``<name>.history/`` beside it."""
    return path.with_name(path.name + ".history")


def provenance_log(path: Path) -> Path:
    """The append-only provenance log: ``<name>.provenance.jsonl`` beside it."""
    return path.with_name(path.name + ".provenance.jsonl")


def _legacy_provenance(path: Path) -> Path:
    """The single record of versions before the log (read, never written)."""
    return path.with_name(path.name + ".provenance.json")


def _is_file_baseline(path: Path) -> bool:
    if path.exists():
        return not path.is_dir()
    return path.suffix.lower() in FILE_SUFFIXES + READ_ONLY_SUFFIXES


def generation_name(path: Path, number: int) -> str:
    """``x.0003.jsonl`` for a file ``x.jsonl``, ``x.0003`` for a folder: loadable as is."""
    if _is_file_baseline(path):
        return f"{path.stem}.{number:04d}{path.suffix}"
    return f"{path.name}.{number:04d}"


def _generation_pattern(path: Path) -> re.Pattern[str]:
    """The file names of the baseline's generations; group 1 is the number."""
    if _is_file_baseline(path):
        return re.compile(
            rf"^{re.escape(path.stem)}\.(\d{{4,}}){re.escape(path.suffix)}$"
        )
    return re.compile(rf"^{re.escape(path.name)}\.(\d{{4,}})$")


def _next_number(path: Path) -> int:
    """One more than any generation number kept or ever logged (pruned ones too).

    A number is never given twice, so ``NAME@3`` always means the same run.
    """
    pattern = _generation_pattern(path)
    used = [n for n, _ in generations(path)]
    for entry in read_log(path):
        named = [entry.get("previous_generation")]
        removed = entry.get("removed_generations")
        named += removed if isinstance(removed, list) else []
        for name in named:
            match = pattern.match(Path(name).name) if isinstance(name, str) else None
            if match:
                used.append(int(match.group(1)))
    return max(used, default=0) + 1


def generations(path: Path) -> list[tuple[int, Path]]:
    """The kept generations of the baseline at ``path``, oldest first."""
    folder = history_dir(path)
    pattern = _generation_pattern(path)
    found: list[tuple[int, Path]] = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match:
                found.append((int(match.group(1)), entry))
    return sorted(found)


def content_hash(path: Path) -> str | None:
    """``sha256:<hex>`` of a run (every file of a folder, by name), None when absent."""
    if not path.exists():
        return None
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    for file in files if path.is_dir() else [path]:
        name = file.relative_to(path).as_posix() if path.is_dir() else ""
        digest.update(name.encode("utf-8") + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Seen:
    """What the baseline was when the session looked at it (before loading it)."""

    path: Path
    digest: str | None  # None: there was no baseline
    mtime_ns: int | None

    @classmethod
    def now(cls, path: Path) -> Seen:
        """Look at the baseline now."""
        digest = content_hash(path)
        mtime = path.stat().st_mtime_ns if digest is not None else None
        return cls(path, digest, mtime)


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion did: the logged entry and the leftovers it found."""

    path: Path
    previous: Path | None  # the generation the previous baseline was kept as
    entry: Mapping[str, Any]
    removed: tuple[Path, ...] = field(default=())
    kept: tuple[Path, ...] = field(default=())


def check_promotable(candidate: Run, problems: list[str]) -> None:
    """Raise :class:`BaselineUpdateRefused` if the candidate must not become the baseline."""
    reasons = list(problems)
    if not candidate.meta.complete:
        reasons.insert(
            0, "the candidate run is marked incomplete (its writer did not finish)"
        )
    if reasons:
        raise _refused("; ".join(reasons))


def unwritable(path: Path) -> str | None:
    """Why the update cannot write a baseline at ``path`` in its own shape, if it cannot."""
    suffix = path.suffix.lower()
    if suffix in READ_ONLY_SUFFIXES and not path.is_dir():
        return (
            f"the baseline {path} is a {suffix} file, a format the update cannot "
            "write (it has no place for the run's lineage): convert it once to a "
            ".jsonl baseline and point the baseline there"
        )
    if path.exists() and not path.is_dir() and suffix not in FILE_SUFFIXES:
        return (
            f"the baseline {path} is a file the update cannot write in its own format "
            f"({suffix or 'no suffix'}; it writes {', '.join(FILE_SUFFIXES)} files "
            "and run folders)"
        )
    return None


def _changed(seen: Seen, now: Seen) -> str:
    if seen.digest is None:
        return (
            f"the baseline {seen.path} was created by someone else while this session "
            "ran (another promotion?); run the session again to judge the candidate "
            "against it"
        )
    if now.digest is None:
        return (
            f"the baseline {seen.path} was removed while this session ran; restore it "
            f"from {history_dir(seen.path)} or run the session again to create it"
        )
    return (
        f"the baseline {seen.path} changed while this session ran ({seen.digest[:19]} "
        f"when the session started, {now.digest[:19]} now: another session promoted "
        "it?); run the session again to judge the candidate against the new baseline"
    )


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of the baseline's provenance log, oldest first (torn lines skipped)."""
    try:
        lines = provenance_log(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    entries: list[dict[str, Any]] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def is_promotion(entry: Mapping[str, Any]) -> bool:
    """Whether a log entry records a promotion (not a prune); old entries have no action."""
    return bool(entry.get("action", PROMOTE) == PROMOTE)


def _last_entry(path: Path) -> Mapping[str, Any]:
    """The newest promotion's entry, or the legacy record."""
    promotions = [e for e in read_log(path) if is_promotion(e)]
    if promotions:
        return promotions[-1]
    try:
        legacy = json.loads(_legacy_provenance(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return legacy if isinstance(legacy, dict) else {}


def _append(log: Path, entry: Mapping[str, Any]) -> None:
    """Append one JSON line (after a newline if a killed writer left a torn line)."""
    line = json.dumps(entry, sort_keys=False, ensure_ascii=False) + "\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size:
            with log.open("rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    line = "\n" + line
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_copy(path: Path, target: Path) -> None:
    """Copy the baseline at ``path`` to ``target`` through a temporary, then rename."""
    from pytest_runcompare.writer import atomic_file, temp_prefix

    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        tmp = target.with_name(temp_prefix(target.name) + "copy")
        try:
            shutil.copytree(path, tmp, symlinks=True)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    with atomic_file(target, "wb") as handle, path.open("rb") as source:
        shutil.copyfileobj(source, handle)
    shutil.copystat(path, target)


def _clear_history_temporaries(folder: Path) -> list[Path]:
    """Under the lock, a hidden entry of the history folder is a killed copy."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def metric_means(run: Run) -> dict[str, dict[str, float | int | None]]:
    """Each per-datapoint metric's mean and n (finite values only), for the log."""
    import numpy as np

    out: dict[str, dict[str, float | int | None]] = {}
    for name in sorted(run.metrics):
        column = run.metrics[name]
        values = column.values[column.present]
        values = values[np.isfinite(values)]
        mean = float(values.mean()) if values.size else None
        out[name] = {"mean": mean, "n": int(values.size)}
    return out


def _who() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    who: dict[str, Any] = {
        "user": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": list(sys.argv),
    }
    ci = {name: os.environ[name] for name in _CI_VARIABLES if os.environ.get(name)}
    if ci:
        who["ci"] = ci
    return who


def promote(
    candidate: Run,
    baseline_path: str | Path,
    *,
    outcomes: Mapping[str, str],
    reason: str | None = None,
    accepted_failures: Sequence[str] = (),
    seen: Seen | None = None,
    lock_timeout: float = DEFAULT_TIMEOUT,
    now: _dt.datetime | None = None,
) -> Promotion:
    """Write ``candidate`` as the baseline at ``baseline_path``, keeping the previous one.

    ``outcomes`` maps gate keys to their outcome in this session; the log entry lists
    those that differ from the previous promotion's. ``accepted_failures`` names the
    gates that failed and were accepted explicitly (with ``reason``). With ``seen``
    (the baseline as the session saw it) a baseline changed since is refused.
    Every previous baseline stays in ``<baseline>.history/``: only :func:`prune`
    removes generations.

    Raises
    ------
    BaselineUpdateRefused
        The baseline changed under the session, or cannot be written in its format.
    LockTimeout
        Another promotion held the lock for longer than ``lock_timeout`` seconds.

    """
    from pytest_runcompare.writer import remove_leftovers, save_run

    path = Path(baseline_path)
    problem = unwritable(path)
    if problem is not None:
        raise _refused(problem)
    with exclusive(path, timeout=lock_timeout):
        # The lock is ours: whatever a writer of this baseline left is a dead one's.
        removed, kept = remove_leftovers(path, locked=True)
        removed += _clear_history_temporaries(history_dir(path))
        current = Seen.now(path)
        if seen is not None and seen.digest != current.digest:
            raise _refused(_changed(seen, current))
        previous_entry = _last_entry(path)
        before = previous_entry.get("gate_outcomes") or {}
        if not isinstance(before, dict):
            before = {}
        previous: Path | None = None
        if current.digest is not None:
            number = _next_number(path)
            previous = history_dir(path) / generation_name(path, number)
            _keep_copy(path, previous)
        save_run(candidate, path)
        entry: dict[str, Any] = {
            "action": PROMOTE,
            "time": (now or _dt.datetime.now(_dt.UTC))
            .replace(microsecond=0)
            .isoformat(),
            "by": _who(),
            "reason": reason,
            "candidate": candidate.meta.name,
            "candidate_source": candidate.meta.source,
            "code_version": dict(candidate.meta.code_version),
            "datapoints": len(candidate),
            "previous_hash": current.digest,
            "new_hash": content_hash(path),
            "previous_generation": None if previous is None else str(previous),
            "gate_outcomes": dict(sorted(outcomes.items())),
            "changed_outcomes": {
                key: {"before": before.get(key), "after": outcome}
                for key, outcome in sorted(outcomes.items())
                if before.get(key) != outcome
            },
            "accepted_failures": list(accepted_failures),
            "metrics": metric_means(candidate),
        }
        _append(provenance_log(path), entry)
    return Promotion(path, previous, entry, tuple(removed), tuple(kept))


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune did: the generations removed and kept, and the logged entry."""

    path: Path
    removed: tuple[tuple[int, Path], ...]
    kept: tuple[tuple[int, Path], ...]
    entry: Mapping[str, Any] | None  # None: nothing was removed, nothing logged


def prune(
    baseline_path: str | Path,
    *,
    keep: int,
    lock_timeout: float = DEFAULT_TIMEOUT,
    now: _dt.datetime | None = None,
) -> Pruned:
    """Delete the oldest generations of ``<baseline>.history/``, keeping the newest ``keep``.

    The only way a generation is ever deleted. It holds the baseline's lock (so no
    promotion adds a generation meanwhile) and appends an entry naming what it
    removed to the provenance log.

    Raises
    ------
    ValueError
        ``keep`` is negative.
    LockTimeout
        Another promotion or prune held the lock for longer than ``lock_timeout``.

    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep!r}")
    path = Path(baseline_path)
    with exclusive(path, timeout=lock_timeout):
        _clear_history_temporaries(history_dir(path))
        found = generations(path)
        cut = max(0, len(found) - keep)
        removed, kept = tuple(found[:cut]), tuple(found[cut:])
        if not removed:
            return Pruned(path, (), kept, None)
        entry: dict[str, Any] = {
            "action": PRUNE,
            "time": (now or _dt.datetime.now(_dt.UTC))
            .replace(microsecond=0)
            .isoformat(),
            "by": _who(),
            "keep": keep,
            "removed_generations": [str(p) for _, p in removed],
            "removed_hashes": [content_hash(p) for _, p in removed],
            "kept_generations": [str(p) for _, p in kept],
        }
        # Logged first: a prune killed halfway has said what it was removing.
        _append(provenance_log(path), entry)
        for _, old in removed:
            shutil.rmtree(
                old
            ) if old.is_dir() and not old.is_symlink() else old.unlink()
    return Pruned(path, removed, kept, entry)
