"""Time the default gates on 1,000,000 paired datapoints x 20 metrics.

Mixed metrics: 10 binary (Tango, margin 0.01), 9 continuous means (paired t,
relative margin 2%) and one p95 latency (Bahadur, lower is better). The paired
data are built once; the first time printed is for evaluating all 20 gates on
them. The second is the path the plugin takes: the same columns as two real runs
(ids shuffled in the candidate, so the join has work to do), ``compare_runs``, and
all 20 gates judged through it.

Run: /work/venv/bin/python benchmarks/bench_gates.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pytest_runcompare.comparison import PairedMetric, compare_runs
from pytest_runcompare.judge import Gate, judge_gates
from pytest_runcompare.runs import (
    Datapoints,
    MetricColumn,
    MetricDefinition,
    Run,
    RunMeta,
)

N = 1_000_000  # --n changes it (the test suite runs this script small)


class PairedData:
    """A comparison-shaped object over in-memory paired columns."""

    def __init__(self, columns: dict[str, tuple[np.ndarray, np.ndarray, bool, bool]]):
        self.columns = columns
        self.ids = np.array([f"dp{i}" for i in range(N)], dtype=object)
        self.n_common = N

    def paired(self, metric, *, slice=None, step=None):
        base, cand, boolean, hib = self.columns[metric]
        return PairedMetric.from_arrays(
            metric, base, cand, higher_is_better=hib, boolean=boolean, ids=self.ids
        )


def make_data(rng: np.random.Generator) -> tuple[PairedData, list[Gate]]:
    columns = {}
    gates = []
    for k in range(10):
        base = rng.random(N) < 0.8
        flip = rng.random(N) < 0.05
        cand = np.where(flip, ~base, base)
        columns[f"acc{k}"] = (base.astype(float), cand.astype(float), True, True)
        gates.append(Gate(f"acc{k}", margin=0.01))
    for k in range(9):
        base = rng.normal(0.5, 0.1, N)
        cand = base + rng.normal(0, 0.05, N)
        columns[f"score{k}"] = (base, cand, False, True)
        gates.append(Gate(f"score{k}", margin="2%"))
    base = rng.lognormal(5, 0.5, N)
    columns["latency"] = (base, base * rng.lognormal(0, 0.1, N), False, False)
    gates.append(Gate("latency", aggregate="p95", margin="5%"))
    return PairedData(columns), gates


def main(argv: list[str] | None = None) -> None:
    global N
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=N, help="paired datapoints")
    N = parser.parse_args(argv).n
    data, gates = make_data(np.random.default_rng(0))
    judge_gates(data, gates[:2])  # warm-up: imports, scipy distribution objects
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        summary = judge_gates(data, gates)
        best = min(best, time.perf_counter() - t0)
    kinds = sorted({v.test for v in summary.verdicts})
    print(
        f"{len(gates)} default gates on {N:,} paired datapoints: {best:.3f} s "
        f"(best of 3); tests: {', '.join(kinds)}"
    )
    print(summary.text)
    for v in summary.verdicts[::5]:
        print(" ", v.text)
    baseline, candidate = as_runs(data)
    t0 = time.perf_counter()
    real = compare_runs(baseline, candidate)
    summary_real = judge_gates(real, gates)
    elapsed = time.perf_counter() - t0
    print(
        f"through compare_runs on two runs of {N:,} datapoints (join + pairing + "
        f"gates): {elapsed:.3f} s"
    )
    same = [
        (a.outcome, round(a.estimate, 12)) == (b.outcome, round(b.estimate, 12))
        for a, b in zip(summary.verdicts, summary_real.verdicts, strict=True)
    ]
    print(f"verdicts equal to the in-memory ones: {all(same)}")


def as_runs(data: PairedData) -> tuple[Run, Run]:
    """The paired columns as two runs; the candidate's datapoints in another order."""
    order = np.random.default_rng(1).permutation(N)
    ids = [f"dp{i}" for i in range(N)]
    runs = []
    for role, perm in (("baseline", np.arange(N)), ("candidate", order)):
        metrics = {}
        definitions = {}
        for name, (base, cand, boolean, hib) in data.columns.items():
            values = (base if role == "baseline" else cand)[perm]
            metrics[name] = MetricColumn(
                values=np.ascontiguousarray(values),
                present=np.ones(N, dtype=np.bool_),
                boolean=boolean,
            )
            definitions[name] = MetricDefinition(higher_is_better=hib)
        table = Datapoints(
            ids=[ids[i] for i in perm], outputs=[None] * N, metrics=metrics
        )
        meta = RunMeta(name=role, metric_definitions=definitions)
        runs.append(Run(meta=meta, datapoints=table))
    return runs[0], runs[1]


if __name__ == "__main__":
    main()
