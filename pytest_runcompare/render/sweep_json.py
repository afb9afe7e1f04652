"""The sweep's machine-readable JSON report: every candidate's judgement, the ranking.

The conventions of :mod:`pytest_runcompare.render.json_report`: a
``schema_version`` (a change that removes or renames a field bumps it), the
generator, keys in a stable order, NaN and infinities as ``null``, lone surrogates
as their escapes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_runcompare.sweep import SweepJudgement

SWEEP_SCHEMA_VERSION = 1


def sweep_report_dict(
    sweep: SweepJudgement, *, pairs: dict[str, str] | None = None
) -> dict[str, Any]:
    """The sweep report as plain values (see :func:`render_sweep_json`)."""
    from pytest_runcompare import __version__
    from pytest_runcompare.render.json_report import _plain

    data: dict[str, Any] = _plain(
        {
            "schema_version": SWEEP_SCHEMA_VERSION,
            "kind": "sweep",
            "generator": {"name": "pytest-runcompare", "version": __version__},
            **sweep.to_dict(),
            "pair_reports": dict(pairs or {}),
        }
    )
    return data


def render_sweep_json(
    sweep: SweepJudgement, *, pairs: dict[str, str] | None = None
) -> str:
    """Render the sweep as JSON: ``SweepJudgement.to_dict()`` with a schema and generator.

    ``pairs`` maps each candidate's label to where its two-run HTML report was
    written (relative to the sweep's HTML report), listed as ``pair_reports``.
    """
    from pytest_runcompare.untrusted import no_surrogates

    data = sweep_report_dict(sweep, pairs=pairs)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return no_surrogates(text)
