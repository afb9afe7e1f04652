"""Write a baseline and a candidate evaluation run of a scikit-learn classifier.

The dataset is scikit-learn's bundled handwritten digits (no download). The baseline
is a logistic regression with the default regularisation; the candidate changes ``C``,
the kind of change a pull request makes. Each datapoint records the predicted digit,
whether it was right, the probability given to the true class, and the log loss.

A third run, ``runs/candidate_regressed``, is the same candidate trained after a
data-cleaning step that drops 90% of the training images of one digit (3): overall
accuracy drops by two points, but the 3s fall from 94% to 73%. It is the bundled
example of a real regression, the kind that hides in one slice.

    python make_runs.py            # writes runs/baseline, candidate, candidate_regressed
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
#: the digit whose training images the regressed candidate mostly loses
DROPPED_DIGIT = 3
#: the share of that digit's training images the regressed candidate keeps
KEPT_SHARE = 0.1


def evaluate(out: Path, *, name: str, C: float, drop_digit: int | None = None) -> None:
    """Train, score the held-out half and write the run at ``out``.

    ``drop_digit``: train without 90% of that digit's images (a regression in a slice).
    """
    digits = load_digits()
    x_train, x_test, y_train, y_test, _, idx_test = train_test_split(
        digits.data,
        digits.target,
        np.arange(len(digits.target)),
        test_size=0.5,
        random_state=SEED,
        stratify=digits.target,
    )
    params: dict[str, object] = {
        "model": "LogisticRegression",
        "C": C,
        "max_iter": 2000,
    }
    if drop_digit is not None:
        rng = np.random.default_rng(SEED)
        keep = (y_train != drop_digit) | (rng.random(len(y_train)) < KEPT_SHARE)
        x_train, y_train = x_train[keep], y_train[keep]
        params["train_filter"] = f"kept {KEPT_SHARE:.0%} of digit {drop_digit}"
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)
    predicted = proba.argmax(axis=1)
    with RunWriter(
        out,
        name=name,
        params=params,
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
    parser.add_argument(
        "--only",
        choices=("baseline", "candidate", "candidate_regressed"),
        action="append",
        help="write only these runs (repeatable; default: all three)",
    )
    args = parser.parse_args()
    wanted = set(args.only or ("baseline", "candidate", "candidate_regressed"))
    if "baseline" in wanted:
        evaluate(args.out / "baseline", name="baseline (C=1.0)", C=1.0)
    if "candidate" in wanted:
        evaluate(
            args.out / "candidate",
            name=f"candidate (C={args.candidate_C})",
            C=args.candidate_C,
        )
    if "candidate_regressed" in wanted:
        evaluate(
            args.out / "candidate_regressed",
            name=f"candidate (C={args.candidate_C}, fewer {DROPPED_DIGIT}s)",
            C=args.candidate_C,
            drop_digit=DROPPED_DIGIT,
        )


if __name__ == "__main__":
    main()
