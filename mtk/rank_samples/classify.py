"""Which drum a one-shot is: kick, snare, hi-hat, toms, crash, ride or other.

A small classifier over summary features of the sound (what makes the classes apart: where
the energy sits, how noisy it is, how fast it decays): the mean and spread of 20 MFCCs, the
spectral centroid, bandwidth, roll-off and flatness, the zero-crossing rate and the decay time,
all over the first second after the onset. A multinomial logistic regression (scikit-learn's,
fitted by :func:`fit`) maps them to the seven classes; its coefficients ship as plain arrays,
so classifying needs numpy and librosa only. When it is unsure (the best class below
:data:`NAME_FALLBACK_BELOW`), a class named in the file or folder name decides instead
(``kick``, ``bd``, ``snare``, ``hh``, ``ride``, ``crash``, ``tom``...): producers name their
samples, and a name is right far more often than an unsure guess.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.styles import STEM_CLASSES, stem_class
from mtk.errors import BadModelError

CLASSES = STEM_CLASSES  # kick, snare, hihat, toms, crash, ride, other
FEATURE_SR = 22_050
FEATURE_SECONDS = 1.0
NAME_FALLBACK_BELOW = 0.6

# Whole words (or word starts) in a sample's path that name a class; checked in this order,
# the file name before its folders.
_NAMES = (
    ("hihat", r"hi[-_ ]?hats?|hh|chh|ohh|hat|hats|pedal[-_ ]?hh"),
    ("ride", r"rides?|rd|bell"),
    ("crash", r"crash(es)?|cr|china|splash|cymbals?|cym"),
    ("toms", r"toms?|floor[-_ ]?tom|ft|lt|mt|ht|tom\d*"),
    ("snare", r"snares?|sn|sd|snr|rim(shot)?|side[-_ ]?stick|clap"),
    ("kick", r"kicks?|bd|bass[-_ ]?drum|kck|kik"),
)
_NAME_RES = [(cls, re.compile(rf"(?:^|[^a-z])(?:{words})(?:$|[^a-z])")) for cls, words in _NAMES]


def class_from_name(path: str | Path) -> str | None:
    """The class a sample's file name (else its nearest folder that names one) says, or None."""
    parts = Path(path).with_suffix("").parts[::-1]
    for part in parts[:3]:
        text = part.lower()
        for cls, pattern in _NAME_RES:
            if pattern.search(text):
                return cls
    return None


def features(shot: np.ndarray, sr: int) -> np.ndarray:
    """Summary features of a one-shot that starts at its onset (any rate; read at 22.05 kHz)."""
    import librosa

    y = librosa.resample(np.asarray(shot, np.float32), orig_sr=sr, target_sr=FEATURE_SR) if sr != FEATURE_SR else shot
    y = np.asarray(y[: int(FEATURE_SECONDS * FEATURE_SR)], np.float32)
    y = np.pad(y, (0, max(0, 2048 - len(y))))
    peak = float(np.abs(y).max()) or 1.0
    y = y / peak
    spec = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=FEATURE_SR, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-10), n_mfcc=20)
    mag = np.sqrt(spec)
    centroid = librosa.feature.spectral_centroid(S=mag, sr=FEATURE_SR)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=mag, sr=FEATURE_SR)[0]
    rolloff = librosa.feature.spectral_rolloff(S=mag, sr=FEATURE_SR)[0]
    flatness = librosa.feature.spectral_flatness(S=mag)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=1024, hop_length=256)[0]
    energy = spec.sum(axis=0)
    weights = energy / (energy.sum() + 1e-12)  # spectral statistics weighted by frame energy
    envelope_db = 10 * np.log10(energy / (energy.max() + 1e-12) + 1e-10)
    decay = float(np.argmax(np.append(envelope_db[int(np.argmax(energy)) :] < -20, True))) * 256 / FEATURE_SR
    stats = [
        np.log(np.average(centroid, weights=weights) + 1.0),
        np.log(np.average(bandwidth, weights=weights) + 1.0),
        np.log(np.average(rolloff, weights=weights) + 1.0),
        np.log(np.average(flatness, weights=weights) + 1e-6),
        np.average(zcr[: len(weights)], weights=weights[: len(zcr)]),
        np.log(decay + 0.01),
    ]
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), stats]).astype(np.float32)


