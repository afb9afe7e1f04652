"""Write a baseline and a candidate evaluation run of a scikit-learn classifier.

The dataset is scikit-learn's bundled handwritten digits (no download). The baseline
is a logistic regression with the default regularisation; the candidate changes ``C``,
the kind of change a pull request makes. Each datapoint records the predicted digit,
whether it was right, the probability given to the true class, and the log loss.

    python make_runs.py            # writes runs/baseline and runs/candidate
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pytest_runcompare import RunWriter

HERE = Path(__file__).parent
SEED = 0


def evaluate(out: Path, *, name: str, C: float) -> None:
    digits = load_digits()
    x_train, x_test, y_train, y_test, _, idx_test = train_test_split(
        digits.data,
        digits.target,
        np.arange(len(digits.target)),
        test_size=0.5,
        random_state=SEED,
        stratify=digits.target,
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)
    predicted = proba.argmax(axis=1)
    with RunWriter(
        out,
        name=name,
        params={"model": "LogisticRegression", "C": C, "max_iter": 2000},
        seed=SEED,
        data_version="sklearn-digits/test-split-seed0",
        metric_definitions={
            "correct": {"higher_is_better": True, "kind": "binary"},
            "p_true": {"higher_is_better": True},
            "log_loss": {"higher_is_better": False},
        },
        packages=["scikit-learn"],
    ) as writer:
        for row, (i, truth) in enumerate(zip(idx_test, y_test, strict=True)):
            p_true = float(proba[row, truth])
            writer.add(
                id=f"digit-{i}",
                input=f"8x8 image #{i}",
                expected=str(truth),
                output=str(predicted[row]),
                metrics={
                    "correct": bool(predicted[row] == truth),
                    "p_true": round(p_true, 6),
                    "log_loss": round(-float(np.log(max(p_true, 1e-15))), 6),
                },
                slices=[f"digit:{truth}", "even" if truth % 2 == 0 else "odd"],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "runs")
    parser.add_argument("--candidate-C", type=float, default=0.5)
    args = parser.parse_args()
    evaluate(args.out / "baseline", name="baseline (C=1.0)", C=1.0)
    evaluate(
        args.out / "candidate",
        name=f"candidate (C={args.candidate_C})",
        C=args.candidate_C,
    )


if __name__ == "__main__":
    main()
