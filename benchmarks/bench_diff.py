"""Time the report's word diff on hostile and ordinary output shapes (issue 12).

Prints a table: input shape, size (characters per side), seconds, and how finely the
diff was drawn (word, line, whole). Then the time of the explorer's diffs for a
report that embeds ``--outputs`` datapoints of the slowest shape, under the report's
work budget. ``--unbounded`` also times plain difflib (the old diff) on the shapes
small enough to finish.

    python benchmarks/bench_diff.py [--scale 1.0] [--outputs 2000] [--unbounded]
"""

from __future__ import annotations

import argparse
import difflib
import random
import time
from collections.abc import Callable

from pytest_runcompare.diff import _MATCH_TOKEN, MAX_WORK, text_diff
from pytest_runcompare.render.model import MAX_OUTPUT_CHARS, REPORT_DIFF_WORK


def _random_text(n: int, vocabulary: int, seed: int) -> str:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    return " ".join(rng.choice(words) for _ in range(n))


def shapes(scale: float) -> dict[str, tuple[str, str]]:
    """Pairs of outputs, each side at most the report's ``MAX_OUTPUT_CHARS``."""
    n = max(10, int(10_000 * scale))  # 2 characters a word: 20,000 characters a side
    w = max(10, int(3_500 * scale))  # ~4.6 characters a word: ~16,000 a side
    return {
        "issue: 'a ' * n vs 'a ' * (n-1) + 'b '": ("a " * n, "a " * (n - 1) + "b "),
        "one word changed in the middle": (
            "a " * (n // 2) + "x " + "a " * (n // 2),
            "a " * (n // 2) + "y " + "a " * (n // 2),
        ),
        "'a b ' vs 'b a ' (no common prefix)": ("a b " * (n // 2), "b a " * (n // 2)),
        "unrelated texts, 300 words": (
            _random_text(w, 300, 1),
            _random_text(w, 300, 2),
        ),
        "unrelated texts, 30 words": (
            _random_text(w, 30, 1),
            _random_text(w, 30, 2),
        ),
        "unrelated texts, 5 words": (_random_text(w, 5, 1), _random_text(w, 5, 2)),
        "edited text (1 word in 20)": (
            _random_text(w, 300, 3),
            " ".join(
                "edit" if k % 20 == 0 else t
                for k, t in enumerate(_random_text(w, 300, 3).split(" "))
            ),
        ),
        "many lines, 5 words": (
            "\n".join(_random_text(8, 5, k) for k in range(w // 8)),
            "\n".join(_random_text(8, 5, k + 7) for k in range(w // 8)),
        ),
    }


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _plain_difflib(old: str, new: str) -> None:
    a, b = _MATCH_TOKEN.findall(old), _MATCH_TOKEN.findall(new)
    difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--outputs", type=int, default=2000)
    parser.add_argument(
        "--unbounded",
        action="store_true",
        help="also time plain difflib on the shapes below 3,000 characters a side",
    )
    args = parser.parse_args()
    print(
        f"bounded word diff (max_work {MAX_WORK:,} per diff, "
        f"{REPORT_DIFF_WORK:,} per report; outputs cut at {MAX_OUTPUT_CHARS:,} chars)"
    )
    header = f"{'shape':<40} {'chars':>7} {'seconds':>8}  level"
    if args.unbounded:
        header += "   difflib s"
    print(header)
    slowest, slowest_time = ("", ""), -1.0
    for name, (old, new) in shapes(args.scale).items():
        old, new = old[:MAX_OUTPUT_CHARS], new[:MAX_OUTPUT_CHARS]
        result = text_diff(old, new)
        seconds = _seconds(lambda o=old, n=new: text_diff(o, n))
        row = (
            f"{name:<40} {max(len(old), len(new)):>7,} {seconds:>8.3f}  {result.level}"
        )
        if args.unbounded:
            if max(len(old), len(new)) <= 3_000:
                plain = _seconds(lambda o=old, n=new: _plain_difflib(o, n))
                row += f"   {plain:.3f}"
            else:
                row += "   (skipped)"
        print(row)
        if seconds > slowest_time:
            slowest, slowest_time = (old, new), seconds
    old, new = slowest

    def report() -> None:
        budget = REPORT_DIFF_WORK
        for _ in range(args.outputs):
            diff = text_diff(old, new, max_work=min(MAX_WORK, budget))
            budget = max(0, budget - diff.work)

    print(
        f"a report of {args.outputs:,} outputs of the slowest shape: "
        f"{_seconds(report):.2f} s for every diff"
    )


if __name__ == "__main__":
    main()
