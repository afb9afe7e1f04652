"""The judgement written back onto the candidate's MLflow run, beside its own metrics.

For each declared gate: metrics ``runcompare.<gate>.baseline``, ``.candidate``,
``.change``, ``.ci_low``, ``.ci_high``, ``.p_value`` and ``.p_adjusted`` (the numbers
of the JSON report's verdict; one that is not a finite number there is not logged)
and tags ``runcompare.<gate>.verdict`` (the gate's final status) and ``.outcome``
(what the data showed); the tag ``runcompare.verdict`` says whether the session's
gates passed; the HTML report goes to the artifact ``runcompare/report.html``. It
renders the judgement and decides nothing. Gate keys become MLflow names with every
character outside letters, digits, ``_ - . space`` replaced by ``_``
(``correct[digit:8]`` -> ``correct_digit_8_``), made unique with ``_2``, ``_3``.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.errors import RunCompareError

if TYPE_CHECKING:
    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement

PREFIX = "runcompare"
ARTIFACT_DIR = "runcompare"
#: The verdict's numbers logged per gate: MLflow name suffix -> verdict field.
NUMBERS = {
    "baseline": "baseline_aggregate",
    "candidate": "candidate_aggregate",
    "change": "estimate",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "p_value": "p_value",
    "p_adjusted": "p_adjusted",
}
_BAD = re.compile(r"[^A-Za-z0-9_.\- ]")
#: MLflow's longest metric or tag key, less room for ``runcompare.`` and ``.p_adjusted``
_KEY_CHARS = 250 - len(PREFIX) - 2 - max(map(len, NUMBERS))


class MlflowLogError(RunCompareError):
    """The judgement could not be logged onto the candidate's MLflow run."""


@dataclass(frozen=True, slots=True)
class Logged:
    """What was logged onto which run."""

    run_id: str
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifact: str | None


def logged_line(logged: Logged) -> str:
    """The summary's line saying what was logged where."""
    return (
        f"mlflow: logged {len(logged.metrics)} metrics, {len(logged.tags)} tags and "
        f"the artifact {logged.artifact} onto mlflow://{logged.run_id}"
    )


def mlflow_names(keys: Iterable[str]) -> dict[str, str]:
    """Each gate key as a name MLflow accepts, distinct from the others'."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:
        name = _BAD.sub("_", key).strip() or "_"
        if len(name) > _KEY_CHARS:
            digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
            name = f"{name[: _KEY_CHARS - 9]}_{digest}"
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out[key] = name
    return out


def values_to_log(judgement: Judgement) -> tuple[dict[str, float], dict[str, str]]:
    """The metrics and tags for the judgement's declared gates (pure)."""
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {
        f"{PREFIX}.verdict": "failed" if judgement.failed else "passed"
    }
    names = mlflow_names(r.key for r in judgement.results)
    for result in judgement.results:
        name = f"{PREFIX}.{names[result.key]}"
        for suffix, attr in NUMBERS.items():
            value: Any = getattr(result.verdict, attr)
            if isinstance(value, int | float) and math.isfinite(value):
                metrics[f"{name}.{suffix}"] = float(value)
        tags[f"{name}.verdict"] = str(result.status)
        tags[f"{name}.outcome"] = str(result.outcome)
        if result.key != names[result.key]:
            tags[f"{name}.gate"] = result.key
    return metrics, tags


def candidate_run_id(comparison: RunComparisonResult) -> str:
    """The MLflow run id of the comparison's candidate, or an error saying why not."""
    meta = comparison.candidate.meta
    run_id = (meta.extra.get("mlflow") or {}).get("run_id")
    through_client = (meta.source or "").startswith(("mlflow://", "runs:/"))
    if not run_id or not through_client:
        raise MlflowLogError(
            f"cannot log the comparison onto the candidate {meta.source or meta.name}: "
            "it is not an MLflow run read through a tracking server (point the "
            "candidate at mlflow://<run_id> or mlflow://<run_id>::traces, with "
            "tracking_uri or MLFLOW_TRACKING_URI)"
        )
    return str(run_id)


def log_judgement(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    tracking_uri: str | None = None,
    html: Path | None = None,
) -> Logged:
    """Log the judgement onto the candidate's MLflow run; the HTML report as artifact.

    ``html`` is the report already written; without one it is rendered here.

    Raises
    ------
    MlflowLogError
        Naming the run and what MLflow said, when anything could not be logged.

    """
    run_id = candidate_run_id(comparison)
    where = f"mlflow://{run_id}"
    try:
        from mlflow.entities import Metric, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MlflowLogError(
            f"{where}: logging the comparison needs MLflow: "
            "pip install 'pytest-runcompare[mlflow]'"
        ) from None
    metrics, tags = values_to_log(judgement)
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        import time

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, 0) for k, v in metrics.items()]
        tag_items = [RunTag(k, v) for k, v in tags.items()]
        # log_batch takes at most 1,000 metrics and 100 tags per call
        for start in range(0, max(len(items), len(tag_items), 1), 100):
            client.log_batch(
                run_id,
                metrics=items[start : start + 100],
                tags=tag_items[start : start + 100],
            )
        artifact = _log_html(client, run_id, comparison, judgement, html)
    except Exception as error:  # any client or transport failure, named
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        raise MlflowLogError(
            f"could not log the comparison onto the candidate's MLflow run {where}: "
            f"{message}"
        ) from None
    return Logged(run_id=run_id, metrics=metrics, tags=tags, artifact=artifact)


def _log_html(
    client: Any,
    run_id: str,
    comparison: RunComparisonResult,
    judgement: Judgement,
    html: Path | None,
) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "report.html"
        if html is not None and html.is_file():
            local.write_bytes(html.read_bytes())
        else:
            from pytest_runcompare.render.html import render_html

            local.write_text(render_html(comparison, judgement), encoding="utf-8")
        client.log_artifact(run_id, str(local), artifact_path=ARTIFACT_DIR)
    return f"{ARTIFACT_DIR}/report.html"
