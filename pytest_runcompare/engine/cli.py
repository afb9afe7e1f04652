"""``runcompare compare --engine duckdb|spark``: the engine path's command line face.

Judges the gates file on two runs held in an engine (``pipeline.judge_engine``),
prints the gate table and the session lines as ``runcompare compare`` does, and
writes the reports asked for (HTML, Markdown, JSON: ``render.engine_report``).
Called from :func:`pytest_runcompare.cli.run_compare`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from pytest_runcompare.engine.source import ENGINE_KEYS, EngineSource, engine_source
from pytest_runcompare.errors import ConfigError
from pytest_runcompare.render.engine_report import report_dict
from pytest_runcompare.untrusted import one_line

__all__ = ["engine_sources", "report_dict", "run_engine_compare", "wants_engine"]


def _options(source: Any) -> dict[str, Any]:
    return {} if source is None else dict(source.options)


def wants_engine(config: Any) -> bool:
    """Whether the gates file names an engine for its baseline or candidate."""
    return any(
        "engine" in _options(getattr(config, role))
        for role in ("baseline", "candidate")
    )


def _source(
    role: str, location: str | None, options: Mapping[str, Any], engine: str | None
) -> EngineSource:
    opts = {k: v for k, v in options.items() if k in ENGINE_KEYS}
    if engine is not None:
        opts["engine"] = engine
    if opts.get("table") is not None:
        location = None
    return engine_source(location, opts, key=role)


def engine_sources(
    args: Any, config: Any, candidate_location: str
) -> tuple[EngineSource, EngineSource]:
    """Both runs' engine locations: the command line's paths, the file's options."""
    base = _options(config.baseline)
    cand = _options(config.candidate)
    return (
        _source("baseline", args.baseline, base, args.engine),
        _source("candidate", candidate_location, cand, args.engine),
    )


def run_engine_compare(args: Any, config: Any, request: Any, candidate: str) -> int:
    """Open the engine, judge, print, write the reports; the exit code."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.engine import open_comparison
    from pytest_runcompare.render.engine_report import write_engine_reports
    from pytest_runcompare.render.terminal import gate_table, session_lines

    if not config.gates:
        raise ConfigError(
            "--engine needs a gates file with its gates (--config FILE): the engine "
            "path judges declared gates only"
        )
    baseline, cand = engine_sources(args, config, candidate)
    comparison = open_comparison(baseline, cand, request.config)
    judgement = pipeline.judge_engine(comparison, request)
    print(f"baseline:  {one_line(baseline.describe())} ({baseline.engine})")
    print(f"candidate: {one_line(cand.describe())} ({cand.engine})")
    paths = comparison.paths
    print(
        f"engine {comparison.engine_name}: {paths['statistics']} gates judged from "
        f"sufficient statistics, {paths['in memory']} in memory (small), "
        f"{paths['refused']} refused"
    )
    for line in gate_table(judgement):
        print(line.text)
    for result in judgement.failed:
        print(f"\nFAILED {one_line(result.key)}: {one_line(result.message)}")
    for line in session_lines(judgement, ungated=[]):
        print(line.text, file=sys.stderr if line.tone != "white" else sys.stdout)
    for result in judgement.blocking:
        for warning in result.verdict.warnings:
            print(
                f"warning: {one_line(result.key)}: {one_line(warning)}", file=sys.stderr
            )
    written = write_engine_reports(comparison, judgement, request.outputs)
    kinds = {
        request.outputs.html: "html",
        request.outputs.markdown: "markdown",
        request.outputs.json: "json",
    }
    for path in written:
        print(f"{kinds[path]} report: {path}")
    return 0 if judgement.passed else 1
