"""Time how fast hostile runs are refused, and that work grows linearly up to a limit.

    python benchmarks/bench_input_limits.py [--repeat 3]

(a) refusal time of a 10 MB metric name, 1,000,000 slice tags on one datapoint and
    100,000 metrics on one datapoint, each one JSONL line read by ``load_run``;
(b) load time of one datapoint with 1k, 2k, 5k and 10k tags (and metrics): the time
    per tag (per metric) should stay flat up to ``TAGS`` (``METRICS``).

Targets: each refusal under 2 s; per-item time at 10k within 3x of that at 1k.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_runcompare import RunFormatError, load_run


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _refused(path: Path) -> Callable[[], object]:
    def run() -> None:
        try:
            load_run(path)
        except RunFormatError:
            return
        raise SystemExit(f"{path} was not refused")

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    folder = Path(tempfile.mkdtemp(prefix="runcompare-limits-"))

    def line(name: str, record: dict[str, object]) -> Path:
        path = folder / f"{name}.jsonl"
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        return path

    hostile = {
        "10 MB metric name": line("name", {"id": "a", "metrics": {"m" * 10**7: 1}}),
        "1M slice tags": line(
            "tags", {"id": "a", "slices": [f"t{i}" for i in range(10**6)]}
        ),
        "100k metrics": line(
            "metrics", {"id": "a", "metrics": {f"m{i}": 1 for i in range(10**5)}}
        ),
    }
    print(f"refusal (best of {repeat})")
    for label, path in hostile.items():
        size = path.stat().st_size / 1e6
        print(f"  {label:<20} {size:6.1f} MB  {_best(_refused(path), repeat):.3f} s")
    for what in ("tags", "metrics"):
        print(f"growth: one datapoint with n {what}")
        base = None
        for n in (1_000, 2_000, 5_000, 10_000):
            record: dict[str, object] = {"id": "a"}
            if what == "tags":
                record["slices"] = [f"t{i}" for i in range(n)]
            else:
                record["metrics"] = {f"m{i}": 1 for i in range(n)}
            path = line(f"{what}{n}", record)
            seconds = _best(lambda p=path: load_run(p), repeat)
            per = seconds / n * 1e6
            base = base or per
            print(
                f"  n={n:>6,}  {seconds * 1e3:8.2f} ms  {per:6.2f} us/item  "
                f"x{per / base:.2f}"
            )


if __name__ == "__main__":
    main()
