#!/usr/bin/python3
"""scikit-learn baselines on the exact cross-validation folds StreamMl used, for any CSV file.

`streamml train --spec SPEC --folds-out FOLDS.csv` writes the fold (0..k-1) of every training row by its file line
(held-out rows get -1). This script reads the same data file and the same folds and reports, per model, the mean and
standard deviation over folds of ROC AUC (binary) or RMSE (regression), with wall and CPU seconds: scikit-learn's
logistic (or linear) regression, random forest and histogram gradient boosting (text columns as native categories).

    /usr/bin/python3 scripts/sklearn_baseline.py --data ../shared/data/credit_default/UCI_Credit_Card.csv \\
        --target default.payment.next.month --id ID --folds credit-folds.csv
    /usr/bin/python3 scripts/sklearn_baseline.py --data ../shared/data/california_housing/housing.csv \\
        --target median_house_value --task regression --folds housing-folds.csv
    /usr/bin/python3 scripts/sklearn_baseline.py --data churn.csv --target Churn --positive Yes --id customerID \\
        --folds churn-folds.csv --models hgb --threads 1

    /usr/bin/python3 scripts/sklearn_baseline.py --data ../shared/data/california_housing/housing.csv \\
        --target median_house_value --task regression --folds housing-folds.csv --models hgb \\
        --derive "rooms_per_household=total_rooms / households" --derive "bedrooms_per_room=total_bedrooms / total_rooms" \\
        --derive "people_per_household=population / households"

--derive NAME=EXPR adds a column the way a spec's `derive:` does (one operation `a op b`, op + - * / with spaces
around it, a and b columns or numbers, computed in float32; a result that is not finite is missing), so both sides
learn from the same derived features. The older form `sklearn_baseline.py credit|housing DATA FOLDS` still works. Set --threads 1 (or OMP_NUM_THREADS=1)
for single-threaded timings. Uses Debian's python3-sklearn and python3-pandas.
"""
import argparse
import os
import sys
import time

PRESETS = {
    "credit": dict(target="default.payment.next.month", ids=["ID"], task="binary", positive=None),
    "housing": dict(target="median_house_value", ids=[], task="regression", positive=None),
}


def parse():
    argv = sys.argv[1:]
    if argv and argv[0] in PRESETS and len(argv) >= 3:
        preset = PRESETS[argv[0]]
        argv = ["--data", argv[1], "--folds", argv[2], "--target", preset["target"], "--task", preset["task"]] \
            + sum((["--id", i] for i in preset["ids"]), []) + argv[3:]
    parser = argparse.ArgumentParser(description="scikit-learn baselines on StreamMl's folds")
    parser.add_argument("--data", required=True, help="CSV file with a header row")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--folds", required=True, help="the file `streamml train --folds-out` wrote (line,fold)")
    parser.add_argument("--task", choices=["binary", "regression"], default="binary")
    parser.add_argument("--positive", help="the positive class of a binary target (default: the larger value)")
    parser.add_argument("--id", action="append", default=[], help="a column that is not a feature (repeatable)")
    parser.add_argument("--models", default="lr,rf,hgb", help="comma-separated: lr, rf, hgb (default all)")
    parser.add_argument("--threads", type=int, help="threads (sets OMP_NUM_THREADS and n_jobs)")
    parser.add_argument("--derive", action="append", default=[], metavar="NAME=EXPR",
                        help="a derived column 'name=a op b' as in a spec's derive: (repeatable)")
    return parser.parse_args(argv)


args = parse()
if args.threads:
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402  (after OMP_NUM_THREADS is set)
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,  # noqa: E402
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import mean_squared_error, roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: E402


