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


def _time(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


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
        print(f"{'case':<18} {'with plugin':>12} {'without':>12} {'difference':>11}")
        for name, args in CASES.items():
            variants = {"with": args, "without": [*args, "-p", "no:runcompare"]}
            for variant in variants.values():  # warm the file cache
                _time(variant, cwd)
            times: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(options.repeat):
                for key, variant in variants.items():
                    times[key].append(_time(variant, cwd))
            with_ = statistics.median(times["with"])
            without = statistics.median(times["without"])
            diff = (with_ - without) / without
            print(
                f"{name:<18} {with_ * 1000:>9.1f} ms {without * 1000:>9.1f} ms "
                f"{diff:>+10.1%}"
            )


if __name__ == "__main__":
    main()
