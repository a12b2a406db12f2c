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


def test_a_held_out_kit_takes_its_variants_along(tmp_path: Path) -> None:
    """A variant kit (``mtk corpus oneshots --variants``) is its kit redesigned: held out with
    it, and scored in its kit's cross-validation group, never against its own kit."""
    import json

    import soundfile as sf

    from mtk.rank_samples.classify import train_classifier

    feats_rng, records = np.random.default_rng(0), []
    t = np.arange(int(0.3 * SR)) / SR
    for k in range(6):
        for kit in (f"Kit {k}", f"Kit {k} (variant 1)"):
            kick = 0.5 * np.sin(2 * np.pi * (50 + 4 * k) * t) * np.exp(-t * 10)
            hat = 0.3 * feats_rng.standard_normal(len(t)) * np.exp(-t * (60 + 5 * k))
            for cls, y in (("kick", kick), ("hihat", hat)):
                rel = f"{kit.replace(' ', '-')}/{cls}.wav"
                (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(tmp_path / rel, y.astype(np.float32), SR)
                records.append({"file": rel, "kit": kit, "class": cls, "instrument": cls, "velocity": [0, 127]})
    (tmp_path / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    model, report = train_classifier(tmp_path, exclude_kits={"Kit 5"})
    assert report["samples"] == 20 and report["kits"] == 5  # Kit 5 and its variant out; 5 groups of 2 kits
    assert report["cv_accuracy"] == 1.0 and set(model.classes) == {"kick", "hihat"}