def load():
    frame = pd.read_csv(args.data)
    for column in [args.target, *args.id]:
        if column not in frame.columns:
            sys.exit(f"{args.data}: no column '{column}'; the columns are: {', '.join(frame.columns)}")
    # File line of each data row: the header is line 1.
    frame["__line"] = np.arange(2, len(frame) + 2)
    folds = pd.read_csv(args.folds)
    frame = frame.merge(folds, left_on="__line", right_on="line", how="inner")
    frame = frame[frame["fold"] >= 0]
    target = frame[args.target]
    if args.task == "binary":
        values = sorted(target.dropna().unique(), key=lambda v: (isinstance(v, str), v))
        positive = args.positive if args.positive is not None else values[-1]
        y = (target.astype(str) == str(positive)).to_numpy(dtype=int)
    else:
        y = target.to_numpy(dtype=float)
    x = frame.drop(columns=[args.target, *args.id, "__line", "line", "fold"])
    for definition in args.derive:
        name, _, expression = definition.partition("=")
        x[name.strip()] = derive(x, expression)
    return x, y, frame["fold"].to_numpy()


def derive(x, expression):
    """`a op b` over float32 columns or numbers; results that are not finite become NaN (missing), as in StreamMl."""
    tokens = expression.split()
    if len(tokens) != 3 or tokens[1] not in "+-*/":
        sys.exit(f"--derive: '{expression}' is not one operation 'a op b' with spaces around op (+ - * /)")

    def operand(token):
        try:
            return np.float32(float(token))
        except ValueError:
            if token not in x.columns:
                sys.exit(f"--derive: '{token}' is not a column; the columns are: {', '.join(x.columns)}")
            return x[token].to_numpy(dtype=np.float32)

    a, b = operand(tokens[0]), operand(tokens[2])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[tokens[1]](a, b)
    return np.where(np.isfinite(value), value, np.nan).astype(np.float32)


def models(x):
    text = [c for c in x.columns if x[c].dtype == object]
    numbers = [c for c in x.columns if c not in text]
    jobs = args.threads or 2
    binary = args.task == "binary"

    def one_hot(model, scale):
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
        return make_pipeline(ColumnTransformer([
            ("numbers", make_pipeline(*steps), numbers),
            ("text", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), text),
        ]), model)

    def hist():
        # Text as native categories: ordinal codes (unknown and missing -> NaN) flagged as categorical.
        encode = ColumnTransformer([
            ("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan), text),
            ("numbers", "passthrough", numbers),
        ])
        mask = [True] * len(text) + [False] * len(numbers)
        boost = (HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor)(
            random_state=0, categorical_features=mask if text else None)
        return make_pipeline(encode, boost)

    every = {
        "lr": ("logistic regression" if binary else "linear regression",
               lambda: one_hot(LogisticRegression(max_iter=2000) if binary else LinearRegression(), scale=True)),
        "rf": ("random forest (500 trees)", lambda: one_hot(
            RandomForestClassifier(n_estimators=500, min_samples_leaf=5, n_jobs=jobs, random_state=0) if binary
            else RandomForestRegressor(n_estimators=500, n_jobs=jobs, random_state=0), scale=False)),
        "hgb": ("hist gradient boosting", hist),
    }
    return [every[m] for m in args.models.split(",")]


def main():
    x, y, fold = load()
    k = fold.max() + 1
    metric = "roc_auc" if args.task == "binary" else "rmse"
    print(f"{args.data}: {len(y)} training rows, {x.shape[1]} input columns, {k} folds from {args.folds}")
    for name, make in models(x):
        scores, iterations = [], []
        wall, cpu = time.time(), time.process_time()
        for f in range(k):
            train, test = fold != f, fold == f
            model = make().fit(x[train], y[train])
            last = model[-1] if hasattr(model, "__getitem__") else model
            if hasattr(last, "n_iter_") and np.ndim(last.n_iter_) == 0:
                iterations.append(int(last.n_iter_))
            if args.task == "binary":
                scores.append(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
            else:
                scores.append(mean_squared_error(y[test], model.predict(x[test])) ** 0.5)
        extra = f" | iterations {iterations}" if iterations else ""
        print(f"| {name} | {metric} {np.mean(scores):.4f} ± {np.std(scores, ddof=1):.4f} | {time.time() - wall:.1f} s wall | "
              f"{time.process_time() - cpu:.2f} s CPU{extra} |")


if __name__ == "__main__":
    main()
