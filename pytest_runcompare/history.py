"""A baseline's generations: listed with their provenance, and named as ``NAME@...``.

Every promotion keeps the previous baseline in ``<baseline>.history/`` and logs the
promoted run's metric means (:mod:`pytest_runcompare.baseline`). This module reads
them back: :func:`read_history` lists the generations oldest first with the current
baseline last (when, code version, reason, accepted failures, each metric's mean),
:func:`resolve_location` turns ``runs/baseline@previous``, ``@N`` (generation N) or
``@-K`` (K generations back) into the generation's path, in the one place where runs
are loaded, and :func:`history_lines` / :func:`prune_lines` are what the
``runcompare history`` and ``runcompare prune`` commands print.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunCompareError, RunNotFoundError

if TYPE_CHECKING:
    from pytest_runcompare.baseline import Pruned
    from pytest_runcompare.runs import Run

#: Generations whose metrics are read by loading them when the log lacks them (logs
#: written before promotions recorded metrics, or a baseline not promoted by us).
LOAD_LIMIT = 20
#: ``NAME@previous``, ``NAME@3`` (generation 3), ``NAME@-2`` (two generations back).
_REFERENCE = re.compile(r"^(?P<base>.+)@(?P<which>previous|-?\d+)$")
#: What a generation reference accepts, for messages.
SYNTAX = "NAME@previous, NAME@N (generation N) or NAME@-K (K generations back)"
#: Width of a column of reasons and of accepted failures in the listing.
_TEXT_WIDTH = 36


class GenerationNotFound(RunNotFoundError):
    """A ``NAME@...`` reference names no kept generation (the message lists them)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed ``NAME@which``: the baseline's location and which generation."""

    baseline: str
    which: str

    @property
    def text(self) -> str:
        """The reference as written."""
        return f"{self.baseline}@{self.which}"


def parse_reference(location: str) -> Reference | None:
    """The generation ``location`` names, or None for an ordinary location.

    A path that exists as written is never a reference (a folder may be called
    ``model@2``), nor is a tracking-server URI.
    """
    from pytest_runcompare.loaders.registry import is_uri

    if is_uri(location) or "::" in location:
        return None
    match = _REFERENCE.match(location)
    if match is None or Path(location).exists():
        return None
    return Reference(match.group("base"), match.group("which"))


def is_reference(location: str) -> bool:
    """Whether ``location`` names an older generation (``NAME@previous``, ``@N``)."""
    return parse_reference(location) is not None


def _listing(found: Sequence[tuple[int, Path]]) -> str:
    if not found:
        return "none is kept"
    numbers = ", ".join(str(n) for n, _ in found)
    return f"the kept generations are {numbers} (oldest first; @previous is {found[-1][0]})"


def resolve_reference(reference: Reference) -> Path:
    """The path of the generation ``reference`` names.

    Raises
    ------
    GenerationNotFound
        No such generation: the message lists those that exist.

    """
    from pytest_runcompare.baseline import generations, history_dir

    base = Path(reference.baseline)
    found = generations(base)
    which = reference.which
    chosen: Path | None = None
    if which == "previous" or which.startswith("-"):
        back = 1 if which == "previous" else int(which[1:])
        if 1 <= back <= len(found):
            chosen = found[-back][1]
    else:
        chosen = dict(found).get(int(which))
    if chosen is not None:
        return chosen
    if not base.exists() and not found:
        raise GenerationNotFound(
            f"{reference.text}: there is no baseline at {base} (a generation "
            f"reference is {SYNTAX}, after the baseline's path)"
        )
    raise GenerationNotFound(
        f"{reference.text}: the baseline {base} has no such generation; "
        f"{_listing(found)} in {history_dir(base)} (run `runcompare history {base}` "
        "to list them)"
    )


def reference_problem(location: str, *, promoting: bool) -> str | None:
    """Why a configured baseline ``location`` cannot be used, if it names a generation.

    An unknown generation (the message lists those kept), or a promotion asked for
    with a generation as the baseline: the candidate would replace the current
    baseline, not the generation it was judged against.
    """
    reference = parse_reference(location)
    if reference is None:
        return None
    if promoting:
        return (
            f"refusing --runcompare-update-baseline with the baseline {reference.text}: "
            "the candidate was judged against an older generation, not the current "
            f"baseline it would replace; compare with {reference.baseline} to promote"
        )
    try:
        resolve_reference(reference)
    except GenerationNotFound as error:
        return str(error)
    return None


def resolve_location(location: str) -> str:
    """``location`` itself, or the path of the generation a ``NAME@...`` names."""
    reference = parse_reference(location)
    return location if reference is None else str(resolve_reference(reference))


# --------------------------------------------------------------------- the listing


@dataclass(frozen=True, slots=True)
class MetricMean:
    """One metric's mean over a generation's datapoints (finite values), and its n."""

    mean: float | None
    n: int | None


