"""Promoting a candidate to be the new baseline: explicit, atomic, with provenance.

The new baseline is written beside the old one and renamed over it; the previous one
is kept as a backup, and a provenance record says when, from which code version, why,
and which gates changed outcome since the last promotion.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.runs import Run


class BaselineUpdateRefused(RunCompareError):
    """The candidate may not become the baseline (failed, incomplete, incompatible)."""


def backup_path(path: Path) -> Path:
    """Where the previous baseline is kept: ``<name>.bak`` beside it."""
    return path.with_name(path.name + ".bak")


def provenance_path(path: Path) -> Path:
    """The provenance record beside the baseline: ``<name>.provenance.json``."""
    return path.with_name(path.name + ".provenance.json")


def check_promotable(candidate: Run, problems: list[str]) -> None:
    """Raise :class:`BaselineUpdateRefused` if the candidate must not become the baseline."""
    reasons = list(problems)
    if not candidate.meta.complete:
        reasons.insert(
            0, "the candidate run is marked incomplete (its writer did not finish)"
        )
    if reasons:
        raise BaselineUpdateRefused(
            "refusing to update the baseline: "
            + "; ".join(reasons)
            + " — the baseline was left as it was"
        )


def promote(
    candidate: Run,
    baseline_path: str | Path,
    *,
    outcomes: Mapping[str, str],
    reason: str | None = None,
    accepted_failures: Sequence[str] = (),
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """Write ``candidate`` as the baseline at ``baseline_path``; returns the provenance.

    ``outcomes`` maps gate keys to their outcome in this session; the provenance lists
    those that differ from the previous promotion's. ``accepted_failures`` names the
    gates that failed and were accepted explicitly (with ``reason``).
    """
    from pytest_runcompare.writer import atomic_file, save_run

    path = Path(baseline_path)
    record_path = provenance_path(path)
    previous: dict[str, Any] = {}
    if record_path.exists():
        try:
            previous = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    before = previous.get("gate_outcomes", {}) if isinstance(previous, dict) else {}
    changed = {
        key: {"before": before.get(key), "after": outcome}
        for key, outcome in sorted(outcomes.items())
        if before.get(key) != outcome
    }
    save_run(candidate, path, backup=backup_path(path) if path.exists() else None)
    provenance = {
        "updated": (now or _dt.datetime.now(_dt.UTC))
        .replace(microsecond=0)
        .isoformat(),
        "reason": reason,
        "candidate": candidate.meta.name,
        "candidate_source": candidate.meta.source,
        "code_version": dict(candidate.meta.code_version),
        "datapoints": len(candidate),
        "backup": str(backup_path(path)) if backup_path(path).exists() else None,
        "gate_outcomes": dict(sorted(outcomes.items())),
        "changed_outcomes": changed,
        "accepted_failures": list(accepted_failures),
    }
    with atomic_file(record_path) as handle:
        json.dump(provenance, handle, indent=2, sort_keys=False)
        handle.write("\n")
    return provenance
