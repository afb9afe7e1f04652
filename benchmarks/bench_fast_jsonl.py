"""Time and peak memory of reading two native JSONL runs: baselines, our two paths.

Run ``python benchmarks/make_runs.py`` first, then::

    python benchmarks/bench_fast_jsonl.py [--repeat 3] [--data DIR]

On the same two files, each measured in a fresh subprocess (best of ``--repeat``):

- ``json.loads`` of every line (``for line in f: json.loads(line)``);
- ``orjson.loads`` of every line;
- DuckDB: ``read_json`` of both files, join on ``id``, mean and standard deviation of
  the five paired differences (what a data engineer would write);
- ours, standard library only (``RUNCOMPARE_FAST_JSONL=0``): ``load_run`` x 2 +
  ``compare_runs`` + every default gate (``judge_gates``);
- ours with the ``fast`` extra (orjson): the same;
- ours on the engine path: ``runcompare compare`` with a gates file that puts both
  runs in DuckDB (one gate per metric, the directions the runs declare);
- for scale, DuckDB's ``read_json`` of every field of both files into Arrow: what a
  native reader pays to build ids, outputs and slices, not only ids and metrics.

Wall time, CPU time (user + system of the subprocess, all its threads) and peak
memory (``ru_maxrss`` of the subprocess: native memory too, which ``tracemalloc``
does not see) are printed, then the ratios to issue 15's targets: the fast path
<= 1.0x DuckDB's time and <= 1x the files' size in memory; the stdlib path <= 1.5x
``json.loads``. On a shared machine wall time depends on the neighbours: the CPU
column is the steadier one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(__file__).parent / "data"
METRICS = ("exact_match", "passed", "f1", "loss", "latency_s")

_CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
files = {files!r}
kind = {kind!r}
metrics = {metrics!r}

def json_loads():
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)

def orjson_loads():
    import orjson
    for path in files:
        with open(path, "rb") as handle:
            for line in handle:
                orjson.loads(line)

def duckdb_join():
    import duckdb
    con = duckdb.connect()
    diffs = ", ".join(
        f"avg(c.metrics.{{m}}::double - b.metrics.{{m}}::double), "
        f"stddev_samp(c.metrics.{{m}}::double - b.metrics.{{m}}::double)"
        for m in metrics
    )
    con.sql(
        f"select count(*), {{diffs}} from read_json('{{files[0]}}', "
        "format='newline_delimited') b join read_json("
        f"'{{files[1]}}', format='newline_delimited') c on b.id = c.id"
    ).fetchall()

def duckdb_every_field():
    import duckdb
    con = duckdb.connect()
    for path in files:
        con.sql(
            f"select * from read_json('{{path}}', format='newline_delimited')"
        ).to_arrow_table()

def engine():
    import contextlib, io, tempfile
    from pytest_runcompare.cli import main
    # the same gates as the in-memory rows: every metric, its declared direction
    lines = [f"baseline: {{{{engine: duckdb, path: '{{files[0]}}'}}}}",
             f"candidate: {{{{engine: duckdb, path: '{{files[1]}}'}}}}",
             "defaults: {{mode: regression_detection}}", "metrics:"]
    lines += [f"  {{m}}: {{{{direction: {{'lower' if m in ('loss', 'latency_s') else 'higher'}}}}}}"
              for m in metrics]
    with tempfile.TemporaryDirectory() as tmp:
        gates = os.path.join(tmp, "gates.yaml")
        with open(gates, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(["compare", "--config", gates, *files])
    assert code in (0, 1), code

def ours():
    from pytest_runcompare import compare_runs, load_run
    from pytest_runcompare.judge import judge_gates
    from pytest_runcompare.pipeline import default_gates
    baseline = load_run(files[0])
    candidate = load_run(files[1])
    # make_runs.py declares the direction of two metrics; the others: higher.
    directions = {{m: True for m in metrics if m not in ("loss", "latency_s")}}
    result = compare_runs(baseline, candidate, directions=directions)
    result.metric_deltas, result.slice_deltas
    gates = [spec.gate for spec in default_gates(result, None)]
    judge_gates(result, gates)

if kind in ("stdlib", "fast"):  # the imports are not what is measured
    import numpy, scipy.stats, yaml, pluggy
    import pytest_runcompare.pipeline, pytest_runcompare.loaders.native
    import pytest_runcompare.loaders.native_fast as native_fast
    from pytest_runcompare.loaders.registry import default_plugin_manager
    default_plugin_manager()
elif kind in ("duckdb", "duckdb_all"):
    import duckdb
elif kind == "engine":
    import duckdb, numpy, scipy.stats, yaml, pluggy
    import pytest_runcompare.cli, pytest_runcompare.pipeline, pytest_runcompare.engine
elif kind == "orjson":
    import orjson

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0

base = rss()
usage0 = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
{{"json": json_loads, "orjson": orjson_loads, "duckdb": duckdb_join,
  "duckdb_all": duckdb_every_field, "engine": engine,
  "stdlib": ours, "fast": ours}}[kind]()
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = (usage.ru_utime - usage0.ru_utime) + (usage.ru_stime - usage0.ru_stime)
used = None
if kind in ("stdlib", "fast"):
    used = native_fast.usage.fast
print(json.dumps({{"wall": wall, "cpu": cpu, "peak": usage.ru_maxrss * 1024,
                  "base": base, "fast_chunks": used}}))
"""

