"""The ``runcompare`` command: the pipeline outside pytest.

``runcompare compare BASELINE CANDIDATE [--config FILE] [--html F] [--markdown F]
[--json F]`` prints the gate table and exits 0 when every gate passes, 1 when one
fails, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runcompare",
        description="Compare a candidate evaluation run with a baseline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare", help="judge the candidate against the baseline"
    )
    compare.add_argument("baseline", help="baseline run (path or path::selector)")
    compare.add_argument("candidate", help="candidate run (path or path::selector)")
    compare.add_argument("--config", type=Path, help="gates file (runcompare.yaml)")
    compare.add_argument("--html", type=Path, help="write the HTML report here")
    compare.add_argument(
        "--markdown", type=Path, help="write the Markdown summary here"
    )
    compare.add_argument("--json", type=Path, help="write the JSON report here")
    compare.add_argument(
        "--seed", type=int, default=None, help="resampling seed (default 0)"
    )
    compare.add_argument(
        "--alpha", type=float, default=None, help="one-sided level of every gate"
    )
    compare.add_argument(
        "--margin",
        default=None,
        help="without a gates file: gate every metric with this margin (e.g. 0.01 or 2%%)",
    )
    return parser


def _default_gates(comparison: Any, margin: str | None) -> tuple[Any, ...]:
    """Without a gates file: one gate per per-datapoint metric of the baseline.

    With ``--margin`` they are non-inferiority gates; without, regression detection.
    """
    from pytest_runcompare.config import GateSpec
    from pytest_runcompare.gates import Gate

    specs = []
    for name in comparison.baseline.metrics:
        if margin is None:
            gate = Gate(metric=name, mode="regression_detection")
        else:
            gate = Gate(metric=name, margin=margin)
        specs.append(GateSpec(gate))
    return tuple(specs)


def run_compare(args: argparse.Namespace) -> int:
    """Load, compare, judge, render; print the gate table; return the exit code."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import (
        GatesConfig,
        RunSource,
        check_tests,
        load_gates_file,
    )
    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.summary import format_table, gate_rows

    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {args.seed}")
    if args.alpha is not None and not 0 < args.alpha < 0.5:
        raise ConfigError(
            f"--alpha: {args.alpha} is out of range (a one-sided level in (0, 0.5))"
        )
    config = GatesConfig() if args.config is None else load_gates_file(args.config)
    check_tests(config)
    base_options = {} if config.baseline is None else dict(config.baseline.options)
    cand_options = {} if config.candidate is None else dict(config.candidate.options)
    baseline = pipeline.load(RunSource(args.baseline, base_options))
    candidate = pipeline.load(RunSource(args.candidate, cand_options))
    comparison = pipeline.compare(baseline, candidate, config)
    if not config.gates:
        config = replace(config, gates=_default_gates(comparison, args.margin))
    elif args.margin is not None:
        raise ConfigError("--margin applies without a gates file; set margins in it")
    if args.alpha is not None:
        config = config.with_alpha(args.alpha)
    seed = args.seed if args.seed is not None else (config.seed or 0)
    judgement = pipeline.judge(comparison, config, seed=seed)
    report = config.report
    outputs = pipeline.Outputs(
        html=args.html or (Path(report["html"]) if report.get("html") else None),
        markdown=args.markdown
        or (Path(report["markdown"]) if report.get("markdown") else None),
        json=args.json or (Path(report["json"]) if report.get("json") else None),
        max_outputs=int(report.get("max_outputs", 2000)),
    )
    written = pipeline.write_reports(comparison, judgement, outputs)
    print(f"baseline:  {baseline.name} ({len(baseline)} datapoints)")
    print(f"candidate: {candidate.name} ({len(candidate)} datapoints)")
    print(
        f"paired: {comparison.n_common}, only in baseline: "
        f"{len(comparison.old_only_datapoints)}, only in candidate: "
        f"{len(comparison.new_only_datapoints)}"
    )
    for line in format_table(gate_rows(judgement, warn_only=True)):
        print(line)
    for result in judgement.results:
        if str(result.status) == "failed":
            print(f"\nFAILED {result.key}: {result.message}")
        for warning in result.verdict.warnings:
            print(f"warning: {result.key}: {warning}", file=sys.stderr)
    for warning in judgement.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in judgement.compatibility.problems:
        print(f"compatibility: {problem}")
    for note in judgement.compatibility.notes:
        print(f"note: {note}", file=sys.stderr)
    ungated = [
        m
        for m in (*baseline.meta.metrics, *candidate.meta.metrics)
        if m not in {r.verdict.gate.metric for r in judgement.results}
    ]
    if ungated:
        print(
            "aggregate-only metrics, not gated (no per-datapoint values): "
            + ", ".join(sorted(set(ungated))),
            file=sys.stderr,
        )
    for kind, path in sorted(written.items()):
        print(f"{kind} report: {path}")
    return EXIT_PASSED if judgement.passed else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runcompare`` console script."""
    from pytest_runcompare.errors import RunCompareError

    args = _parser().parse_args(argv)
    try:
        return run_compare(args)
    except RunCompareError as error:
        print(f"runcompare: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"runcompare: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
