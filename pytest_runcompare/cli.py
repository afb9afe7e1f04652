"""The ``runcompare`` command: the pipeline outside pytest.

``runcompare compare BASELINE CANDIDATE [--config FILE] [--html F] [--markdown F]
[--json F]`` prints the gate table and exits 0 when every gate passes, 1 when one
fails, 2 on bad input. With several candidates (or a glob, or a location holding
several runs) it judges a sweep (:mod:`pytest_runcompare.sweep`): exit 0 when the
sweep passes (every candidate, or with ``--require any`` at least one).

``runcompare plan BASELINE [--config FILE] [--power 0.8] [--alpha A]`` prints, from
the baseline alone, the margin each metric's n can support and, for the gates
file's gates, the n each margin needs and the chance an unchanged candidate
passes (:mod:`pytest_runcompare.plan`); it exits 0, or 2 on bad input.

``runcompare history BASELINE [--json]`` lists the baseline's generations and
``runcompare prune BASELINE --keep K`` deletes all but the newest K
(:mod:`pytest_runcompare.history`); both exit 0, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_runcompare.untrusted import NAME_CHARS, log_text, one_line

if TYPE_CHECKING:
    from pytest_runcompare.config import GatesConfig

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_GATES_FILE = "runcompare.yaml"
#: the smallest level accepted: below it no test here resolves a p-value
MIN_ALPHA = 1e-10


def _count(text: str) -> int:
    """A non-negative integer, written as digits (``1e3`` and ``-1`` are refused)."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {text} (digits only, e.g. 20)"
        )
    return int(text)


def _finite(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r} (expected a number)"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"invalid value {text!r} (expected a number)")
    return value


def _alpha(text: str) -> float:
    """A one-sided level in [1e-10, 0.5)."""
    value = _finite(text)
    if not MIN_ALPHA <= value < 0.5:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range (expected a one-sided level in "
            f"[{MIN_ALPHA:g}, 0.5), e.g. 0.05)"
        )
    return value


def _share(low_closed: bool) -> Any:
    def parse(text: str) -> float:
        value = _finite(text)
        if not ((value >= 0 if low_closed else value > 0) and value < 1):
            accepted = "[0, 1)" if low_closed else "(0, 1)"
            raise argparse.ArgumentTypeError(
                f"expected a number in {accepted}, got {text}"
            )
        return value

    return parse


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
    compare.add_argument(
        "candidates",
        nargs="+",
        metavar="CANDIDATE",
        help="candidate run (path or path::selector); several, a glob or a location "
        "holding several runs judge a sweep against the one baseline",
    )
    compare.add_argument(
        "--config",
        type=Path,
        help=f"gates file (default: ./{DEFAULT_GATES_FILE} when there is one)",
    )
    compare.add_argument("--html", type=Path, help="write the HTML report here")
    compare.add_argument(
        "--markdown", type=Path, help="write the Markdown summary here"
    )
    compare.add_argument("--json", type=Path, help="write the JSON report here")
    compare.add_argument(
        "--report-url",
        default=None,
        metavar="URL",
        help="where reviewers open the HTML report (e.g. the CI artifact's URL): the "
        "Markdown summary links it and each datapoint (default: the gates file's "
        "report.url)",
    )
    compare.add_argument(
        "--mlflow-log",
        action="store_true",
        help="log each gate's change, interval, p-value and verdict, and the HTML "
        "report, onto the candidate's MLflow run (a candidate read as "
        "mlflow://<run_id>; default: the gates file's report.mlflow)",
    )
    compare.add_argument(
        "--seed", type=_count, default=None, help="resampling seed (default 0)"
    )
    compare.add_argument(
        "--alpha", type=_alpha, default=None, help="one-sided level of every gate"
    )
    compare.add_argument(
        "--max-outputs",
        type=_count,
        default=None,
        metavar="N",
        help="changed outputs shown in the reports (default: the gates file's "
        "report.max_outputs, else 2000)",
    )
    compare.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and register its pytest_runcompare_* hooks (readers, "
        "tests); installed plugins of the 'runcompare' entry point load by themselves",
    )
    compare.add_argument(
        "--require",
        choices=("all", "any"),
        default=None,
        help="a sweep passes when every candidate passes every gate (all, the "
        "default: the gates file's sweep.require) or when at least one does (any)",
    )
    compare.add_argument(
        "--best",
        default=None,
        metavar="METRIC",
        help="the metric a sweep ranks its candidates by (default: the gates file's "
        "sweep.best, else the first gated metric)",
    )
    compare.add_argument(
        "--margin",
        default=None,
        help="without a gates file: gate every metric with this margin (e.g. 0.01 or 2%%)",
    )
    compare.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default=None,
        help="compare in an engine, from sufficient statistics: runs that do not fit "
        "in memory (Parquet, JSONL or CSV paths and globs; writes --json only)",
    )
    plan = commands.add_parser(
        "plan",
        help="from the baseline alone: the margins its n supports, the n the "
        "gates' margins need and their pass chance if nothing changed",
    )
    plan.add_argument("baseline", help="baseline run (path or path::selector)")
    plan.add_argument("--config", type=Path, help="gates file (runcompare.yaml)")
    plan.add_argument(
        "--power",
        type=_share(False),
        default=None,
        help="target power of the MDE and the required n (default: the gates "
        "file's defaults.power_warn_below, else 0.8)",
    )
    plan.add_argument(
        "--alpha", type=_alpha, default=None, help="one-sided level of every gate"
    )
    plan.add_argument(
        "--correlation",
        type=_share(True),
        default=None,
        metavar="RHO",
        help="assumed correlation of an unchanged candidate's per-datapoint values "
        "with the baseline's (default: defaults.power_correlation, else 0: the worst "
        "case, every datapoint re-drawn independently)",
    )
    plan.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and register its pytest_runcompare_* hooks (readers)",
    )
    _history_parsers(commands)
    return parser


