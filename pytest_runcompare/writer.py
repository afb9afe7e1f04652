"""Writing runs in the native format: ``save_run`` (atomic) and ``RunWriter`` (streaming).

Nothing is lost: ``save_run`` writes beside the target and renames over it, so a
reader sees the old run or the new one, never half of either. ``RunWriter`` appends
datapoints as an evaluation produces them and marks the run complete only when the
``with`` block ends without an exception.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from pytest_runcompare.building import DatapointSink, plain_number
from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.parquet_layout import SUFFIXES as COLUMNAR_SUFFIXES

if TYPE_CHECKING:
    from pytest_runcompare.parquet_writer import ColumnarBuffer
    from pytest_runcompare.runs import Run

DATAPOINTS_FILE = "datapoints.jsonl"
META_FILE = "run.yaml"


def _dump_yaml(data: Mapping[str, Any]) -> str:
    from pytest_runcompare import yaml_text

    try:  # strings such as "089" stay strings
        return _encodable(yaml_text.dump(dict(data)), None)
    except UnicodeEncodeError:  # the dumper met a lone surrogate
        raise _surrogate_error(None) from None


def _json_default(value: object) -> object:
    """Real numbers of other types (numpy scalars) as JSON numbers; else refused."""
    plain = plain_number(value)
    if plain is value:
        raise TypeError(
            f"Object of type {type(value).__name__} is not JSON serializable"
        )
    return plain


def _surrogate_error(datapoint: object) -> RunFormatError:
    return RunFormatError(
        "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff without its "
        "pair), which no run file can hold",
        datapoint=datapoint,
        hint="fix the text where it was made; the readers refuse it too",
    )


def _encodable(text: str, datapoint: object) -> str:
    """``text`` if UTF-8 can write it; a lone surrogate is refused, naming the datapoint."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _surrogate_error(datapoint) from None
    return text


def _json_line(record: Mapping[str, Any]) -> str:
    line = json.dumps(
        record, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )
    return _encodable(line, record.get("id")) + "\n"


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but rare)
    os.umask(mask)
    return mask


def _as_created(path: str | Path, *, directory: bool) -> None:
    """Give a ``mkstemp``/``mkdtemp`` result the permissions a plain create would have.

    ``tempfile`` creates 0600 files and 0700 folders whatever the umask; a report, a
    run or a baseline written through one must be readable as the umask allows.
    """
    base = 0o777 if directory else 0o666
    os.chmod(path, base & ~current_umask())


_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def temp_prefix(name: str, *, hidden: bool = True) -> str:
    """The prefix of a temporary beside ``name``: it names the writing process.

    ``.<name>.tmp-<pid>-<host>-`` (or ``<name>.writing-<pid>-<host>-`` for a
    RunWriter's visible work folder), so that a later session can tell the leftovers
    of a killed process from the work of a live one.
    """
    if hidden:
        return f".{name}.tmp-{os.getpid()}-{_HOST}-"
    return f"{name}.writing-{os.getpid()}-{_HOST}-"


@dataclass(frozen=True, slots=True)
class Leftover:
    """A temporary file or folder beside a path, left by a writer that did not finish."""

    path: Path
    pid: int | None  # None: written by an older version, which did not say
    host: str | None
    #: a RunWriter's work folder (whose writer takes no lock), not a promotion's
    writing: bool

    @property
    def writer_alive(self) -> bool | None:
        """Whether its writer still runs (None: cannot tell, another host or no pid)."""
        if self.pid is None or self.host != _HOST:
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def leftovers(path: Path) -> list[Leftover]:
    """The temporaries beside ``path`` that writers of it leave when killed."""
    name = re.escape(path.name)
    tagged = re.compile(rf"^(?:\.{name}\.tmp|{name}\.writing)-(\d+)-([A-Za-z0-9]*)-")
    legacy = re.compile(
        rf"^(?:\.{name}\.[a-z0-9_]{{8}}(?:\.tmp)?|\.{name}\.old|{name}\.writing-[a-z0-9_]{{8}})$"
    )
    found: list[Leftover] = []
    try:
        entries = sorted(path.parent.iterdir())
    except OSError:
        return found
    for entry in entries:
        writing = entry.name.startswith(f"{path.name}.writing-")
        match = tagged.match(entry.name)
        if match:
            pid, host = int(match.group(1)), match.group(2)
            found.append(Leftover(entry, pid, host, writing))
        elif legacy.match(entry.name):
            found.append(Leftover(entry, None, None, writing))
    return found


