"""Which genre a recording is in: the seed's feature baseline and an MLP on ``mtk embed`` vectors.

Genres are the styles of ``mtk corpus songs`` (:data:`mtk.cover.model.GENRES`). Two classifiers:

- the seed's baseline (Oberkofler et al. 2021 after Olteanu's GTZAN features, the paper's
  Appendix A): 57 summary statistics of a 30-second excerpt (:func:`summary_features`: chroma,
  RMS, spectral centroid, bandwidth and roll-off, zero crossings, the harmonic and percussive
  parts of HPSS, tempo, 20 MFCCs; mean and variance of each), classified by a random forest;
- :class:`mtk.cover.model.GenreMLP`: a small MLP on the mean-pooled embedding of ``mtk embed``'s backbone.

Features are computed once per file content and cached (:func:`cached_features`), so a profile
of a music folder computed twice computes nothing the second time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.cover.model import GENRES, GenreConfig, build_mlp

SUMMARY_RATE = 22_050
EXCERPT_SECONDS = 30.0  # GTZAN's clip length: the middle 30 s of a longer file
_SUMMARY = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff", "zero_crossing_rate")
SUMMARY_NAMES: tuple[str, ...] = (
    *(f"{name}_{stat}" for name in (*_SUMMARY, "harmony", "perceptr") for stat in ("mean", "var")),
    "tempo",
    *(f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")),
)


def middle(y: np.ndarray, sr: int, seconds: float = EXCERPT_SECONDS) -> np.ndarray:
    """The middle ``seconds`` of ``y`` (all of it when shorter)."""
    n = int(round(seconds * sr))
    start = max(0, (y.size - n) // 2)
    return y[start : start + n]


def summary_features(y: np.ndarray, sr: int) -> np.ndarray:
    """The seed's 57 summary features of mono ``y`` (its 'length' left out: it says how long a
    file is, not its genre), in :data:`SUMMARY_NAMES` order, with librosa's defaults."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    with warnings.catch_warnings():  # a pure tone leaves librosa's tuning estimate nothing to read
        warnings.simplefilter("ignore", UserWarning)
        chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    frames = {
        "chroma_stft": chroma,
        "rms": librosa.feature.rms(y=y),
        "spectral_centroid": librosa.feature.spectral_centroid(y=y, sr=sr),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(y=y, sr=sr),
        "rolloff": librosa.feature.spectral_rolloff(y=y, sr=sr),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y),
    }
    harmonic, percussive = librosa.effects.hpss(y)
    values = [f(frames[name]) for name in _SUMMARY for f in (np.mean, np.var)]
    values += [f(part) for part in (harmonic, percussive) for f in (np.mean, np.var)]
    tempo = librosa.feature.tempo(y=y, sr=sr)
    values.append(float(np.atleast_1d(tempo)[0]))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    values += [f(row) for row in mfcc for f in (np.mean, np.var)]
    return np.asarray(values, dtype=np.float32)


def file_summary_features(path: str) -> np.ndarray:
    """:func:`summary_features` of the middle 30 s of an audio file (mono, 22.05 kHz)."""
    from mtk.io.audio import read_audio

    y, sr = read_audio(path, sr=SUMMARY_RATE, mono=True)
    return summary_features(middle(y, sr), sr)


def cached_features(method: str, features: Callable[[str], np.ndarray]) -> Callable[[str], np.ndarray]:
    """``features`` of a file, cached by its content under ``$MTK_CACHE_DIR/cover/features/<method>``."""
    from mtk.io.cache import ContentCache
    from mtk.weights.store import cache_dir

    store = ContentCache(cache_dir() / "cover" / "features" / method, dtype=np.float32)
    return lambda path: store.get(path, features)


def summary_extractor() -> Callable[[str], np.ndarray]:
    """The seed's features of a file, cached (the key names the feature set's version)."""
    return cached_features("summary-v1", file_summary_features)


def random_forest(seed: int = 0) -> Any:
    """The seed's baseline classifier: a random forest on the summary features (scikit-learn;
    500 trees, the rest its defaults; trees need no standardising)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=1)


@dataclass
class FitOptions:
    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-2
    seed: int = 0
    device: str = "cpu"


def fit_mlp(
    cfg: GenreConfig,
    x: np.ndarray,
    labels: Sequence[str],
    opts: FitOptions,
    *,
    valid: tuple[np.ndarray, Sequence[str]] | None = None,
) -> tuple[Any, list[dict[str, float]]]:
    """Train on all of ``x`` at once (full-batch AdamW, cross-entropy with class weights that
    balance the genres); with ``valid``, keep the epoch of best validation accuracy. Returns
    the model (eval mode) and one log record per tenth of the epochs."""
    import torch

    torch.manual_seed(opts.seed)
    model = build_mlp(cfg).to(opts.device)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32)).to(opts.device)
    model.mean.copy_(xt.mean(0))
    model.scale.copy_(xt.std(0).clamp(min=1e-6))
    index = {g: i for i, g in enumerate(cfg.genres)}
    yt = torch.tensor([index[g] for g in labels], device=opts.device)
    counts = torch.bincount(yt, minlength=len(cfg.genres)).float()
    weight = torch.where(counts > 0, counts.sum() / (len(cfg.genres) * counts.clamp(min=1)), 0.0)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    best, best_state, log = -1.0, None, []
    for epoch in range(1, opts.epochs + 1):
        model.train()
        loss = loss_fn(model(xt), yt)
        optim.zero_grad()
        loss.backward()
        optim.step()
        record: dict[str, float] = {"epoch": epoch, "loss": round(loss.item(), 5)}
        if valid is not None:
            acc = accuracy(valid[1], predict(model, valid[0]))
            record["valid_accuracy"] = round(acc, 4)
            if acc > best:
                best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
        if epoch % max(1, opts.epochs // 10) == 0 or epoch == opts.epochs:
            log.append(record)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.cpu().eval(), log


def probabilities(model: Any, x: np.ndarray) -> np.ndarray:
    """``(n, genres)`` probabilities of the rows of ``x``."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(np.asarray(x, dtype=np.float32)).to(device))
    return torch.softmax(logits, -1).cpu().numpy()


