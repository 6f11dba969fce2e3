#!/usr/bin/python3
"""scikit-learn baselines on the exact cross-validation folds StreamMl used.

`streamml train --spec SPEC --folds-out FOLDS.csv` writes the fold (0..k-1) of every training row by its file line
(held-out rows get -1). This script reads the same data file and the same folds and reports, per model, the mean and
standard deviation over folds of ROC AUC (binary) or RMSE (regression): scikit-learn's logistic regression, random
forest and histogram gradient boosting.

    /usr/bin/python3 scripts/sklearn_baseline.py credit  ../shared/data/credit_default/UCI_Credit_Card.csv FOLDS.csv
    /usr/bin/python3 scripts/sklearn_baseline.py housing ../shared/data/california_housing/housing.csv FOLDS.csv

Uses Debian's python3-sklearn and python3-pandas (apt-get install -y python3-sklearn python3-pandas).
"""
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(kind, data_path, folds_path):
    frame = pd.read_csv(data_path)
    # File line of each data row: the header is line 1.
    frame["__line"] = np.arange(2, len(frame) + 2)
    folds = pd.read_csv(folds_path)
    frame = frame.merge(folds, left_on="__line", right_on="line", how="inner")
    frame = frame[frame["fold"] >= 0]
    if kind == "credit":
        y = frame["default.payment.next.month"].to_numpy()
        x = frame.drop(columns=["ID", "default.payment.next.month", "__line", "line", "fold"])
    else:
        y = frame["median_house_value"].to_numpy()
        x = frame.drop(columns=["median_house_value", "__line", "line", "fold"])
        x = pd.get_dummies(x, columns=["ocean_proximity"], dtype=float)
    return x.to_numpy(dtype=float), y, frame["fold"].to_numpy()


def models(kind):
    if kind == "credit":
        return {
            "logistic regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            "random forest (500 trees)": lambda: RandomForestClassifier(n_estimators=500, min_samples_leaf=5, n_jobs=2, random_state=0),
            "hist gradient boosting": lambda: HistGradientBoostingClassifier(random_state=0),
        }
    return {
        "linear regression": lambda: make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                                  __import__("sklearn.linear_model").linear_model.LinearRegression()),
        "random forest (500 trees)": lambda: make_pipeline(SimpleImputer(strategy="median"),
                                                         RandomForestRegressor(n_estimators=500, n_jobs=2, random_state=0)),
        "hist gradient boosting": lambda: HistGradientBoostingRegressor(random_state=0),
    }


def main():
    kind, data_path, folds_path = sys.argv[1], sys.argv[2], sys.argv[3]
    x, y, fold = load(kind, data_path, folds_path)
    k = fold.max() + 1
    print(f"{kind}: {len(y)} training rows, {x.shape[1]} features, {k} folds from {folds_path}")
    for name, make in models(kind).items():
        scores = []
        start = time.time()
        for f in range(k):
            train, test = fold != f, fold == f
            model = make().fit(x[train], y[train])
            if kind == "credit":
                scores.append(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
            else:
                scores.append(mean_squared_error(y[test], model.predict(x[test])) ** 0.5)
        metric = "roc_auc" if kind == "credit" else "rmse"
        print(f"| {name} | {metric} {np.mean(scores):.4f} ± {np.std(scores, ddof=1):.4f} | {time.time() - start:.1f} s |")


if __name__ == "__main__":
    main()
