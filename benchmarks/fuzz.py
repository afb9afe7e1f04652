"""The fuzz campaign at length: every reader, the gates file and the reports (issue 12).

    python benchmarks/fuzz.py --seconds 600            # cases 0, 1, 2, ... for 10 min
    python benchmarks/fuzz.py --seed 7 --seconds 60    # another campaign
    python benchmarks/fuzz.py --seed 7 --case 123      # rebuild and rerun one case
    python benchmarks/fuzz.py --known                  # rerun the failures found so far

The cases are those of ``tests/fuzz`` (``tests/fuzz/fuzzlib.py``), run in a worker
subprocess whose address space is capped (``--memory``, RLIMIT_AS) and watched with a
per-case time limit (``--timeout``): an input that hangs or needs unbounded memory is
a failure like an exception that is not a clear error. Prints the counts and each
distinct failure (exception and where it was raised) with the command that rebuilds
it; exits 1 when there was one.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))

import fuzzlib


def _parse_memory(text: str) -> int:
    from pytest_runcompare.limits import parse_amount

    return parse_amount(text, "--memory")


def _cap_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker(seed: int, start: int, memory: int, timeout: float) -> None:
    """Run cases from ``start`` on; one JSON line when a case starts and when it ends."""
    _cap_memory(memory)
    index = start
    while True:
        print(json.dumps({"start": index}), flush=True)
        with tempfile.TemporaryDirectory() as work:
            try:
                result = fuzzlib.run_case(seed, index, Path(work), timeout=timeout)
                outcomes = [o.__dict__ for o in result.outcomes]
            except Exception as error:  # the harness itself: report, go on
                outcomes = [
                    {
                        "status": "bug",
                        "recipe": f"--seed {seed} --case {index}",
                        "detail": f"harness: {type(error).__name__}: {error}"[:300],
                        "where": "tests/fuzz/fuzzlib.py",
                    }
                ]
        print(json.dumps({"done": index, "outcomes": outcomes}), flush=True)
        index += 1


def campaign(args: argparse.Namespace) -> int:
    """Drive workers for ``--seconds``; restart one that hangs or dies."""
    began = time.monotonic()
    deadline = began + args.seconds
    counts: collections.Counter[str] = collections.Counter()
    bugs: dict[str, dict[str, str]] = {}
    seen = collections.Counter[str]()
    cases = 0
    index = 0
    while time.monotonic() < deadline and (args.cases is None or index < args.cases):
        command = [sys.executable, __file__, "--worker", "--seed", str(args.seed)]
        command += ["--start", str(index), "--memory", str(args.memory)]
        command += ["--timeout", str(args.timeout)]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert proc.stdout is not None
        current: int | None = None
        started = time.monotonic()
        while True:
            if args.cases is not None and index >= args.cases:
                break
            if time.monotonic() >= deadline:
                break
            wait = max(0.1, min(args.timeout * 2 - (time.monotonic() - started), 5.0))
            ready, _, _ = select.select([proc.stdout], [], [], wait)
            if not ready:
                if (
                    current is not None
                    and time.monotonic() - started > args.timeout * 2
                ):
                    _record(
                        bugs,
                        seen,
                        counts,
                        args.seed,
                        current,
                        {
                            "status": "bug",
                            "detail": f"hang: no answer in {args.timeout * 2:g} s",
                            "where": "(killed)",
                        },
                    )
                    index = current + 1
                    break
                continue
            line = proc.stdout.readline()
            if not line:  # the worker died: the address-space cap or a crash
                code = proc.wait()
                if current is not None:
                    _record(
                        bugs,
                        seen,
                        counts,
                        args.seed,
                        current,
                        {
                            "status": "bug",
                            "detail": f"worker died (exit {code}): memory past --memory or a crash",
                            "where": "(worker)",
                        },
                    )
                    index = current + 1
                break
            message = json.loads(line)
            if "start" in message:
                current = message["start"]
                started = time.monotonic()
                continue
            cases += 1
            for outcome in message["outcomes"]:
                _record(bugs, seen, counts, args.seed, message["done"], outcome)
            current = None
            index = message["done"] + 1
        proc.kill()
        proc.wait()
    print(
        f"fuzz campaign --seed {args.seed}: {cases:,} cases in "
        f"{time.monotonic() - began:.0f} s "
        f"(cases {0}..{index - 1}); outcomes: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    )
    for signature, outcome in bugs.items():
        print(f"\nFAILURE ({seen[signature]}x) {signature}\n  {outcome['detail']}")
        print(f"  first: {outcome.get('recipe', '')[:600]}")
        print(
            f"  reproduce: python benchmarks/fuzz.py --seed {args.seed} --case {outcome['case']}"
        )
    return 1 if bugs else 0


def _record(
    bugs: dict[str, dict[str, str]],
    seen: collections.Counter[str],
    counts: collections.Counter[str],
    seed: int,
    case: int,
    outcome: dict[str, str],
) -> None:
    counts[outcome["status"]] += 1
    if outcome["status"] != "bug":
        return
    signature = f"{outcome['detail'].split(':', 1)[0]} at {outcome.get('where', '?')}"
    seen[signature] += 1
    outcome = {**outcome, "case": str(case)}
    outcome.setdefault("recipe", f"--seed {seed} --case {case}")
    bugs.setdefault(signature, outcome)


#: Failures found by campaigns, in files owned by the readers and the renderers, kept
#: as reproductions until they are fixed: ``--known`` reruns each and says whether it
#: still fails. (seed, case, what was found)
KNOWN = (
    (
        22,
        893,
        "Inspect .json: a sample id that is a list: TypeError, loaders/inspect_ai.py",
    ),
    (
        22,
        6326,
        "Inspect .eval: a sample epoch that is a list: TypeError, loaders/inspect_ai.py",
    ),
    (
        22,
        1400,
        "MLflow table: a 400-digit integer score: OverflowError, loaders/_common.py",
    ),
    (
        21,
        1124,
        "Inspect .eval: a 900-deep eval_id: RecursionError, render/json_report.py",
    ),
    (
        22,
        2080,
        "Inspect .eval: a 900-deep solver in the plan: RecursionError, render/json_report.py",
    ),
    (
        20261202,
        3029,
        "lm-eval samples with a byte that is not UTF-8: UnicodeDecodeError reported as "
        "RunNotFoundError, loaders/lm_eval.py",
    ),
)


def known(args: argparse.Namespace) -> int:
    """Rerun every case of :data:`KNOWN`; exit 1 while one still fails."""
    _cap_memory(args.memory)
    failing = 0
    for seed, case, what in KNOWN:
        with tempfile.TemporaryDirectory() as work:
            result = fuzzlib.run_case(seed, case, Path(work), timeout=args.timeout)
        status = "still fails" if result.bugs else "fixed"
        failing += bool(result.bugs)
        print(f"--seed {seed} --case {case}: {status}: {what}")
        for outcome in result.bugs:
            print(f"    {outcome.detail[:200]} at {outcome.where}")
    return 1 if failing else 0


def one_case(args: argparse.Namespace) -> int:
    """Rebuild case ``--case`` of ``--seed``, run it here and show everything."""
    _cap_memory(args.memory)
    with tempfile.TemporaryDirectory() as work:
        try:
            result = fuzzlib.run_case(
                args.seed, args.case, Path(work), timeout=args.timeout
            )
        except Exception:
            traceback.print_exc()
            return 1
        for outcome in result.outcomes:
            print(
                f"{outcome.status}: {outcome.recipe}\n    {outcome.detail} {outcome.where}"
            )
        if args.keep:
            import shutil

            kept = Path(args.keep)
            shutil.copytree(work, kept, dirs_exist_ok=True)
            print(f"inputs kept in {kept}")
    return 1 if result.bugs else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cases", type=int, default=None, help="stop after N cases")
    parser.add_argument("--case", type=int, default=None, help="run only this case")
    parser.add_argument(
        "--keep", default=None, help="with --case: copy its inputs here"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    parser.add_argument("--memory", type=_parse_memory, default=_parse_memory("6GB"))
    parser.add_argument(
        "--known", action="store_true", help="rerun the known failures (KNOWN)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed, args.start, args.memory, args.timeout)
        return 0
    if args.known:
        return known(args)
    if args.case is not None:
        return one_case(args)
    return campaign(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
