"""What the plugin costs a session that does not compare anything.

Runs ``pytest --version`` and a session of one trivial test in fresh subprocesses,
with the plugin (autoloaded through its entry point) and without it
(``-p no:runcompare``), interleaved so that drift hits both alike, and prints the
medians and the difference. The goal is < 5%: the plugin imports nothing heavy
(numpy, scipy, jinja2) until a comparison is needed.

    python benchmarks/bench_plugin_overhead.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "pytest --version": ["--version"],
    "one-test session": ["-q", "-p", "no:cacheprovider", "test_one.py"],
}


def _time(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one pytest subprocess.

    CPU time is far steadier than wall time on a shared machine, so both are shown.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="runs per variant")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "tox.ini").write_text("[pytest]\n", encoding="utf-8")
        (cwd / "test_one.py").write_text("def test_one():\n    pass\n", "utf-8")
        print(
            f"{options.repeat} runs per variant, interleaved; Python {sys.version.split()[0]}"
        )
        print(
            f"{'case':<18} {'':>4} {'with plugin':>12} {'without':>12} {'difference':>11}"
        )
        for name, args in CASES.items():
            variants = {"with": args, "without": [*args, "-p", "no:runcompare"]}
            for variant in variants.values():  # warm the file cache
                _time(variant, cwd)
            runs: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
            for _ in range(options.repeat):
                for key, variant in variants.items():
                    runs[key].append(_time(variant, cwd))
            for label, index in (("wall", 0), ("cpu", 1)):
                with_ = statistics.median(r[index] for r in runs["with"])
                without = statistics.median(r[index] for r in runs["without"])
                diff = (with_ - without) / without
                print(
                    f"{name:<18} {label:>4} {with_ * 1000:>9.1f} ms "
                    f"{without * 1000:>9.1f} ms {diff:>+10.1%}"
                )


if __name__ == "__main__":
    main()
