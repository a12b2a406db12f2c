"""The paper's metric: where the ground truth lands when a pool of samples is ranked.

For one query and one ground-truth sample, ``rank`` is one plus the number of other candidates
ranked above it (candidates scoring the same count half, so ties cost what a random order
would), and the normalised rank is ``rank / N`` over a pool of ``N``: 1/N when the truth comes
first, about 0.5 for a random order (Lattner 2022, equation 8). A query with several ground
truths (a song plays a drum's velocity layers, or two hi-hats) scores the mean of their
normalised ranks, each counted among the candidates that are not ground truths: a random order
still scores about 0.5, and a model must place every one of them high.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def normalized_rank(scores: np.ndarray, truth: Iterable[int]) -> float:
    """``scores`` of the ``N`` pool samples for one query (higher fits better) and the indices of
    its ground-truth samples -> the mean of their ranks over ``N``, each among the candidates
    that are not ground truths."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.unique(np.fromiter(truth, dtype=np.int64))
    if scores.ndim != 1 or not len(scores) or not len(truth):
        raise ValueError("need a 1-d score per pool sample and at least one ground-truth index")
    others = np.ones(len(scores), dtype=bool)
    others[truth] = False
    rest = np.sort(scores[others])
    above = len(rest) - np.searchsorted(rest, scores[truth], side="right")
    tied = np.searchsorted(rest, scores[truth], side="right") - np.searchsorted(rest, scores[truth], side="left")
    return float(np.mean((1 + above + tied / 2) / len(scores)))


def summarise(ranks: Iterable[float]) -> dict[str, float]:
    """Mean and median normalised rank, and the count of queries."""
    values = np.fromiter(ranks, dtype=np.float64)
    if not len(values):
        return {"mean": float("nan"), "median": float("nan"), "queries": 0}
    return {
        "mean": round(float(values.mean()), 4),
        "median": round(float(np.median(values)), 4),
        "queries": len(values),
    }
