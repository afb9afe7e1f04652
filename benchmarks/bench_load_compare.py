"""Time loading and comparing two large runs against merely ``json.loads``-ing them.

Run ``python benchmarks/make_runs.py`` first, then::

    python benchmarks/bench_load_compare.py [--repeat 3]

(a) ``json.loads`` of every line of both files, read the naive way
    (``for line in open(f): json.loads(line)``);
(b) ``load_run`` x2 + ``compare_runs`` + touching ``metric_deltas`` and ``slice_deltas``.

Times are the best of ``--repeat`` runs of each. Peak memory of (b) is measured in a
fresh subprocess: ``ru_maxrss`` at the end minus the RSS of the interpreter after
its imports (the raw figure is printed too). Targets: time(b) / time(a) <= 2 and the
peak memory of (b) <= 3x the size of the two files.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# RUNCOMPARE_BENCH_DATA points at other runs (the test suite runs this script small).
DATA = Path(os.environ.get("RUNCOMPARE_BENCH_DATA", Path(__file__).parent / "data"))
FILES = (DATA / "baseline.jsonl", DATA / "candidate.jsonl")


def naive_json(paths: tuple[Path, ...]) -> int:
    """(a): parse every line, the way a user with a loop would."""
    count = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)
                count += 1
    return count


def load_and_compare(paths: tuple[Path, ...]) -> tuple[int, int, int]:
    """(b): load both runs, compare them, touch the per-metric and per-slice deltas."""
    from pytest_runcompare import compare_runs, load_run

    baseline = load_run(paths[0])
    candidate = load_run(paths[1])
    result = compare_runs(baseline, candidate)
    deltas = result.metric_deltas
    slices = result.slice_deltas
    return result.n_common, len(deltas), sum(len(v) for v in slices.values())


def _best(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Best wall-clock time, best CPU time of this process, and the result."""
    best = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn(FILES)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, out


_MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
import numpy, yaml, pluggy, json
from pytest_runcompare import compare_runs, load_run
import pytest_runcompare.building, pytest_runcompare.loaders.native
import pytest_runcompare.loaders.files, pytest_runcompare.comparison
from pytest_runcompare.loaders.registry import default_plugin_manager
default_plugin_manager()

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

base = rss_kb()
sys.path.insert(0, {bench!r})
from bench_load_compare import load_and_compare, FILES
load_and_compare(FILES)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, peak)
"""


def measure_memory() -> tuple[int, int]:
    """(baseline RSS after imports, peak RSS) of (b) in a fresh interpreter, in bytes."""
    root = str(Path(__file__).resolve().parent.parent)
    code = _MEMORY_CHILD.format(root=root, bench=str(Path(__file__).resolve().parent))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    base_kb, peak_kb = map(int, done.stdout.split())
    return base_kb * 1024, peak_kb * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    missing = [str(p) for p in FILES if not p.exists()]
    if missing:
        print(f"missing {missing}: run benchmarks/make_runs.py first", file=sys.stderr)
        return 2
    sizes = [p.stat().st_size for p in FILES]
    total = sum(sizes)
    for path, size in zip(FILES, sizes, strict=True):
        print(f"file {path.name}: {size / 1e6:.1f} MB")
    print(f"files total: {total / 1e6:.1f} MB")

    # Warm the imports so that (b) measures loading, not importing numpy.
    import pytest_runcompare.comparison
    import pytest_runcompare.loaders.registry

    pytest_runcompare.loaders.registry.default_plugin_manager()

    # (a) and (b) alternate, so that a busy machine slows both alike; best of each.
    t_json = c_json = t_run = c_run = float("inf")
    for _ in range(args.repeat):
        t, c, lines = _best(naive_json, 1)
        t_json, c_json = min(t_json, t), min(c_json, c)
        t, c, counts = _best(load_and_compare, 1)
        t_run, c_run = min(t_run, t), min(c_run, c)
    n_common, n_metrics, n_slice_deltas = counts  # type: ignore[misc]
    print(
        f"(a) json.loads of every line: {t_json:.2f} s "
        f"(CPU {c_json:.2f} s; {lines:,} lines)"
    )
    print(
        f"(b) load_run x2 + compare_runs + deltas: {t_run:.2f} s (CPU {c_run:.2f} s; "
        f"{n_common:,} common datapoints, {n_metrics} metrics, "
        f"{n_slice_deltas} slice deltas)"
    )
    ratio = t_run / t_json
    print(
        f"ratio (b)/(a): {ratio:.2f} (target <= 2; CPU time ratio {c_run / c_json:.2f})"
    )

    base, peak = measure_memory()
    extra = peak - base
    print(
        f"peak memory of (b): {extra / 1e6:.0f} MB above the interpreter after imports "
        f"({base / 1e6:.0f} MB); raw ru_maxrss {peak / 1e6:.0f} MB"
    )
    print(
        f"peak / file sizes: {extra / total:.2f}x (raw {peak / total:.2f}x; target <= 3x, "
        f"3x = {3 * total / 1e6:.0f} MB)"
    )
    ok = ratio <= 2 and extra <= 3 * total
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
