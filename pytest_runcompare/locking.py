"""An exclusive lock file beside a path (``fcntl.flock``), waited for up to a bound.

Two CI jobs promoting the same baseline must take turns: each holds the lock for the
whole promotion. The lock file is never removed (removing a flock file races with a
process that has just opened it); its content names the holder for the message a
waiting session prints when it gives up.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_runcompare.errors import RunCompareError

#: Seconds a promotion waits for another one to finish, unless told otherwise.
DEFAULT_TIMEOUT = 60.0
_POLL = 0.05


class LockTimeout(RunCompareError):
    """Another process held the lock for longer than the bounded wait."""


def lock_path(path: Path) -> Path:
    """The lock file of ``path``: ``.<name>.lock`` beside it."""
    return path.with_name(f".{path.name}.lock")


def _holder(fd: int) -> str:
    """Who holds the lock, from what the holder wrote into it (or 'unknown')."""
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process"


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock of ``path`` now."""
    import fcntl

    where = lock_path(path)
    try:
        fd = os.open(where, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a shared lock taken just now
    return False


@contextlib.contextmanager
def exclusive(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    """Hold the lock of ``path`` (waiting up to ``timeout`` seconds); yields the lock file.

    Raises
    ------
    LockTimeout
        Naming the lock file, its holder and how to wait longer.

    """
    import fcntl

    where = lock_path(path)
    where.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"could not lock {path}: the lock {where} is held by "
                        f"{_holder(fd)} (another promotion of the same baseline?); "
                        f"waited {timeout:g} s. Run again when it has finished, or "
                        "wait longer with the ini key runcompare_lock_timeout"
                    ) from None
                time.sleep(_POLL)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
            "command": " ".join(sys.argv[:8]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        try:
            yield where
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
