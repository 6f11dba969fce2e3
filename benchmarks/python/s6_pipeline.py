#!/usr/bin/env python3
"""S6 peer: the credit pipeline as a Python user writes it today.

Usage: s6_pipeline.py TRAIN_CSV SCORE_CSV [ITERATIONS]

Setup (not timed): read TRAIN_CSV, fit SimpleImputer(median) + RobustScaler and a HistGradientBoostingClassifier
(ITERATIONS boosting iterations, default 100, 31 leaves), keep the scaled training matrix as the drift reference.
Timed: read SCORE_CSV with pandas, impute, scale, predict_proba, and scipy's ks_2samp of every feature against the
reference. Prints one JSON line: rows, seconds (timed part only), bytes of the scored file, drifted features.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import RobustScaler

LABEL = "default.payment.next.month"


def features(frame):
    return frame.drop(columns=["ID", LABEL])


def main():
    train_path, score_path = sys.argv[1], sys.argv[2]
    iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    train = pd.read_csv(train_path)
    imputer = SimpleImputer(strategy="median").fit(features(train))
    scaler = RobustScaler().fit(imputer.transform(features(train)))
    reference = scaler.transform(imputer.transform(features(train)))
    model = HistGradientBoostingClassifier(max_iter=iterations, max_leaf_nodes=31, random_state=0).fit(reference, train[LABEL])

    start = time.perf_counter()
    frame = pd.read_csv(score_path)
    matrix = scaler.transform(imputer.transform(features(frame)))
    scores = model.predict_proba(matrix)[:, 1]
    drifted = sum(1 for j in range(matrix.shape[1]) if ks_2samp(reference[:, j], matrix[:, j]).pvalue < 0.01)
    seconds = time.perf_counter() - start

    print(json.dumps({"rows": int(len(frame)), "seconds": seconds, "bytes": os.path.getsize(score_path),
                      "mean_score": float(np.mean(scores)), "drifted": drifted}))


if __name__ == "__main__":
    main()
