"""The one-shot classifier: names, the fallback rule and its file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.errors import BadModelError
from mtk.rank_samples.classify import NAME_FALLBACK_BELOW, ShotClassifier, class_from_name, features, fit

SR = 44_100


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        ("kits/808/BD_01.wav", "kick"),
        ("Kick Hard.wav", "kick"),
        ("snare-rimshot-3.aiff", "snare"),
        ("loops/SD 2.wav", "snare"),
        ("hihat_open.wav", "hihat"),
        ("OHH-1.flac", "hihat"),
        ("Ride Bell.wav", "ride"),
        ("china 18in.wav", "crash"),
        ("floor-tom.wav", "toms"),
        ("samples/toms/01.wav", "toms"),  # the folder names it
        ("Bass Guitar.wav", None),  # "bass" alone is no kick
        ("sticky.wav", None),  # a word that merely starts like one
        ("cowbell.wav", None),
    ],
)
def test_class_from_name(path: str, cls: str | None) -> None:
    assert class_from_name(path) == cls


def _shots(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Low decaying sines (kicks) and short bright noises (hats), some loud, some soft."""
    feats, labels = [], []
    t = np.arange(int(0.5 * SR)) / SR
    for i in range(12):
        gain = 0.2 + 0.06 * i
        kick = gain * np.sin(2 * np.pi * (45 + 3 * i) * t) * np.exp(-t * (8 + i))
        hat = gain * np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t * (60 + 5 * i))
        feats += [features(kick.astype(np.float32), SR), features(hat.astype(np.float32), SR)]
        labels += ["kick", "hihat"]
    return np.stack(feats), labels


def test_fit_learns_separable_classes_and_round_trips(tmp_path: Path) -> None:
    feats, labels = _shots(np.random.default_rng(0))
    model = fit(feats, labels)
    assert model.classes == ("kick", "hihat")
    assert [model.classes[i] for i in model.probabilities(feats).argmax(axis=1)] == labels
    path = tmp_path / "c.npz"
    path.write_bytes(model.to_bytes())
    back = ShotClassifier.from_npz(path)
    np.testing.assert_allclose(back.probabilities(feats), model.probabilities(feats), atol=1e-6)
    (tmp_path / "bad.npz").write_bytes(b"not a classifier")
    with pytest.raises(BadModelError):
        ShotClassifier.from_npz(tmp_path / "bad.npz")


def test_the_name_decides_only_when_the_audio_is_unsure() -> None:
    feats, labels = _shots(np.random.default_rng(1))
    model = fit(feats, labels)
    t = np.arange(int(0.5 * SR)) / SR
    kick = (0.5 * np.sin(2 * np.pi * 50 * t) * np.exp(-t * 10)).astype(np.float32)
    assert model.classify(kick, SR, "hh-01.wav")[0] == "kick"  # sure: the audio wins over the name
    unsure = ShotClassifier(model.classes, model.mean, model.scale, model.coef * 0, model.intercept * 0)
    cls, p, by = unsure.classify(kick, SR, "hh-01.wav")
    assert (cls, by) == ("hihat", "name") and p == pytest.approx(0.5) and p < NAME_FALLBACK_BELOW
    assert unsure.classify(kick, SR, "untitled.wav")[2] == "audio"
