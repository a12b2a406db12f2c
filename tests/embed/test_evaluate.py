"""The evaluation's pieces on known answers: retrieval, probes, labels, the table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.embed.evaluate import corpus_songs, cv_accuracy, probe_accuracy, retrieval, table, tempo_class


def test_retrieval_map_and_p_at_1_known_values() -> None:
    # a0 and a1 close; b0 between a1 and b1: queries a0 (AP 1), a1 (AP 1), b0 (its partner
    # ranked 2nd: AP 0.5, P@1 0), b1 (AP 1); c alone is skipped.
    x = np.array([[1, 0], [0.95, 0.3], [0.6, 0.8], [0, 1], [-1, 0]], dtype=np.float32)
    found = retrieval(x, ["a", "a", "b", "b", "c"])
    assert found["queries"] == 4
    assert found["map"] == pytest.approx((1 + 1 + 0.5 + 1) / 4) and found["p_at_1"] == pytest.approx(3 / 4)


def test_probes_separate_separable_classes() -> None:
    rng = np.random.default_rng(0)
    centres = {"x": (4, 0), "y": (0, 4), "z": (-4, -4)}
    labels = [c for c in centres for _ in range(12)]
    x = np.array([centres[c] for c in labels]) + rng.normal(0, 0.5, (len(labels), 2))
    assert probe_accuracy(x[::2], labels[::2], x[1::2], labels[1::2]) == 1.0
    acc, balanced, items = cv_accuracy(x, labels + [])
    assert acc == balanced == 1.0 and items == 36
    acc, balanced, items = cv_accuracy(x[:13], labels[:13])  # one "y": too few to score
    assert np.isnan(acc) and items == 0


def test_balanced_accuracy_is_not_carried_by_the_largest_class() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (40, 3))  # no information
    acc, balanced, _ = cv_accuracy(x, ["big"] * 34 + ["small"] * 6)
    assert balanced < acc


def test_tempo_classes_and_corpus_labels(tmp_path: Path) -> None:
    classes = [tempo_class(b) for b in (60, 94.9, 95, 124, 125, 200)]
    assert classes == ["slow", "slow", "moderate", "moderate", "fast", "fast"]
    song = tmp_path / "s1"
    song.mkdir()
    meta = {"split": "test", "style": "funk", "meter": "4/4", "tempo": 100, "parts": ["melody", "bass", "drums"]}
    (song / "meta.json").write_text(json.dumps({**meta, "programs": {"melody": 73, "bass": 33, "drums": 0}}))
    [s] = corpus_songs(tmp_path)
    assert (s.style, s.meter, s.tempo, s.split) == ("funk", "4/4", "moderate", "test")
    assert s.families == {"Pipe", "Bass", "drums"} and s.path == str(song / "mix.wav")


def test_markdown_table() -> None:
    text = table({"methods": {"m": {"style": 0.5, "release_items": 3}, "n": {"style": 0.25, "release_items": 3}}})
    assert text.splitlines() == ["| method | style |", "|---|---|", "| m | 0.500 |", "| n | 0.250 |"]
