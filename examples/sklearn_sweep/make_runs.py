"""Write a baseline and a hyperparameter sweep of a scikit-learn classifier as runs.

The dataset is scikit-learn's bundled handwritten digits (no download), split in half
as in ``examples/sklearn_classifier``. The baseline is a logistic regression with the
default regularisation (``C=1``) on standardised pixels; the sweep trains the same
model over a grid, ``C`` in {0.01, 0.1, 1, 10} x the pixel scaler in {standard,
minmax}, and writes each candidate as a native run folder ``runs/sweep/<label>/``
(``c0.01-minmax``, ...) with its hyperparameters in the run's params. Each datapoint
records the predicted digit, whether it was right and the log loss of the true class.

The runs are written without the machine's lineage (no git commit, creation time or
package versions, which change with every checkout): the same code and libraries
give the same bytes on every run of this script.

    python make_runs.py            # writes runs/baseline and runs/sweep/*
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from pytest_runcompare import RunWriter

HERE = Path(__file__).parent
SEED = 0
GRID_C = (0.01, 0.1, 1.0, 10.0)
SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}
BASELINE = {"C": 1.0, "scaler": "standard"}


def label(C: float, scaler: str) -> str:
    """A candidate's folder name: ``c0.01-minmax``."""
    return f"c{C:g}-{scaler}"


def split() -> tuple[Any, Any, Any, Any, Any]:
    """The held-out half of the digits, the same split as sklearn_classifier's."""
    digits = load_digits()
    x_train, x_test, y_train, y_test, _, idx_test = train_test_split(
        digits.data,
        digits.target,
        np.arange(len(digits.target)),
        test_size=0.5,
        random_state=SEED,
        stratify=digits.target,
    )
    return x_train, x_test, y_train, y_test, idx_test


def evaluate(out: Path, *, name: str, C: float, scaler: str) -> tuple[float, float]:
    """Train, score the held-out half, write the run at ``out``; (accuracy, log loss)."""
    x_train, x_test, y_train, y_test, idx_test = split()
    model = make_pipeline(
        SCALERS[scaler](), LogisticRegression(C=C, max_iter=2000, random_state=SEED)
    )
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)
    predicted = proba.argmax(axis=1)
    losses = []
    with RunWriter(
        out,
        name=name,
        params={"model": "LogisticRegression", "C": C, "scaler": scaler},
        seed=SEED,
        data_version="sklearn-digits/test-split-seed0",
        metric_definitions={
            "correct": {"higher_is_better": True, "kind": "binary"},
            "log_loss": {"higher_is_better": False},
        },
        capture_lineage=False,  # byte-identical runs (see the module's docstring)
    ) as writer:
        for row, (i, truth) in enumerate(zip(idx_test, y_test, strict=True)):
            loss = round(-float(np.log(max(float(proba[row, truth]), 1e-15))), 6)
            losses.append(loss)
            writer.add(
                id=f"digit-{i}",
                expected=str(truth),
                output=str(predicted[row]),
                metrics={"correct": bool(predicted[row] == truth), "log_loss": loss},
                slices=[f"digit:{truth}"],
            )
    return float(np.mean(predicted == y_test)), float(np.mean(losses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "runs")
    args = parser.parse_args()
    sweep = args.out / "sweep"
    if sweep.exists():  # a grid that shrank leaves no stale candidate behind
        shutil.rmtree(sweep)
    rows = [("baseline", *evaluate(args.out / "baseline", name="baseline", **BASELINE))]
    for C in GRID_C:
        for scaler in SCALERS:
            name = label(C, scaler)
            rows.append((name, *evaluate(sweep / name, name=name, C=C, scaler=scaler)))
    print(f"{'run':16}  accuracy  log loss")
    for name, accuracy, loss in rows:
        print(f"{name:16}  {accuracy:8.4f}  {loss:8.4f}")


if __name__ == "__main__":
    main()
