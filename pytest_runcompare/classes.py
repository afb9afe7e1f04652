"""Classification views of two runs: confusion matrices and per-class P/R/F1.

When the paired datapoints' outputs and expected values are labels (see
:func:`detect`), the report shows each run's confusion matrix (rows = expected,
columns = predicted), their difference, and per class the precision, recall and F1
of each run with the change (candidate − baseline) and a paired bootstrap interval.
The classes form a warn-only family like the slices: a class is flagged when "its
F1 got worse" survives Benjamini–Hochberg across the classes (docs/statistics.md
§12). numpy (and scipy, for the adjustment) are imported by the functions that
need them.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_runcompare import limits, text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pytest_runcompare.comparison import RunComparisonResult
    from pytest_runcompare.pipeline import Judgement

#: Longest text that counts as a label (longer outputs are free text).
MAX_LABEL_CHARS = 64
#: Bootstrap resamples of the per-class intervals and p-values.
DEFAULT_RESAMPLES = 2000
#: Fewest resamples drawn, however many distinct cells the datapoints fall in.
MIN_RESAMPLES = 200
#: Most (resample × distinct cell) draws one view may take: the work is bounded.
MAX_WORK = 20_000_000
#: Most (resample × cell) entries held in memory at once.
_CHUNK = 4_000_000
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Change:
    """One score of both runs, the change (candidate − baseline) and its interval.

    NaN where the score is undefined (no datapoint predicted or expected the class,
    or too few resamples where it is defined in both runs for an interval).
    """

    baseline: float
    candidate: float
    delta: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float | None]:
        """Plain values, NaN as ``None``."""
        return {
            "baseline": _plain(self.baseline),
            "candidate": _plain(self.candidate),
            "delta": _plain(self.delta),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
        }


@dataclass(frozen=True, slots=True)
class ClassScores:
    """One class: its support, P/R/F1 of both runs, and the F1 family's flag.

    ``p_value`` is the one-sided bootstrap p-value of "the candidate's F1 on this
    class is worse"; ``p_adjusted`` its Benjamini–Hochberg adjustment across the
    classes; ``flagged`` whether that is at most the family's alpha.
    """

    label: str
    support: int
    precision: Change
    recall: Change
    f1: Change
    p_value: float
    p_adjusted: float
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "label": self.label,
            "support": self.support,
            "precision": self.precision.to_dict(),
            "recall": self.recall.to_dict(),
            "f1": self.f1.to_dict(),
            "p_value": _plain(self.p_value),
            "p_adjusted": _plain(self.p_adjusted),
            "flagged": self.flagged,
        }


@dataclass(frozen=True, slots=True)
class ClassReport:
    """Both runs' confusion matrices and per-class scores on the paired datapoints.

    Matrices are indexed ``[expected][predicted]`` in the order of ``labels``.
    ``n`` counts the datapoints in the matrices; ``n_left_out`` the paired ones
    without an expected value or an output in either run.
    """

    labels: tuple[str, ...]
    n: int
    n_left_out: int
    baseline_matrix: tuple[tuple[int, ...], ...]
    candidate_matrix: tuple[tuple[int, ...], ...]
    classes: tuple[ClassScores, ...]
    macro_f1: Change
    confidence_level: float
    alpha: float
    n_resamples: int
    seed: int

    @property
    def difference(self) -> tuple[tuple[int, ...], ...]:
        """Candidate − baseline, cell by cell."""
        return tuple(
            tuple(c - b for b, c in zip(rb, rc, strict=True))
            for rb, rc in zip(self.baseline_matrix, self.candidate_matrix, strict=True)
        )

    @property
    def flagged(self) -> tuple[ClassScores, ...]:
        """The classes whose F1 got worse beyond noise, after the family's adjustment."""
        return tuple(c for c in self.classes if c.flagged)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the JSON report."""
        return {
            "labels": list(self.labels),
            "n": self.n,
            "n_left_out": self.n_left_out,
            "baseline_matrix": [list(r) for r in self.baseline_matrix],
            "candidate_matrix": [list(r) for r in self.candidate_matrix],
            "difference": [list(r) for r in self.difference],
            "classes": [c.to_dict() for c in self.classes],
            "macro_f1": self.macro_f1.to_dict(),
            "confidence_level": self.confidence_level,
            "alpha": self.alpha,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "interval": "paired percentile bootstrap over datapoints",
            "family": "one-sided p of 'F1 worse', Benjamini-Hochberg across classes",
        }


def _plain(x: float) -> float | None:
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------- detection
def label_text(value: object) -> str | None:
    """The label ``value`` stands for, or ``None`` when it is not a label.

    A label is an ``int`` (shown as its decimal text, so ``3`` and ``"3"`` are one
    class), a ``bool`` (``true``/``false``) or a ``str`` of 1 to
    :data:`MAX_LABEL_CHARS` characters on one line. Floats, containers, empty or
    long or multi-line text are not labels.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not value or len(value) > MAX_LABEL_CHARS or _LINE_BREAK.search(value):
            return None
        return value
    return None


