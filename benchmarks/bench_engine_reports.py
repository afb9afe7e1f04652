"""What the engine path's HTML and Markdown reports cost beyond judging.

On the pairs of ``make_engine_runs.py`` (N datapoints × 5 metrics, Parquet), judges
``bench_engine.GATES`` with DuckDB, then times ``write_engine_reports`` writing the
HTML report and the Markdown comment (their SQL: per-metric and per-slice
aggregates, run sizes, the top changed datapoints' values and outputs, a failing
gate's worst datapoints) and prints the report sizes::

    python benchmarks/bench_engine_reports.py 1e6 1e7
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    """Time judging and the reports at each size."""
    import yaml
    from bench_engine import GATES
    from make_engine_runs import make

    from pytest_runcompare import pipeline
    from pytest_runcompare.config import parse_gates
    from pytest_runcompare.engine import engine_source, open_comparison
    from pytest_runcompare.render.engine_report import write_engine_reports

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=lambda s: int(float(s)))
    args = parser.parse_args()
    config = parse_gates(yaml.safe_load(GATES))
    request = pipeline.build_request(config)
    for n in args.sizes:
        root = make(n)
        start = time.perf_counter()
        view = open_comparison(
            engine_source(str(root / "baseline"), {"engine": "duckdb"}),
            engine_source(str(root / "candidate"), {"engine": "duckdb"}),
            config,
        )
        judgement = pipeline.judge_engine(view, request)
        judged = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            out = pipeline.Outputs(
                html=Path(tmp) / "r.html", markdown=Path(tmp) / "r.md"
            )
            start = time.perf_counter()
            html, md = write_engine_reports(view, judgement, out)
            reports = time.perf_counter() - start
            sizes = f"{html.stat().st_size:,} B HTML, {md.stat().st_size:,} B Markdown"
        print(
            f"duckdb  n = {n:>11,}: judged in {judged:6.1f} s, HTML + Markdown "
            f"in {reports:5.1f} s ({sizes})"
        )


if __name__ == "__main__":
    main()
