"""A gate's final status and figures as JUnit XML properties (``record_property``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_runcompare.pipeline import GateResult

#: The verdict's figures that become ``runcompare_<name>`` properties.
FIGURES = (
    "baseline_aggregate",
    "candidate_aggregate",
    "estimate",
    "bound",
    "ci_low",
    "ci_high",
    "margin",
    "p_value",
    "p_adjusted",
    "n_paired",
    "mde",
    "n_required",
    "improved_count",
    "degraded_count",
)


def properties(result: GateResult) -> list[tuple[str, str]]:
    """``runcompare_status``, ``runcompare_outcome``, the reasons, then the figures."""
    verdict = result.verdict
    out = [
        ("runcompare_status", str(result.status)),
        ("runcompare_outcome", str(verdict.outcome)),
    ]
    if result.reasons:
        out.append(
            ("runcompare_reasons", ",".join(str(r.cause) for r in result.reasons))
        )
    if result.waiver is not None:
        out.append(("runcompare_waiver", result.waiver.reason))
    for name in FIGURES:
        value = getattr(verdict, name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out.append(
            (
                f"runcompare_{name}",
                f"{value:.6g}" if isinstance(value, float) else str(value),
            )
        )
    out.append(("runcompare_test", verdict.test))
    out.append(("runcompare_mode", str(verdict.mode)))
    return out