def predict(model: Any, x: np.ndarray) -> list[str]:
    return [model.cfg.genres[i] for i in probabilities(model, x).argmax(1)]


def accuracy(truth: Sequence[str], guess: Sequence[str]) -> float:
    return float(np.mean([a == b for a, b in zip(truth, guess, strict=True)])) if truth else 0.0


def confusion(truth: Sequence[str], guess: Sequence[str], genres: Sequence[str] = GENRES) -> dict[str, dict[str, int]]:
    """Counts: ``confusion[true genre][guessed genre]`` (genres with no song left out of the rows)."""
    out = {g: dict.fromkeys(genres, 0) for g in genres if g in truth}
    for a, b in zip(truth, guess, strict=True):
        out[a][b] += 1
    return out


def scores(truth: Sequence[str], guess: Sequence[str], genres: Sequence[str] = GENRES) -> dict[str, Any]:
    """Accuracy, balanced accuracy (the mean of per-genre recalls) and the confusion counts."""
    table = confusion(truth, guess, genres)
    recalls = [row[g] / max(1, sum(row.values())) for g, row in table.items()]
    return {
        "songs": len(truth),
        "accuracy": round(accuracy(truth, guess), 4),
        "balanced_accuracy": round(float(np.mean(recalls)) if recalls else 0.0, 4),
        "confusion": table,
    }


def labelled(songs: Sequence[Any], split: str) -> list[Any]:
    """The songs of ``split`` whose style is a genre (``mtk.embed.evaluate.Song`` rows)."""
    return [s for s in songs if s.split == split and s.style in GENRES]


def train_classifier(
    train: Sequence[Any],
    valid: Sequence[Any],
    vectors: Callable[[str], np.ndarray],
    cfg: GenreConfig,
    opts: FitOptions,
) -> tuple[Any, dict[str, Any]]:
    """Fit the MLP on the embeddings of ``train`` songs, the epoch chosen on ``valid``; returns
    the model and its record (songs, the log, validation scores)."""
    if not train or not valid:
        raise ValueError("the genre classifier needs train and valid songs with a style")
    x = np.stack([vectors(s.path) for s in train])
    xv = np.stack([vectors(s.path) for s in valid])
    yv = [s.style for s in valid]
    model, log = fit_mlp(cfg, x, [s.style for s in train], opts, valid=(xv, yv))
    record = {"train": len(train), "valid": len(valid), "log": log, "valid_scores": scores(yv, predict(model, xv))}
    return model, record


def evaluate(
    train: Sequence[Any],
    test: Sequence[Any],
    classifiers: Mapping[str, Any],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Scores on ``test`` songs of each named genre classifier (:class:`mtk.cover.profile.GenreClassifier`)
    and, fitted on ``train`` songs in the same run, the seed's random forest on summary features."""
    summary = summary_extractor()
    truth = [s.style for s in test]
    out: dict[str, Any] = {}
    for name, classifier in classifiers.items():
        vectors = classifier.vectors()
        x = np.stack([vectors(s.path) for s in test])
        guess = [classifier.genres[i] for i in classifier.probabilities(x).argmax(1)]
        out[name] = scores(truth, guess)
    if train:
        forest = random_forest(seed).fit(np.stack([summary(s.path) for s in train]), [s.style for s in train])
        guess = list(forest.predict(np.stack([summary(s.path) for s in test])))
        out["random forest (seed's features)"] = scores(truth, guess) | {"train": len(train)}
    return out


def markdown(result: Mapping[str, Any]) -> str:
    """``mtk eval cover``'s genre scores as tables: one row per classifier, then each confusion."""
    rows = ["| classifier | songs | accuracy | balanced accuracy |", "|---|---:|---:|---:|"]
    for name, s in result["genres"].items():
        rows.append(f"| {name} | {s['songs']} | {s['accuracy']:.3f} | {s['balanced_accuracy']:.3f} |")
    for name, s in result["genres"].items():
        genres = list(next(iter(s["confusion"].values()), {}))
        rows += ["", f"Confusion of {name} (rows: true genre; columns: guessed)", ""]
        rows += ["| | " + " | ".join(genres) + " |", "|---|" + "---:|" * len(genres)]
        rows += [f"| {g} | " + " | ".join(str(row[h]) for h in genres) + " |" for g, row in s["confusion"].items()]
    return "\n".join(rows)