@dataclass(frozen=True)
class ShotClassifier:
    """Standardisation and a multinomial logistic regression over :func:`features`."""

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        """``(n, features)`` -> ``(n, classes)``."""
        logits = ((np.atleast_2d(feats) - self.mean) / self.scale) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def classify(self, shot: np.ndarray, sr: int, path: str | Path | None = None) -> tuple[str, float, str]:
        """``(class, probability, by)`` of a one-shot: by ``audio``, or ``name`` when the audio
        is unsure and the path names a class."""
        p = self.probabilities(features(shot, sr))[0]
        best = int(np.argmax(p))
        if p[best] < NAME_FALLBACK_BELOW and path is not None:
            named = class_from_name(path)
            if named is not None:
                return named, float(p[self.classes.index(named)]), "name"
        return self.classes[best], float(p[best]), "audio"

    def to_bytes(self) -> bytes:
        """An ``.npz`` (no pickle) of the arrays and the class names."""
        buf = io.BytesIO()
        np.savez(
            buf,
            classes=np.frombuffer(json.dumps(list(self.classes)).encode(), np.uint8),
            mean=self.mean,
            scale=self.scale,
            coef=self.coef,
            intercept=self.intercept,
        )
        return buf.getvalue()

    @classmethod
    def from_npz(cls, path: str | Path) -> ShotClassifier:
        try:
            with np.load(path, allow_pickle=False) as z:
                classes = tuple(json.loads(z["classes"].tobytes()))
                arrays = {k: z[k].astype(np.float64) for k in ("mean", "scale", "coef", "intercept")}
        except (OSError, ValueError, KeyError) as exc:
            raise BadModelError(f"{path}: not a one-shot classifier ({exc})") from None
        if not set(classes) <= set(STEM_CLASSES) or arrays["coef"].shape != (len(classes), len(arrays["mean"])):
            raise BadModelError(f"{path}: not a one-shot classifier (classes {classes})")
        return cls(classes, **arrays)


def fit(feats: np.ndarray, labels: list[str], *, c: float = 1.0, seed: int = 0) -> ShotClassifier:
    """Fit a :class:`ShotClassifier` (scikit-learn's logistic regression, classes balanced)."""
    from sklearn.linear_model import LogisticRegression

    classes = tuple(c for c in STEM_CLASSES if c in set(labels))
    mean, scale = feats.mean(axis=0), feats.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=seed)
    model.fit((feats - mean) / scale, [classes.index(label) for label in labels])
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # scikit-learn's one logit for two classes: softmax of (0, logit) is its sigmoid
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return ShotClassifier(classes, mean, scale, coef, intercept)


def labelled_shots(oneshots: str | Path) -> list[tuple[Path, str, str]]:
    """``(file, class, kit)`` of every sound of a ``mtk corpus oneshots`` export, each file once."""
    from mtk.corpus.oneshots import read_index

    seen: dict[Path, tuple[Path, str, str]] = {}
    for r in read_index(oneshots):
        path = Path(oneshots) / r["file"]
        seen.setdefault(path, (path, stem_class(r["class"]), r["kit"]))
    return list(seen.values())


def train_classifier(
    oneshots: str | Path, *, exclude_kits: set[str] = frozenset(), folds: int = 5, progress: Any = None
) -> tuple[ShotClassifier, dict[str, Any]]:
    """Fit the classifier on an export's sounds (but ``exclude_kits`` and their variant kits)
    and measure it by ``folds``-fold cross-validation grouped by kit (every kit unseen when it
    is scored; a variant kit, ``mtk corpus oneshots --variants``, in its kit's group)."""
    import soundfile as sf
    from sklearn.model_selection import GroupKFold

    from mtk.corpus.oneshots import variant_base
    from mtk.errors import InputError
    from mtk.rank_samples.infer import shot_wave

    shots = [s for s in labelled_shots(oneshots) if variant_base(s[2]) not in exclude_kits]
    if len({variant_base(kit) for *_, kit in shots}) < folds:
        raise InputError(f"{oneshots}: fewer than {folds} kits to learn the classes from")
    feats = []
    for path, _, _ in progress(shots) if progress else shots:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
        feats.append(features(shot_wave(y.mean(axis=1)), sr))
    x, labels, kits = np.stack(feats), [c for _, c, _ in shots], [variant_base(k) for *_, k in shots]
    right: dict[str, list[bool]] = {}
    for train, test in GroupKFold(folds).split(x, labels, kits):
        model = fit(x[train], [labels[i] for i in train])
        predicted = model.probabilities(x[test]).argmax(axis=1)
        for i, p in zip(test, predicted, strict=True):
            right.setdefault(labels[i], []).append(model.classes[p] == labels[i])
    every = [r for rs in right.values() for r in rs]
    report = {
        "samples": len(shots),
        "kits": len(set(kits)),
        "cv_accuracy": round(float(np.mean(every)), 4),
        "cv_by_class": {c: round(float(np.mean(right[c])), 4) for c in STEM_CLASSES if c in right},
    }
    return fit(x, labels), report