@dataclass(frozen=True, slots=True)
class Labels:
    """Paired labels as class codes, or why the datapoints are not classification."""

    labels: tuple[str, ...] = ()
    expected: tuple[int, ...] = ()
    baseline: tuple[int, ...] = ()
    candidate: tuple[int, ...] = ()
    n_left_out: int = 0
    reason: str | None = None


def _sort_key(label: str) -> tuple[int, int, str]:
    if _INTEGER.fullmatch(label):
        return (0, int(label), label)
    return (1, 0, label)


def detect(
    expected: Sequence[object],
    baseline: Sequence[object],
    candidate: Sequence[object],
) -> Labels:
    """Whether paired datapoints are classification-style, and their class codes.

    The rule (README, docs/statistics.md §12): leave out the datapoints without an
    expected value or without an output in either run (``None``); the rest must all
    be labels (:func:`label_text`), there must be at least one, and the distinct
    labels of the expected values and both runs' outputs together must number
    between 2 and ``limits.CLASSES`` (50 by default). Anything else is not
    classification, and ``reason`` says why.
    """
    if not len(expected) == len(baseline) == len(candidate):
        raise ValueError(
            f"expected, baseline and candidate must be aligned, got lengths "
            f"{len(expected)}, {len(baseline)} and {len(candidate)}"
        )
    cap = limits.CLASSES.value
    codes: dict[str, int] = {}
    # Raw value -> code, keyed with the type (True == 1 but they are apart until
    # label_text says what each reads as): a million datapoints hold few values.
    seen: dict[tuple[type, object], int] = {}
    rows: list[tuple[int, int, int]] = []
    left_out = 0
    roles = ("expected", "baseline", "candidate")
    for n, values in enumerate(zip(expected, baseline, candidate, strict=True)):
        if values[0] is None or values[1] is None or values[2] is None:
            left_out += 1
            continue
        triple = []
        for role, value in zip(roles, values, strict=True):
            key = (type(value), value)
            try:
                code = seen.get(key)
            except TypeError:  # unhashable: a list or a mapping, not a label
                code = None
            if code is None:
                shown = label_text(value)
                if shown is None:
                    return Labels(
                        reason=f"the {role} value of paired datapoint {n + 1} is "
                        f"not a label ({type(value).__name__})",
                        n_left_out=left_out,
                    )
                code = codes.setdefault(shown, len(codes))
                if len(codes) > cap:
                    return Labels(
                        reason=f"more than {cap} distinct labels (raise "
                        f"{limits.CLASSES.variable} for more classes)",
                        n_left_out=left_out,
                    )
                seen[key] = code
            triple.append(code)
        rows.append((triple[0], triple[1], triple[2]))
    if not rows:
        return Labels(reason="no paired datapoint has labels", n_left_out=left_out)
    if len(codes) < 2:
        return Labels(reason="one label only", n_left_out=left_out)
    order = sorted(codes, key=_sort_key)
    remap = {codes[label]: k for k, label in enumerate(order)}
    return Labels(
        labels=tuple(order),
        expected=tuple(remap[r[0]] for r in rows),
        baseline=tuple(remap[r[1]] for r in rows),
        candidate=tuple(remap[r[2]] for r in rows),
        n_left_out=left_out,
    )