def _history_parsers(commands: Any) -> None:
    """``runcompare history`` and ``runcompare prune`` (:mod:`pytest_runcompare.history`)."""
    history = commands.add_parser(
        "history",
        help="list the baseline's generations, oldest first, the current last: "
        "when, code version, reason, accepted failures, each metric's mean",
    )
    history.add_argument("baseline", help="the baseline's path (runs/baseline)")
    history.add_argument("--json", action="store_true", help="print JSON instead")
    prune = commands.add_parser(
        "prune",
        help="delete the baseline's oldest generations, keeping the newest K "
        "(the only command that deletes a generation; logged in the provenance)",
    )
    prune.add_argument("baseline", help="the baseline's path (runs/baseline)")
    prune.add_argument(
        "--keep",
        type=_count,
        required=True,
        metavar="K",
        help="generations to keep (the newest ones)",
    )


def _run_history(args: argparse.Namespace) -> int:
    from pytest_runcompare.history import history_command, prune_command

    if args.command == "prune":
        return prune_command(args.baseline, keep=args.keep)
    return history_command(args.baseline, as_json=args.json)


def _unit_interval(value: float | None, option: str, *, zero: bool) -> float | None:
    from pytest_runcompare.errors import ConfigError

    if value is None:
        return None
    if not ((value >= 0 if zero else value > 0) and value < 1):
        accepted = "[0, 1)" if zero else "(0, 1)"
        raise ConfigError(f"{option}: expected a number in {accepted}, got {value:g}")
    return value


def run_plan(args: argparse.Namespace) -> int:
    """Load the baseline, plan its gates and metrics, print the plan."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import GatesConfig, RunSource, load_gates_file
    from pytest_runcompare.plan import make_plan, plan_lines

    power = _unit_interval(args.power, "--power", zero=False)
    rho = _unit_interval(args.correlation, "--correlation", zero=True)
    config = GatesConfig() if args.config is None else load_gates_file(args.config)
    pm = _plugin_manager(args.plugin)
    request = pipeline.build_request(
        config,
        baseline=RunSource(args.baseline),
        alpha=args.alpha,
        custom_tests=pipeline.registered_tests(
            pm.hook.pytest_runcompare_register_tests()
        ),
    )
    assert request.baseline is not None
    baseline = pipeline.load(request.baseline, hook=pm.hook.pytest_runcompare_load_run)
    plan = make_plan(
        baseline, request.config, power=power, correlation=rho, alpha=args.alpha
    )
    for line in plan_lines(plan):
        print(one_line(line))
    return EXIT_PASSED


def _plugin_manager(modules: Sequence[str]) -> Any:
    """Our plugin manager (readers, installed plugins) with the ``--plugin`` modules."""
    import importlib

    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.loaders.registry import default_plugin_manager

    pm = default_plugin_manager()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"--plugin {name}: cannot import it ({error})") from None
        if pm.get_plugin(name) is None:
            pm.register(module, name=name)
    return pm


def _gates_file(given: Path | None) -> GatesConfig:
    """The gates file: ``--config``, else ``./runcompare.yaml`` (said on stderr)."""
    from pytest_runcompare.config import GatesConfig, load_gates_file

    if given is not None:
        return load_gates_file(given)
    default = Path(DEFAULT_GATES_FILE)
    if not default.is_file():
        return GatesConfig()
    print(
        f"runcompare: using the gates file {default.resolve()} (found in the "
        "current directory; pass --config FILE to use another)",
        file=sys.stderr,
    )
    return load_gates_file(default)


def _candidates(args: argparse.Namespace, config: GatesConfig, pm: Any) -> list[Any]:
    """The command line's candidates, each glob or multi-run location expanded."""
    from pytest_runcompare.config import Candidate, RunSource
    from pytest_runcompare.loaders.multi import expand_candidates

    options = {} if config.candidate is None else dict(config.candidate.options)
    entries = [Candidate(None, RunSource(c, options)) for c in args.candidates]
    return list(expand_candidates(entries, hook=pm.hook.pytest_runcompare_list_runs))


