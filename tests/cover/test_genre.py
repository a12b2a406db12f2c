"""The genre classifier's features, training and scores, with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.cover.genre import (
    SUMMARY_NAMES,
    FitOptions,
    confusion,
    fit_mlp,
    middle,
    predict,
    scores,
    summary_features,
)
from mtk.cover.model import GenreConfig

SR = 22_050


def test_summary_features_of_known_signals() -> None:
    t = np.arange(10 * SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 441.0 * t)
    clicks = np.zeros_like(t)  # 20-ms noise bursts, 120 a minute
    burst = np.random.default_rng(0).standard_normal(SR // 50)
    for start in range(0, t.size - burst.size, SR // 2):
        clicks[start : start + burst.size] = burst
    feats = dict(zip(SUMMARY_NAMES, summary_features(tone + 0.5 * clicks, SR), strict=True))
    assert len(SUMMARY_NAMES) == 57 and len(set(SUMMARY_NAMES)) == 57
    assert feats["tempo"] == pytest.approx(120.0, rel=0.05)
    quiet = dict(zip(SUMMARY_NAMES, summary_features(tone, SR), strict=True))
    assert quiet["zero_crossing_rate_mean"] == pytest.approx(2 * 441.0 / SR, rel=0.05)  # two crossings a period
    assert quiet["spectral_centroid_mean"] == pytest.approx(441.0, rel=0.1)
    assert quiet["rms_mean"] == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert feats["perceptr_var"] > 10 * quiet["perceptr_var"]  # the bursts are the percussive part
    assert feats["harmony_var"] == pytest.approx(quiet["harmony_var"], rel=0.3)


def test_middle_takes_the_centre() -> None:
    y = np.arange(100)
    assert middle(y, 1, 10).tolist() == list(range(45, 55))
    assert middle(y, 1, 200).tolist() == list(range(100))


def test_mlp_learns_separable_genres_and_keeps_the_best_valid_epoch() -> None:
    rng = np.random.default_rng(0)
    genres = ("rock", "swing", "folk")
    centres = rng.standard_normal((3, 16)) * 3

    def draw(n: int) -> tuple[np.ndarray, list[str]]:
        labels = rng.integers(0, 3, n)
        return centres[labels] + rng.standard_normal((n, 16)), [genres[i] for i in labels]

    x, y = draw(90)
    xv, yv = draw(30)
    xt, yt = draw(60)
    cfg = GenreConfig(inputs=16, hidden=8, dropout=0.0, genres=genres)
    model, log = fit_mlp(cfg, x + 100.0, y, FitOptions(epochs=60, lr=1e-2), valid=(xv + 100.0, yv))
    assert scores(yt, predict(model, xt + 100.0))["accuracy"] >= 0.95  # standardised inside: an offset is no matter
    assert max(r["valid_accuracy"] for r in log) == pytest.approx(1.0) and len(log) == 10


def test_scores_and_confusion() -> None:
    truth = ["rock", "rock", "rock", "folk"]
    guess = ["rock", "folk", "rock", "folk"]
    table = confusion(truth, guess, ("rock", "folk", "swing"))
    assert table == {"rock": {"rock": 2, "folk": 1, "swing": 0}, "folk": {"rock": 0, "folk": 1, "swing": 0}}
    s = scores(truth, guess, ("rock", "folk", "swing"))
    assert s["accuracy"] == 0.75 and s["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