ROWS = (
    ("json", "json.loads of every line"),
    ("orjson", "orjson.loads of every line"),
    ("duckdb", "DuckDB read_json x2 + join + mean/sd x5"),
    ("duckdb_all", "DuckDB read_json x2, every field, to Arrow"),
    ("engine", "ours, engine path (compare --engine duckdb)"),
    ("stdlib", "ours, stdlib: load x2 + compare + gates"),
    ("fast", "ours, fast extra: load x2 + compare + gates"),
)


def _available(kind: str) -> bool:
    module = {
        "orjson": "orjson",
        "duckdb": "duckdb",
        "duckdb_all": "duckdb",
        "engine": "duckdb",
        "fast": "orjson",
    }.get(kind)
    if module is None:
        return True
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, check=False
    )
    return done.returncode == 0


def measure(kind: str, files: list[str], repeat: int) -> dict[str, float] | None:
    """Best wall and CPU time, and the peak RSS of the fastest run, or None."""
    if not _available(kind):
        return None
    env = {**os.environ, "RUNCOMPARE_FAST_JSONL": "0" if kind == "stdlib" else "1"}
    code = _CHILD.format(root=str(ROOT), files=files, kind=kind, metrics=METRICS)
    best: dict[str, float] | None = None
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if done.returncode != 0:
            raise SystemExit(f"{kind} failed:\n{done.stderr[-2000:]}")
        got = json.loads(done.stdout.strip().splitlines()[-1])
        if best is None or got["cpu"] < best["cpu"]:
            best = {**got, "wall": min(got["wall"], best["wall"] if best else 1e9)}
        else:
            best["wall"] = min(best["wall"], got["wall"])
    if kind == "fast" and best is not None and not best["fast_chunks"]:
        raise SystemExit("the fast path was not used: is orjson installed?")
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    paths = [args.data / "baseline.jsonl", args.data / "candidate.jsonl"]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"missing {missing}: run benchmarks/make_runs.py first", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in paths)
    lines = sum(1 for p in paths for _ in p.open("rb"))
    print(f"files: 2 x ~{lines // 2:,} lines, {size / 1e6:.0f} MB in all")
    try:
        load = os.getloadavg()[0]
        print(f"load average when starting: {load:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    files = [str(p) for p in paths]
    results: dict[str, dict[str, float] | None] = {}
    print(
        f"{'':46} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'x files':>8} "
        f"{'above imports MB':>17}"
    )
    for kind, label in ROWS:
        got = results[kind] = measure(kind, files, args.repeat)
        if got is None:
            print(f"{label:46} {'(not installed)':>33}")
            continue
        print(
            f"{label:46} {got['wall']:7.2f} {got['cpu']:7.2f} "
            f"{got['peak'] / 1e6:8.0f} {got['peak'] / size:8.2f} "
            f"{(got['peak'] - got['base']) / 1e6:17.0f}"
        )
    print("targets (issue 15), by CPU time:")
    _ratio(results, "fast", "duckdb", "fast path / DuckDB", 1.0)
    _ratio(results, "stdlib", "json", "stdlib path / json.loads", 1.5)
    _ratio(results, "engine", "duckdb", "engine path / DuckDB", 1.0)
    print("for scale: any reader that builds every field (not only id and metrics)")
    _ratio(results, "duckdb_all", "duckdb", "DuckDB's own, every field / DuckDB", 1.0)
    _ratio(results, "orjson", "duckdb", "orjson.loads alone / DuckDB", 1.0)
    fast = results.get("fast")
    if fast is not None:
        ratio = fast["peak"] / size
        above = (fast["peak"] - fast["base"]) / size
        flag = "met" if ratio <= 1.0 else "missed"
        print(
            f"  fast path peak memory / files' size: {ratio:.2f} (above the "
            f"interpreter's imports: {above:.2f}; <= 1.0: {flag})"
        )
    return 0


def _ratio(
    results: dict[str, dict[str, float] | None],
    ours: str,
    theirs: str,
    label: str,
    target: float,
) -> None:
    a, b = results.get(ours), results.get(theirs)
    if a is None or b is None:
        print(f"  {label}: not measured (a package is missing)")
        return
    ratio = a["cpu"] / b["cpu"]
    wall = a["wall"] / b["wall"]
    flag = "met" if ratio <= target else "missed"
    print(f"  {label}: {ratio:.2f} (wall {wall:.2f}; <= {target}: {flag})")


if __name__ == "__main__":
    sys.exit(main())