def _request(
    args: argparse.Namespace, config: GatesConfig, pm: Any, candidate: Any
) -> Any:
    """The comparison's request from the command line over the gates file."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import RunSource

    request = pipeline.build_request(
        config,
        baseline=RunSource(args.baseline),
        candidate=candidate,
        seed=args.seed,
        alpha=args.alpha,
        html=args.html,
        markdown=args.markdown,
        json=args.json,
        report_url=args.report_url,
        mlflow_log=True if args.mlflow_log else None,  # else report.mlflow
        custom_tests=pipeline.registered_tests(
            pm.hook.pytest_runcompare_register_tests()
        ),
    )
    if args.max_outputs is not None:
        outputs = replace(request.outputs, max_outputs=args.max_outputs)
        request = replace(request, outputs=outputs)
    return request


def run_compare(args: argparse.Namespace) -> int:
    """Build the request, load, compare, judge, render; return the exit code."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import PowerPolicy
    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.render.terminal import (
        failure_message,
        gate_table,
        session_lines,
    )
    from pytest_runcompare.render.write import write_reports

    config = _gates_file(args.config)
    empty = pipeline.no_gate_declared(config)
    if empty is not None:
        raise ConfigError(empty)
    if config.gates and args.margin is not None:
        raise ConfigError("--margin applies without a gates file; set margins in it")
    pm = _plugin_manager(args.plugin)
    if args.engine is not None or _wants_engine(config):
        return _engine_compare(args, config, pm)
    candidates = _candidates(args, config, pm)
    if len(candidates) > 1 or args.require is not None or args.best is not None:
        return run_sweep(args, config, pm, candidates)
    request = _request(args, config, pm, candidates[0].source)
    assert request.candidate is not None
    hook = pm.hook.pytest_runcompare_load_run
    baseline = pipeline.load(request.baseline, hook=hook)
    candidate = pipeline.load(request.candidate, hook=hook)
    comparison = pipeline.compare(baseline, candidate, request.config)
    if not config.gates:
        request = replace(
            request,
            config=replace(
                request.config,
                gates=pipeline.default_gates(comparison, args.margin, args.alpha),
            ),
        )
    judgement = pipeline.judge(comparison, request)
    if not judgement.blocking:
        raise ConfigError(
            "no gate was judged (the gates matched nothing in these runs): "
            "nothing passed"
        )
    plan = None
    if config.gates and config.power is not PowerPolicy.OFF and request.outputs.wanted:
        from pytest_runcompare.plan import make_plan

        plan = make_plan(baseline, request.config)
    inputs = [("baseline run", Path(args.baseline.partition("::")[0]))]
    inputs.append(
        ("candidate run", Path(candidates[0].source.location.partition("::")[0]))
    )
    if args.config is not None:
        inputs.append(("gates file", Path(args.config)))
    from pytest_runcompare.trend import for_report

    trend = None
    if request.outputs.wanted:
        trend = for_report(request.baseline, comparison, judgement)
    written = write_reports(
        comparison, judgement, request.outputs, plan=plan, inputs=inputs, trend=trend
    )
    print(f"baseline:  {one_line(baseline.name)} ({len(baseline)} datapoints)")
    print(f"candidate: {one_line(candidate.name)} ({len(candidate)} datapoints)")
    print(
        f"paired: {comparison.n_common}, only in baseline: "
        f"{len(comparison.old_only_datapoints)}, only in candidate: "
        f"{len(comparison.new_only_datapoints)}"
    )
    for line in gate_table(judgement):
        print(line.text)
    for result in judgement.failed:
        key = one_line(result.key, NAME_CHARS)
        print(f"\nFAILED {key}: {failure_message(result, comparison)}")
    gated = {r.verdict.gate.metric for r in judgement.results}
    ungated = sorted(
        {m for m in (*baseline.meta.metrics, *candidate.meta.metrics) if m not in gated}
    )
    for line in session_lines(judgement, ungated=ungated):
        print(line.text, file=sys.stderr if line.tone != "white" else sys.stdout)
    for result in judgement.blocking:
        for warning in result.verdict.warnings:
            print(
                f"warning: {one_line(result.key, NAME_CHARS)}: {one_line(warning)}",
                file=sys.stderr,
            )
    for kind, path in sorted(written.items()):
        print(f"{kind} report: {path}")
    if request.outputs.mlflow_log:
        _log_to_mlflow([(comparison, judgement, written.get("html"))], candidates)
    return EXIT_PASSED if judgement.passed else EXIT_FAILED


