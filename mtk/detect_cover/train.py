"""Fit the pair-score calibration (``mtk train detect-cover``).

Pairs come from a training corpus built with versions: each song against its stage-1 top
``candidates`` recordings, the pairs stage 2 re-ranks in use; those of the same work are
positives. (Adding positives from outside that list would bias the distance weight.)
A logistic regression of (Qmax, stage-1 distance) gives the probability; the threshold is
the one that maximises F1 on these pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mtk.detect_cover.eval import Item, scored_pairs
from mtk.detect_cover.infer import Calibration


def pair_table(items: list[Item], *, candidates: int = 20, jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(features (n, 2) [qmax, distance], labels (n,))`` for calibration."""
    _, results = scored_pairs(items, rerank=candidates, jobs=jobs)
    rows, labels = [], []
    for res in results:
        top = set(res["order"][:candidates].tolist())
        for i, q in res["qmax"].items():
            if i not in top:
                continue
            rows.append((q, float(res["dist"][i])))
            labels.append(i in res["relevant"])
    return np.array(rows), np.array(labels)


def fit_calibration(features: np.ndarray, labels: np.ndarray, *, name: str) -> tuple[Calibration, dict[str, Any]]:
    """Logistic regression (scikit-learn) and the F1-maximising threshold; returns the scores too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    model = LogisticRegression(C=10.0).fit(features, labels)
    w_qmax, w_dist = (float(w) for w in model.coef_[0])
    cal = Calibration(w_qmax, w_dist, float(model.intercept_[0]), 0.5, name)
    probs = np.array([cal.probability(q, d) for q, d in features])
    grid = np.linspace(0.05, 0.95, 91)
    f1s = [f1_score(labels, probs >= t) for t in grid]
    best = float(grid[int(np.argmax(f1s))])
    cal = Calibration(cal.w_qmax, cal.w_distance, cal.bias, round(best, 3), name)
    scores = {
        "pairs": int(len(labels)),
        "positives": int(labels.sum()),
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "f1": round(float(max(f1s)), 4),
        "threshold": cal.threshold,
    }
    return cal, scores