def remove_leftovers(
    path: Path, *, locked: bool = False
) -> tuple[list[Path], list[Path]]:
    """Remove the leftovers of dead writers beside ``path``; returns (removed, kept).

    Those whose writer cannot be told (another host, an older version) are kept, but
    when the caller holds the path's lock (``locked``) a promotion's temporaries are
    a dead one's whoever wrote them. RunWriters take no lock: theirs are only named.
    """
    removed: list[Path] = []
    kept: list[Path] = []
    for leftover in leftovers(path):
        alive = leftover.writer_alive
        if alive or (alive is None and (leftover.writing or not locked)):
            kept.append(leftover.path)
            continue
        try:
            if leftover.path.is_dir() and not leftover.path.is_symlink():
                shutil.rmtree(leftover.path)
            else:
                leftover.path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            kept.append(leftover.path)
            continue
        removed.append(leftover.path)
    return removed, kept


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file beside it, renamed over it on success.

    The file gets the permissions the umask gives a new file (not ``mkstemp``'s 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent
    )
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _as_created(tmp, directory=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(
        at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange
    )
    return bool(result == 0)


def replace_dir(new: Path, target: Path, *, backup: Path | None = None) -> None:
    """Put directory ``new`` at ``target``; the old one goes to ``backup`` or away.

    Uses an atomic exchange where the OS has one, so ``target`` is always a whole run.
    """
    if not target.exists():
        os.replace(new, target)
        return
    if not _exchange(new, target):
        # No atomic exchange here: two renames, with the old run kept until the end.
        aside = target.with_name(f".{target.name}.old")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(target, aside)
        os.replace(new, target)
        new = aside
    # ``new`` now holds the previous run.
    if backup is not None:
        if backup.exists():
            shutil.rmtree(backup) if backup.is_dir() else backup.unlink()
        os.replace(new, backup)
    else:
        shutil.rmtree(new)


def save_run(run: Run, path: str | Path, *, backup: str | Path | None = None) -> Path:
    """Write ``run`` in the native format at ``path``, atomically.

    The shape follows the path: ``.jsonl`` (a ``{"run": ...}`` header line, then the
    datapoints), ``.json`` or ``.yaml`` (one document), ``.parquet`` or ``.arrow``
    (the columnar layout, needs pyarrow), anything else a run directory.
    With ``backup``, the run that was at ``path`` is kept there.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    meta = run.meta.to_dict()
    if backup is not None and target.exists() and suffix:
        # Copied beside, then renamed: a kill mid-copy never leaves a torn backup.
        with atomic_file(Path(backup), "wb") as handle, target.open("rb") as source:
            shutil.copyfileobj(source, handle)
    if suffix in COLUMNAR_SUFFIXES:
        from pytest_runcompare.parquet_writer import write_columnar

        with atomic_file(target, "wb") as handle:
            write_columnar(run, handle, target)  # Parquet; Arrow IPC for .arrow
    elif suffix == ".jsonl":
        with atomic_file(target) as handle:
            handle.write(_json_line({"run": meta}))
            for record in run.records():
                handle.write(_json_line(record))
    elif suffix == ".json":
        with atomic_file(target) as handle:
            document = json.dumps(
                {"run": meta, "datapoints": list(run.records())}, indent=1
            )
            handle.write(document + "\n")
    elif suffix in (".yaml", ".yml"):
        with atomic_file(target) as handle:
            handle.write(_dump_yaml({"run": meta, "datapoints": list(run.records())}))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), dir=target.parent))
        try:
            _as_created(tmp, directory=True)
            (tmp / META_FILE).write_text(_dump_yaml(meta), encoding="utf-8")
            with (tmp / DATAPOINTS_FILE).open("w", encoding="utf-8") as handle:
                for record in run.records():
                    handle.write(_json_line(record))
                handle.flush()
                os.fsync(handle.fileno())
            replace_dir(tmp, target, backup=None if backup is None else Path(backup))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


class RunWriter(DatapointSink):
    """Stream datapoints of an evaluation to a run directory as they are produced.

    ::

        with RunWriter("runs/candidate", name="candidate", params={"lr": 3e-4}, seed=0) as w:
            for item in dataset:
                w.add(id=item.id, input=item.prompt, output=model(item.prompt),
                      metrics={"exact_match": ...})

    ``run.yaml`` is written first with ``complete: false`` and the lineage (git commit
    and dirty flag, Python, platform, key packages); each datapoint is appended to
    ``datapoints.jsonl`` and flushed. Leaving the block normally rewrites ``run.yaml``
    with ``complete: true``; after an exception the partial run stays readable and is
    marked incomplete. An existing run at ``path`` is replaced only on success.

    A ``.parquet`` (or ``.arrow``) path is one file, written atomically when the block
    ends: the validated datapoints are kept in columns until then. After an exception
    the partial run is written marked incomplete, at ``path`` if nothing was there,
    else beside it (``<name>.writing-<pid>-<host>-partial.parquet``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        data_version: str | None = None,
        metric_definitions: Mapping[str, Mapping[str, Any]] | None = None,
        packages: Sequence[str] = (),
        capture_lineage: bool = True,
        cwd: str | Path | None = None,
        flush_every: int = 1,
    ) -> None:
        self.path = Path(path)
        self._meta: dict[str, Any] = {"name": name or self.path.stem}
        if params:
            self._meta["params"] = dict(params)
        if seed is not None:
            self._meta["seed"] = seed
        if data_version is not None:
            self._meta["data_version"] = data_version
        if metric_definitions:
            self._meta["metric_definitions"] = {
                k: dict(v) for k, v in metric_definitions.items()
            }
        from pytest_runcompare.building import parse_metric_definitions

        self._definitions = parse_metric_definitions(
            self._meta.get("metric_definitions"), path=str(self.path)
        )
        self._packages = tuple(packages)
        self._capture = capture_lineage
        self._cwd = Path(cwd) if cwd is not None else None
        self._flush_every = max(1, flush_every)
        self._ids: set[str] = set()
        self._handle: IO[str] | None = None
        self._dir: Path | None = None
        self._columns: ColumnarBuffer | None = None  # a .parquet/.arrow path
        self._pending = 0
        self.count = 0

    # context manager -----------------------------------------------------------------
    def __enter__(self) -> RunWriter:
        from pytest_runcompare.building import parse_meta

        if self._capture:
            from pytest_runcompare.lineage import capture_lineage

            self._meta.update(capture_lineage(cwd=self._cwd, packages=self._packages))
        parse_meta(self._meta, path=str(self.path))  # validate before writing anything
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.suffix.lower() in COLUMNAR_SUFFIXES:
            from pytest_runcompare.parquet_writer import ColumnarBuffer

            remove_leftovers(self.path)
            self._columns = ColumnarBuffer(self.path, self._definitions)
            return self
        # Write beside the target while running, so that an existing run (a baseline)
        # is never clobbered by an evaluation that crashes.
        if self.path.exists():
            # The work folders of writers that were killed go first (not a live one's).
            remove_leftovers(self.path)
            self._dir = Path(
                tempfile.mkdtemp(
                    prefix=temp_prefix(self.path.name, hidden=False),
                    dir=self.path.parent,
                )
            )
            _as_created(self._dir, directory=True)
        else:
            self.path.mkdir()
            self._dir = self.path
        self._write_meta(complete=False)
        self._handle = (self._dir / DATAPOINTS_FILE).open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._columns is not None:
            self._write_columns(exc_type, exc)
            return
        if self._handle is None or self._dir is None:
            raise RuntimeError("RunWriter.__exit__ without __enter__")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        if exc_type is not None:
            self._write_meta(complete=False, error=f"{exc_type.__name__}: {exc}")
            return
        self._write_meta(complete=True)
        if self._dir != self.path:
            replace_dir(self._dir, self.path)

    # writing -------------------------------------------------------------------------
    def _write_columns(
        self, exc_type: type[BaseException] | None, exc: BaseException | None
    ) -> None:
        assert self._columns is not None
        meta = {
            **self._meta,
            "complete": exc_type is None,
            "datapoint_count": self.count,
        }
        if exc_type is not None:
            meta["error"] = f"{exc_type.__name__}: {exc}"
        run, self._columns = self._columns.run(meta), None
        target = self.path
        if exc_type is not None and self.path.exists():  # keep the previous run
            name = temp_prefix(self.path.name, hidden=False)
            target = self.path.with_name(f"{name}partial{self.path.suffix}")
        save_run(run, target)

    def _write_meta(self, *, complete: bool, error: str | None = None) -> None:
        assert self._dir is not None
        meta = {**self._meta, "complete": complete, "datapoint_count": self.count}
        if error is not None:
            meta["error"] = error
        with atomic_file(self._dir / META_FILE) as handle:
            handle.write(_dump_yaml(meta))

    def log_curve(self, name: str, value: float, *, step: float | None = None) -> None:
        """Add a point to the metric curve ``name`` (``curves:`` in ``run.yaml``).

        Steps must increase; without ``step`` the next is the last plus 1 (0 first).
        The report draws each curve over the other run's of the same name.
        """
        from pytest_runcompare.curves import append_point

        curves = self._meta.setdefault("curves", {})
        append_point(curves, name, value, step=step, path=self.path / META_FILE)

    def add_record(self, record: Mapping[str, Any]) -> None:
        """Append one datapoint given as a native record mapping."""
        from pytest_runcompare.building import check_record

        if self._handle is None and self._columns is None:
            raise RuntimeError("RunWriter.add_record() outside its 'with' block")
        record = dict(record)
        key = check_record(record, path=str(self.path), definitions=self._definitions)
        if key in self._ids:
            raise RunFormatError(
                "duplicate id: this datapoint was already written",
                path=self.path,
                datapoint=key,
                field="id",
            )
        if self._columns is not None:
            self._columns.add(record, key)
            self._ids.add(key)
            self.count += 1
            return
        assert self._handle is not None  # checked above: no columns, so a handle
        try:
            line = _json_line(record)
        except (TypeError, ValueError) as error:
            raise RunFormatError(
                f"not JSON-serialisable: {error}", path=self.path, datapoint=key
            ) from None
        self._ids.add(key)
        self._handle.write(line)
        self.count += 1
        self._pending += 1
        if self._pending >= self._flush_every:
            self._handle.flush()
            self._pending = 0