def _wants_engine(config: GatesConfig) -> bool:
    from pytest_runcompare.engine.cli import wants_engine

    return wants_engine(config)


def _engine_compare(args: argparse.Namespace, config: GatesConfig, pm: Any) -> int:
    """``--engine`` (or an engine in the gates file): see ``engine.cli``."""
    from pytest_runcompare.config import RunSource
    from pytest_runcompare.engine.cli import run_engine_compare

    location = args.candidates[0]
    request = _request(args, config, pm, RunSource(location))
    return run_engine_compare(args, config, request, location)


def _log_to_mlflow(judged: Sequence[Any], candidates: Sequence[Any]) -> None:
    """Log each judgement onto its candidate's MLflow run (a failure raises)."""
    from pytest_runcompare.render.mlflow_log import log_judgement, logged_line

    options = [c.source.options for c in candidates if c.source.options]
    uri = next((o.get("tracking_uri") for o in options), None)
    for comparison, judgement, html in judged:
        logged = log_judgement(comparison, judgement, tracking_uri=uri, html=html)
        print(logged_line(logged))


def run_sweep(
    args: argparse.Namespace, config: GatesConfig, pm: Any, candidates: Sequence[Any]
) -> int:
    """Judge every candidate against the baseline as one family; print and write it."""
    from pytest_runcompare import pipeline
    from pytest_runcompare.config import Require
    from pytest_runcompare.errors import ConfigError
    from pytest_runcompare.loaders.multi import leave_out_baseline
    from pytest_runcompare.render.sweep_terminal import sweep_lines
    from pytest_runcompare.sweep import judge_sweep

    request = _request(args, config, pm, None)
    candidates, left_out = leave_out_baseline(request.baseline, candidates)
    if left_out is not None:
        print(f"runcompare: {one_line(left_out)}", file=sys.stderr)
    hook = pm.hook.pytest_runcompare_load_run
    baseline = pipeline.load(request.baseline, hook=hook)
    runs = [(str(c.label), pipeline.load(c.source, hook=hook)) for c in candidates]
    if not config.gates:
        first = pipeline.compare(baseline, runs[0][1], request.config)
        gates = pipeline.default_gates(first, args.margin, args.alpha)
        request = replace(request, config=replace(request.config, gates=gates))
    settings = request.config.sweep
    if args.require is not None:
        settings = replace(settings, require=Require(args.require))
    if args.best is not None:
        settings = replace(settings, best=args.best)
    sweep = judge_sweep(baseline, runs, request, settings)
    if not any(c.judgement.blocking for c in sweep.candidates):
        raise ConfigError(
            "no gate was judged (the gates matched nothing in these runs): "
            "nothing passed"
        )
    written: dict[str, Path] = {}
    if request.outputs.wanted:
        from pytest_runcompare.render.write import write_sweep_reports

        inputs = [("baseline run", Path(args.baseline.partition("::")[0]))]
        inputs += [
            ("candidate run", Path(c.source.location.partition("::")[0]))
            for c in candidates
        ]
        if args.config is not None:
            inputs.append(("gates file", Path(args.config)))
        written = write_sweep_reports(sweep, request.outputs, inputs=inputs)
    print(f"baseline: {one_line(baseline.name)} ({len(baseline)} datapoints)")
    for line in sweep_lines(sweep):
        print(line.text)
    for candidate in sweep.candidates:
        for result in candidate.judgement.blocking:
            for warning in result.verdict.warnings:
                print(
                    f"warning: {one_line(candidate.label, NAME_CHARS)}: "
                    f"{one_line(result.key, NAME_CHARS)}: {one_line(warning)}",
                    file=sys.stderr,
                )
    for kind, path in sorted(written.items()):
        print(f"{kind} report: {path}")
    if request.outputs.mlflow_log:
        judged = [(c.comparison, c.judgement, None) for c in sweep.candidates]
        _log_to_mlflow(judged, candidates)
    return EXIT_PASSED if sweep.passed else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runcompare`` console script."""
    from pytest_runcompare.errors import RunCompareError

    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # a usage error (2, said by argparse) or --help (0)
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    try:
        if args.command in ("history", "prune"):
            return _run_history(args)
        return run_plan(args) if args.command == "plan" else run_compare(args)
    except (RunCompareError, OSError) as error:
        print(f"runcompare: error: {log_text(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # exit 1 means "a gate failed", never a crash
        print(
            f"runcompare: error: {type(error).__name__}: {one_line(str(error))} "
            "(an unexpected error, not a verdict: please report it)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