# --------------------------------------------------------------------------- scores
def confusion(
    expected: npt.NDArray[np.intp], predicted: npt.NDArray[np.intp], k: int
) -> npt.NDArray[np.int64]:
    """The ``k × k`` confusion matrix, rows = expected, columns = predicted."""
    import numpy as np

    flat = np.bincount(expected * k + predicted, minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def scores(
    tp: npt.NDArray[np.float64],
    predicted: npt.NDArray[np.float64],
    support: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Precision, recall and F1 from counts (any shape), NaN where undefined.

    F1 is ``2·TP / (predicted + support)``, the harmonic mean of precision and
    recall, defined (0) also when one of them is undefined but the class occurs.
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        both = predicted + support
        f1 = np.where(both > 0, 2 * tp / both, np.nan)
    return precision, recall, f1


def _interval(
    draws: npt.NDArray[np.float64], level: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Percentile interval per column over the finite draws (NaN if under half are)."""
    import numpy as np

    k = draws.shape[1]
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    qs = [(1 - level) / 2, (1 + level) / 2]
    for j in range(k):
        column = draws[:, j]
        finite = column[np.isfinite(column)]
        if finite.size * 2 >= column.size and finite.size:
            low[j], high[j] = np.quantile(finite, qs)
    return low, high


def _p_worse(draws: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """One-sided p of "worse", inverting the percentile interval: (#{Δ* ≥ 0}+1)/(B+1)."""
    import numpy as np

    k = draws.shape[1]
    out = np.full(k, np.nan)
    for j in range(k):
        column = draws[:, j]
        finite = column[np.isfinite(column)]
        if finite.size * 2 >= column.size and finite.size:
            out[j] = (np.count_nonzero(finite >= 0) + 1) / (finite.size + 1)
    return out


def resamples_for(cells: int, n_resamples: int = DEFAULT_RESAMPLES) -> int:
    """Resamples drawn over ``cells`` distinct cells, bounded in work.

    Fewer when the work would pass :data:`MAX_WORK`, never below
    :data:`MIN_RESAMPLES`.
    """
    if cells * n_resamples <= MAX_WORK:
        return n_resamples
    return max(MIN_RESAMPLES, MAX_WORK // max(cells, 1))


def class_report(
    labels: Labels,
    *,
    seed: int = 0,
    alpha: float = 0.05,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> ClassReport:
    """Confusion matrices, per-class P/R/F1, changes, intervals and the family's flags.

    The interval is a paired percentile bootstrap over datapoints at confidence
    ``1 − 2·alpha`` (the gates' two-sided level): a resample draws ``n`` datapoints
    with replacement, the same ones for both runs. It is drawn as a multinomial over
    the distinct (expected, baseline, candidate) cells, equivalent to resampling
    datapoints and vectorised: the work is resamples × cells, bounded by
    :data:`MAX_WORK`. The rng is ``numpy.random.default_rng(seed)``.
    """
    import numpy as np
    import scipy.sparse

    from pytest_runcompare.stats.multiplicity import adjust

    if labels.reason is not None:
        raise ValueError(f"not classification-style datapoints: {labels.reason}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples!r}")
    k = len(labels.labels)
    y = np.asarray(labels.expected, dtype=np.intp)
    b = np.asarray(labels.baseline, dtype=np.intp)
    c = np.asarray(labels.candidate, dtype=np.intp)
    n = int(y.size)
    level = 1 - 2 * alpha
    m_base, m_cand = confusion(y, b, k), confusion(y, c, k)

    def point(m: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], ...]:
        tp = np.diag(m).astype(np.float64)
        return scores(tp, m.sum(axis=0).astype(np.float64), m.sum(axis=1) * 1.0)

    pb, pc = point(m_base), point(m_cand)
    # The distinct cells and, per cell, its indicator of each count (5 per class).
    code, weight = np.unique((y * k + b) * k + c, return_counts=True)
    yc, bc, cc = code // (k * k), (code // k) % k, code % k
    cells = int(code.size)
    # Per cell, the column of each count it adds to (5 per class: baseline TP and
    # predicted, candidate TP and predicted, support); sparse, at most 5 per cell.
    rows_of = np.arange(cells)
    tp_b, tp_c = yc == bc, yc == cc
    design = scipy.sparse.csr_array(
        (
            np.ones(int(tp_b.sum() + tp_c.sum()) + 3 * cells),
            (
                np.concatenate(
                    [rows_of[tp_b], rows_of, rows_of[tp_c], rows_of, rows_of]
                ),
                np.concatenate(
                    [yc[tp_b], k + bc, 2 * k + yc[tp_c], 3 * k + cc, 4 * k + yc]
                ),
            ),
        ),
        shape=(cells, 5 * k),
    )
    design_t = design.T.tocsr()
    total = resamples_for(cells, n_resamples)
    rng = np.random.default_rng(seed)
    freq = weight / weight.sum()
    deltas = {name: np.empty((total, k)) for name in ("precision", "recall", "f1")}
    macro = np.empty(total)
    step = max(1, _CHUNK // cells)
    for start in range(0, total, step):
        size = min(step, total - start)
        draws = rng.multinomial(n, freq, size=size).astype(np.float64)
        counts = np.asarray((design_t @ draws.T).T)
        tb, nb, tc, nc, sup = (counts[:, j * k : (j + 1) * k] for j in range(5))
        sb, sc = scores(tb, nb, sup), scores(tc, nc, sup)
        for name, vb, vc in zip(("precision", "recall", "f1"), sb, sc, strict=True):
            deltas[name][start : start + size] = vc - vb
        with np.errstate(invalid="ignore"):
            macro[start : start + size] = _nanmean(sc[2]) - _nanmean(sb[2])
    changes: dict[str, list[Change]] = {}
    for j, name in enumerate(("precision", "recall", "f1")):
        low, high = _interval(deltas[name], level)
        changes[name] = [
            Change(
                baseline=float(pb[j][i]),
                candidate=float(pc[j][i]),
                delta=float(pc[j][i] - pb[j][i]),
                ci_low=float(low[i]),
                ci_high=float(high[i]),
            )
            for i in range(k)
        ]
    p = _p_worse(deltas["f1"])
    finite = np.flatnonzero(np.isfinite(p))
    p_adj = np.full(k, np.nan)
    if finite.size:
        p_adj[finite] = adjust(p[finite], "bh")
    macro_low, macro_high = _interval(macro[:, None], level)
    mb, mc = _nanmean(pb[2][None, :])[0], _nanmean(pc[2][None, :])[0]
    classes = tuple(
        ClassScores(
            label=labels.labels[i],
            support=int(m_base[i].sum()),
            precision=changes["precision"][i],
            recall=changes["recall"][i],
            f1=changes["f1"][i],
            p_value=float(p[i]),
            p_adjusted=float(p_adj[i]),
            flagged=bool(np.isfinite(p_adj[i]) and p_adj[i] <= alpha),
        )
        for i in range(k)
    )
    return ClassReport(
        labels=labels.labels,
        n=n,
        n_left_out=labels.n_left_out,
        baseline_matrix=tuple(tuple(int(x) for x in row) for row in m_base),
        candidate_matrix=tuple(tuple(int(x) for x in row) for row in m_cand),
        classes=classes,
        macro_f1=Change(
            baseline=float(mb),
            candidate=float(mc),
            delta=float(mc - mb),
            ci_low=float(macro_low[0]),
            ci_high=float(macro_high[0]),
        ),
        confidence_level=level,
        alpha=alpha,
        n_resamples=total,
        seed=seed,
    )


def _nanmean(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row means over the defined entries (NaN for a row with none), no warning."""
    import numpy as np

    defined = np.isfinite(x)
    count = defined.sum(axis=1)
    total = np.where(defined, x, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: npt.NDArray[np.float64] = np.where(count > 0, total / count, np.nan)
    return out


# --------------------------------------------------------------------------- a comparison
def family_alpha(judgement: Judgement) -> float:
    """The level of the warn-only family (its gates' alpha), else the default 0.05."""
    for result in (*judgement.warn_only, *judgement.results):
        return float(result.verdict.gate.alpha)
    return 0.05


def paired_labels(comparison: RunComparisonResult) -> Labels:
    """The paired datapoints' labels: expected from the baseline, else the candidate.

    A datapoint whose expected value differs between the runs is left out (its
    ground truth changed: it cannot say which run is right).
    """
    base, cand = comparison.baseline.datapoints, comparison.candidate.datapoints
    eb, ec = base.expected, cand.expected
    expected: list[object] = []
    outputs_b: list[object] = []
    outputs_c: list[object] = []
    for _, i, j in comparison.iter_pairs():
        want_b = None if eb is None else eb[i]
        want_c = None if ec is None else ec[j]
        if want_b is not None and want_c is not None and want_b != want_c:
            want = None
        else:
            want = want_b if want_b is not None else want_c
        expected.append(want)
        outputs_b.append(base.outputs[i])
        outputs_c.append(cand.outputs[j])
    return detect(expected, outputs_b, outputs_c)


def for_comparison(
    comparison: RunComparisonResult,
    judgement: Judgement,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> ClassReport | None:
    """The classification view of a judged comparison, or ``None`` if not classification.

    Seeded with the session's seed; the family level is :func:`family_alpha`.
    """
    if comparison.baseline.datapoints.expected is None and (
        comparison.candidate.datapoints.expected is None
    ):
        return None
    labels = paired_labels(comparison)
    if labels.reason is not None:
        return None
    return class_report(
        labels,
        seed=judgement.seed,
        alpha=family_alpha(judgement),
        n_resamples=n_resamples,
    )


# --------------------------------------------------------------------------- the report
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[int, float], ClassReport | None]] = (
    weakref.WeakKeyDictionary()
)


def cached(comparison: RunComparisonResult, judgement: Judgement) -> ClassReport | None:
    """:func:`for_comparison`, computed once per comparison, seed and level.

    Every face (HTML, Markdown, JSON) shows the same view; the bootstrap is drawn
    once for them all.
    """
    key = (judgement.seed, family_alpha(judgement))
    try:
        per = _CACHE.setdefault(comparison, {})
    except TypeError:  # a comparison that takes no weak reference: not cached
        return for_comparison(comparison, judgement)
    if key not in per:
        per[key] = for_comparison(comparison, judgement)
    return per[key]


def _fixed(x: float, *, sign: bool = False) -> str:
    shown = text.fixed(x, 3, sign=sign, missing="—")
    return shown.replace("-", "\u2212", 1) if shown.startswith("-") else shown


def _trend(x: float) -> str:
    if not math.isfinite(x) or abs(x) < 1e-12:
        return "same"
    return "better" if x > 0 else "worse"


def _change_view(c: Change) -> dict[str, Any]:
    interval = (
        "—"
        if not (math.isfinite(c.ci_low) and math.isfinite(c.ci_high))
        else f"[{_fixed(c.ci_low, sign=True)}, {_fixed(c.ci_high, sign=True)}]"
    )
    return {
        "old": _fixed(c.baseline),
        "new": _fixed(c.candidate),
        "change": _fixed(c.delta, sign=True),
        "interval": interval,
        "trend": _trend(c.delta),
        "delta": _plain(c.delta),
    }


def _shade(count: int, peak: int, levels: int) -> int:
    """A shading level 0..levels: 0 for nothing, else by share of the peak."""
    if count == 0 or peak == 0:
        return 0
    return max(1, min(levels, math.ceil(levels * abs(count) / peak)))


def view(report: ClassReport) -> dict[str, Any]:
    """The report's plain values: matrices with shading levels, the per-class table.

    Difference cells carry a tone: more on the diagonal (right) or less off it
    (fewer confusions) is ``better``; the opposite ``worse``.
    """
    k = len(report.labels)

    def matrix(m: tuple[tuple[int, ...], ...], role: str) -> dict[str, Any]:
        peak = max((x for row in m for x in row), default=0)
        rows = [
            {
                "label": report.labels[i],
                "total": sum(m[i]),
                "cells": [
                    {"n": m[i][j], "q": _shade(m[i][j], peak, 6), "diag": i == j}
                    for j in range(k)
                ],
            }
            for i in range(k)
        ]
        return {
            "role": role,
            "rows": rows,
            "totals": [sum(r[j] for r in m) for j in range(k)],
        }

    diff = report.difference
    peak = max((abs(x) for row in diff for x in row), default=0)
    diff_rows = []
    for i in range(k):
        cells = []
        for j in range(k):
            d = diff[i][j]
            better = d > 0 if i == j else d < 0
            cells.append(
                {
                    "n": d,
                    "text": f"{d:+d}".replace("-", "\u2212") if d else "0",
                    "tone": "same" if d == 0 else ("better" if better else "worse"),
                    "q": _shade(d, peak, 4),
                    "diag": i == j,
                }
            )
        diff_rows.append({"label": report.labels[i], "cells": cells})
    classes = [
        {
            "label": c.label,
            "support": c.support,
            "precision": _change_view(c.precision),
            "recall": _change_view(c.recall),
            "f1": _change_view(c.f1),
            "p_value": text.p_value(c.p_value, missing="—"),
            "p_adjusted": text.p_value(c.p_adjusted, missing="—"),
            "p_sort": _plain(c.p_adjusted),
            "flagged": c.flagged,
        }
        for c in report.classes
    ]
    return {
        "labels": list(report.labels),
        "n": report.n,
        "n_left_out": report.n_left_out,
        "matrices": [
            matrix(report.baseline_matrix, "baseline"),
            matrix(report.candidate_matrix, "candidate"),
        ],
        "difference": diff_rows,
        "classes": classes,
        "macro_f1": _change_view(report.macro_f1),
        "confidence": f"{report.confidence_level:.0%}",
        "alpha": report.alpha,
        "n_resamples": report.n_resamples,
        "seed": report.seed,
        "n_flagged": len(report.flagged),
    }


def report_view(
    comparison: RunComparisonResult, judgement: Judgement
) -> dict[str, Any] | None:
    """:func:`view` of the comparison's classification view, or ``None``."""
    report = cached(comparison, judgement)
    return None if report is None else view(report)