@dataclass(frozen=True, slots=True)
class Generation:
    """One baseline generation as the history lists it.

    ``number`` is None for the current baseline. ``metrics`` is None when neither the
    log records them nor the generation was loaded (older than :data:`LOAD_LIMIT`).
    """

    number: int | None
    path: Path
    time: str | None
    code_version: str | None
    reason: str | None
    accepted_failures: tuple[str, ...]
    metrics: Mapping[str, MetricMean] | None
    metrics_from: str  # "provenance", "loaded" or "unknown"

    @property
    def label(self) -> str:
        """``0003`` for a kept generation, ``current`` for the baseline itself."""
        return "current" if self.number is None else f"{self.number:04d}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "generation": self.number,
            "current": self.number is None,
            "path": str(self.path),
            "time": self.time,
            "code_version": self.code_version,
            "reason": self.reason,
            "accepted_failures": list(self.accepted_failures),
            "metrics": None
            if self.metrics is None
            else {k: {"mean": v.mean, "n": v.n} for k, v in self.metrics.items()},
            "metrics_from": self.metrics_from,
        }


@dataclass(frozen=True, slots=True)
class History:
    """A baseline's generations, oldest first, the current baseline last."""

    baseline: Path
    generations: tuple[Generation, ...]

    @property
    def kept(self) -> tuple[Generation, ...]:
        """The generations in the history folder (the current baseline left out)."""
        return tuple(g for g in self.generations if g.number is not None)

    def metric_names(self) -> list[str]:
        """Every metric any generation has, sorted."""
        names: set[str] = set()
        for g in self.generations:
            names.update(g.metrics or {})
        return sorted(names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``runcompare history --json``)."""
        return {
            "baseline": str(self.baseline),
            "generations": [g.to_dict() for g in self.generations],
        }


def _short_commit(code_version: Any) -> str | None:
    if not isinstance(code_version, Mapping):
        return None
    commit = code_version.get("commit")
    if not isinstance(commit, str) or not commit:
        return None
    return commit[:7] + ("+dirty" if code_version.get("dirty") is True else "")


def _logged_metrics(entry: Mapping[str, Any] | None) -> dict[str, MetricMean] | None:
    """The metrics a promotion logged, or None when it logged none (older entries)."""
    raw = None if entry is None else entry.get("metrics")
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, MetricMean] = {}
    for name, value in raw.items():
        if not isinstance(value, Mapping):
            continue
        mean, n = value.get("mean"), value.get("n")
        out[str(name)] = MetricMean(
            float(mean) if isinstance(mean, int | float) else None,
            int(n) if isinstance(n, int) else None,
        )
    return out


def _means(run: Run) -> dict[str, MetricMean]:
    from pytest_runcompare.baseline import metric_means

    return {
        name: MetricMean(
            None if v["mean"] is None else float(v["mean"]),
            None if v["n"] is None else int(v["n"]),
        )
        for name, v in metric_means(run).items()
    }


def _promoters(
    entries: Sequence[Mapping[str, Any]], current_hash: str | None
) -> tuple[dict[str, Mapping[str, Any]], Mapping[str, Any] | None]:
    """Which promotion produced each kept generation (by file name), and the current.

    Promotion ``k + 1`` moved what promotion ``k`` had written into the generation it
    names; the content hashes must chain, else the baseline was replaced by hand in
    between and nothing is claimed.
    """
    from pytest_runcompare.baseline import is_promotion

    promotions = [e for e in entries if is_promotion(e)]
    by_name: dict[str, Mapping[str, Any]] = {}
    for before, after in itertools.pairwise(promotions):
        kept = after.get("previous_generation")
        if isinstance(kept, str) and before.get("new_hash") == after.get(
            "previous_hash"
        ):
            by_name[Path(kept).name] = before
    current = None
    if promotions and promotions[-1].get("new_hash") == current_hash:
        current = promotions[-1]
    return by_name, current


def read_history(
    baseline: str | Path,
    *,
    load_limit: int = LOAD_LIMIT,
    load: Callable[[str], Run] | None = None,
) -> History:
    """The generations of the baseline at ``baseline``, oldest first, the current last.

    Each generation's time, code version, reason and accepted failures come from
    the promotion that made it the baseline; its metrics from that entry, or, for
    the newest ``load_limit`` generations the log says nothing about, from loading
    the generation.

    Raises
    ------
    RunNotFoundError
        No baseline and no history at that path.

    """
    from pytest_runcompare.baseline import content_hash, generations, read_log

    path = Path(baseline)
    found = generations(path)
    if not path.exists() and not found:
        raise RunNotFoundError(
            f"{path}: no baseline there and no history beside it (give the path "
            "the gates file's baseline: names, e.g. runs/baseline)"
        )
    loader = load or _load
    by_name, current_entry = _promoters(read_log(path), content_hash(path))
    rows: list[tuple[int | None, Path, Mapping[str, Any] | None]] = [
        (number, where, by_name.get(where.name)) for number, where in found
    ]
    if path.exists():
        rows.append((None, path, current_entry))
    # Which rows load their run: those without logged metrics, newest first.
    need = [i for i, (_, _, e) in enumerate(rows) if _logged_metrics(e) is None]
    to_load = set(need[::-1][: max(0, load_limit)])
    out: list[Generation] = []
    for i, (number, where, entry) in enumerate(rows):
        metrics = _logged_metrics(entry)
        source = "provenance" if metrics is not None else "unknown"
        run: Run | None = None
        if metrics is None and i in to_load:
            try:
                run = loader(str(where))
            except RunCompareError:
                run = None
            if run is not None:
                metrics, source = _means(run), "loaded"
        if entry is not None:
            time = entry.get("time") if isinstance(entry.get("time"), str) else None
            code = _short_commit(entry.get("code_version"))
            reason = (
                entry.get("reason") if isinstance(entry.get("reason"), str) else None
            )
            raw = entry.get("accepted_failures")
            accepted = tuple(str(a) for a in raw) if isinstance(raw, list) else ()
        else:
            time = None if run is None else run.meta.created
            code = None if run is None else _short_commit(run.meta.code_version)
            reason, accepted = None, ()
        out.append(
            Generation(number, where, time, code, reason, accepted, metrics, source)
        )
    return History(path, tuple(out))


def _load(location: str) -> Run:
    from pytest_runcompare.loaders.registry import load_run

    return load_run(location)


# ------------------------------------------------------------------ what is printed


def _when(time: str | None) -> str:
    """``2026-12-02 05:10`` from an ISO time (UTC as written), ``-`` when unknown."""
    if not time:
        return "-"
    return time.replace("T", " ")[:16]


def _clip(text: str, width: int) -> str:
    from pytest_runcompare.untrusted import one_line

    shown = one_line(text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _accepted(names: Sequence[str]) -> str:
    if not names:
        return "-"
    return _clip(f"{len(names)}: {', '.join(names)}", _TEXT_WIDTH)


def _mean(value: MetricMean | None) -> str:
    from pytest_runcompare.text import number

    if value is None or value.mean is None:
        return "-"
    return number(value.mean)


def history_lines(history: History) -> list[str]:
    """The listing: one aligned line per generation, oldest first, the current last."""
    from pytest_runcompare.untrusted import NAME_CHARS, one_line

    metrics = history.metric_names()
    head = ["generation", "when (UTC)", "code", "reason", "accepted failures"]
    head += [one_line(m, NAME_CHARS) for m in metrics]
    table = [head]
    for g in history.generations:
        row = [
            g.label,
            _clip(_when(g.time), 16),
            _clip(g.code_version or "-", 16),
            "-" if g.reason is None else _clip(g.reason, _TEXT_WIDTH),
            _accepted(g.accepted_failures),
        ]
        for m in metrics:
            if g.metrics is None:
                row.append("?")
            else:
                row.append(_mean(g.metrics.get(m)))
        table.append(row)
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    numeric = set(range(5, len(head)))
    lines = [
        "  ".join(
            cell.rjust(w) if c in numeric else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]
    kept = len(history.kept)
    notes = [
        f"{kept} generation(s) kept in {history.baseline.name}.history/; "
        "metrics are each one's mean over its datapoints"
    ]
    if any(g.metrics is None for g in history.generations):
        notes.append(
            f"?: metrics not in the provenance log and not loaded (only the newest "
            f"{LOAD_LIMIT} such generations are)"
        )
    return lines + notes


def prune_lines(pruned: Pruned) -> list[str]:
    """What ``runcompare prune`` prints: each generation removed, then what is kept."""
    if not pruned.removed:
        return [
            f"nothing to remove: {len(pruned.kept)} generation(s) kept of {pruned.path}"
        ]
    lines = [f"removed generation {n:04d}: {p}" for n, p in pruned.removed]
    kept = ", ".join(f"{n:04d}" for n, _ in pruned.kept) or "none"
    lines.append(
        f"kept {len(pruned.kept)} generation(s) of {pruned.path}: {kept}; logged in "
        f"{pruned.path.name}.provenance.jsonl"
    )
    return lines


# ------------------------------------------------------------------ the commands


def _baseline_path(location: str, command: str) -> Path:
    """The baseline a command works on: a local path, not a generation reference."""
    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.loaders.registry import is_uri

    if is_uri(location) or "::" in location:
        raise ConfigError(
            f"runcompare {command} {location}: give the path of a baseline run file "
            "or folder (a tracking-server run or a selector has no history here)"
        )
    reference = parse_reference(location)
    if reference is not None:
        raise ConfigError(
            f"runcompare {command} {location}: give the baseline's own path "
            f"({reference.baseline}), not one of its generations"
        )
    return Path(location)


def history_command(location: str, *, as_json: bool = False) -> int:
    """``runcompare history BASELINE [--json]``: print the generations; exit 0."""
    import json

    history = read_history(_baseline_path(location, "history"))
    if as_json:
        print(json.dumps(history.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in history_lines(history):
            print(line)
    return 0


def prune_command(location: str, *, keep: int) -> int:
    """``runcompare prune BASELINE --keep K``: delete all but the newest K; exit 0."""
    from pytest_runcompare.baseline import generations, prune

    path = _baseline_path(location, "prune")
    if not path.exists() and not generations(path):
        raise RunNotFoundError(
            f"{path}: no baseline there and no history beside it; nothing to prune"
        )
    for line in prune_lines(prune(path, keep=keep)):
        print(line)
    return 0
