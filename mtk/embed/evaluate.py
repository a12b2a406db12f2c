"""``mtk eval embed``: frozen embeddings, the paper's probe, the seed's baselines, one run.

Every method turns a recording into one vector (mean over its patches; the baselines:
MFCC or chroma means and standard deviations, the same network with random weights). Tasks:

- corpus (songs of ``mtk corpus songs --artists``): style (multi-class), GM instrument
  families present (multi-label, macro ROC-AUC), meter and tempo class; the probe is fitted on
  the train split (the embedding saw those songs, never their labels) and scored on the test
  split (held-out works, artists, soundfonts and kits);
- real music (a catalogue's ``test`` split: artists never trained on): release and artist
  identification (stratified k-fold within the held-out tracks; accuracy, and balanced
  accuracy, since one artist may hold most tracks), and same-release retrieval by cosine
  among all held-out tracks (MAP, P@1).

The probe is the paper's: standardised inputs, an MLP with one hidden layer of 512 units
(scikit-learn's ``MLPClassifier``, Adam, L2 1e-4), fixed settings (nothing is tuned on test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TEMPO_CLASSES = ((0.0, "slow"), (95.0, "moderate"), (125.0, "fast"))  # bpm at or above which each starts
BASELINES = ("mfcc", "chroma", "random")
PROBE_SEED = 0


@dataclass(frozen=True)
class Song:
    path: str
    split: str
    style: str
    families: frozenset[str]
    meter: str
    tempo: str


def tempo_class(bpm: float) -> str:
    return [name for edge, name in TEMPO_CLASSES if bpm >= edge][-1]


def corpus_songs(corpus: str | Path) -> list[Song]:
    """The probe labels of a song corpus: style, GM families (program // 8, and drums), meter, tempo class."""
    from pretty_midi import program_to_instrument_class

    from mtk.corpus.reader import song_metas

    out = []
    for folder, meta in song_metas(corpus, need=("split",)):
        programs = meta.get("programs", {})
        families = {program_to_instrument_class(int(p)) for part, p in programs.items() if part != "drums"}
        if "drums" in meta.get("parts", []):
            families.add("drums")
        out.append(
            Song(
                str(folder / "mix.wav"),
                str(meta["split"]),
                str(meta.get("style", "")),
                frozenset(families),
                str(meta.get("meter", "")),
                tempo_class(float(meta.get("tempo", 0.0))),
            )
        )
    return out


def cached(method: str, features: Callable[[str], np.ndarray]) -> Callable[[str], np.ndarray]:
    """``features`` cached by file content under ``$MTK_CACHE_DIR/embed/vectors/<method>``
    (float32: a re-run of the evaluation computes no vector twice)."""
    from mtk.io.cache import ContentCache
    from mtk.weights.store import cache_dir

    store = ContentCache(cache_dir() / "embed" / "vectors" / method, dtype=np.float32)
    return lambda path: store.get(path, features)


def stats_features(kind: str) -> Callable[[str], np.ndarray]:
    """A baseline's vector of a file: MFCC (20) or chroma (12) means and standard deviations (librosa)."""

    def features(path: str) -> np.ndarray:
        import librosa

        from mtk.io.audio import read_audio

        y, sr = read_audio(path, sr=22050, mono=True)
        if kind == "mfcc":
            frames = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
        else:
            frames = librosa.feature.chroma_stft(y=y, sr=sr)
        return np.concatenate([frames.mean(axis=1), frames.std(axis=1)]).astype(np.float32)

    return cached(f"{kind}-v1", features)


def probe_model() -> Any:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    class Probe(MLPClassifier):  # a fixed 400 epochs by design: not converging is no news
        def fit(self, x: Any, y: Any) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return super().fit(x, y)

    return make_pipeline(
        StandardScaler(), Probe(hidden_layer_sizes=(512,), alpha=1e-4, max_iter=400, random_state=PROBE_SEED)
    )


def probe_accuracy(x_train: np.ndarray, y_train: Sequence[str], x_test: np.ndarray, y_test: Sequence[str]) -> float:
    """Accuracy of the probe fitted on train; test items of classes train lacks count as errors."""
    probe = probe_model().fit(x_train, list(y_train))
    return float(np.mean(probe.predict(x_test) == np.asarray(y_test)))


def probe_multilabel_auc(
    x_train: np.ndarray, y_train: Sequence[frozenset[str]], x_test: np.ndarray, y_test: Sequence[frozenset[str]]
) -> float:
    """Macro ROC-AUC over the labels present and absent in both splits."""
    from sklearn.metrics import roc_auc_score

    labels = sorted(
        label
        for label in set().union(*y_train)
        if 0 < sum(label in y for y in y_train) < len(y_train) and 0 < sum(label in y for y in y_test) < len(y_test)
    )
    yt = np.array([[label in y for label in labels] for y in y_train], dtype=int)
    ye = np.array([[label in y for label in labels] for y in y_test], dtype=int)
    probe = probe_model().fit(x_train, yt)
    scores = probe.predict_proba(x_test)
    return float(roc_auc_score(ye, scores, average="macro"))


def cv_accuracy(x: np.ndarray, y: Sequence[str], *, folds: int = 5) -> tuple[float, float, int]:
    """Stratified k-fold accuracy and balanced accuracy (the mean recall per class: a class
    that holds most items cannot carry it) of the probe over the classes with at least two
    items (``folds`` capped by the smallest class); returns (accuracy, balanced, items scored)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    counts = Counter(y)
    keep = np.array([counts[c] >= 2 for c in y])
    xs, ys = x[keep], np.asarray(y)[keep]
    if len(set(ys)) < 2:
        return float("nan"), float("nan"), 0
    k = min(folds, min(Counter(ys).values()))
    predicted = np.empty_like(ys)
    for train, test in StratifiedKFold(k, shuffle=True, random_state=PROBE_SEED).split(xs, ys):
        predicted[test] = probe_model().fit(xs[train], ys[train]).predict(xs[test])
    return float(np.mean(predicted == ys)), float(balanced_accuracy_score(ys, predicted)), len(ys)


def retrieval(x: np.ndarray, groups: Sequence[str]) -> dict[str, float]:
    """MAP and P@1 of same-group items by cosine, each item a query against all others (queries
    whose group has no other member are skipped)."""
    from mtk.embed.index import unit

    u = unit(np.asarray(x, dtype=np.float32))
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    groups_arr = np.asarray(groups)
    aps, p1 = [], []
    for i in range(len(u)):
        relevant = groups_arr == groups_arr[i]
        relevant[i] = False
        if not relevant.any():
            continue
        order = np.argsort(-sims[i], kind="stable")[:-1]
        hits = relevant[order]
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        p1.append(float(hits[0]))
    return {"map": float(np.mean(aps)), "p_at_1": float(np.mean(p1)), "queries": len(aps)}


def corpus_scores(train: np.ndarray, test: np.ndarray, songs_train: list[Song], songs_test: list[Song]) -> dict:
    out: dict[str, float] = {}
    for task in ("style", "meter", "tempo"):
        out[task] = probe_accuracy(
            train, [getattr(s, task) for s in songs_train], test, [getattr(s, task) for s in songs_test]
        )
    out["instruments_auc"] = probe_multilabel_auc(
        train, [s.families for s in songs_train], test, [s.families for s in songs_test]
    )
    return out


def real_scores(x: np.ndarray, releases: Sequence[str], artists: Sequence[str]) -> dict[str, float]:
    release_acc, release_bacc, n_release = cv_accuracy(x, releases)
    artist_acc, artist_bacc, n_artist = cv_accuracy(x, artists)
    found = retrieval(x, releases)
    return {
        "release_acc": release_acc,
        "release_bacc": release_bacc,
        "artist_acc": artist_acc,
        "artist_bacc": artist_bacc,
        "release_map": found["map"],
        "release_p_at_1": found["p_at_1"],
        "release_items": n_release,
        "artist_items": n_artist,
    }


def embedder_features(embedder: Any) -> Callable[[str], np.ndarray]:
    """A model's mean-pooled embedding of a file, from the cached log-mel; a silent file
    (digital zero throughout) is an input error, as in ``Embedder.from_file``."""
    from mtk.embed.data import MelStore
    from mtk.errors import InputError

    store = MelStore()

    def features(path: str) -> np.ndarray:
        mel = store.get(path)
        if not mel.any():
            raise InputError(f"{path}: silent (digital zero throughout): nothing to embed")
        return embedder.from_mel(mel, pool="mean").vectors

    return cached(embedder.key, features) if embedder.key else features


def random_embedder(like: Any) -> Any:
    """The network of ``like`` (an Embedder) with random weights (seed 0): the seed's baseline."""
    import torch

    from mtk.embed.infer import Embedder
    from mtk.embed.model import EmbedModel

    torch.manual_seed(0)
    cfg = like.model.cfg
    key = f"random-{cfg.backbone}-w{cfg.width}-d{cfg.depth}-seed0-torch{torch.__version__}"
    return Embedder(EmbedModel(cfg), name="random", device=like.device, key=key)


def evaluate(
    methods: dict[str, Callable[[str], np.ndarray]],
    *,
    stacks: dict[str, Sequence[str]] | None = None,
    songs: Sequence[Song] = (),
    real: Sequence[Any] = (),
    progress: Callable[[list[str]], Any] = lambda xs: xs,
) -> dict[str, Any]:
    """Scores of every method (name -> vector of a path) and stack (name -> methods whose
    vectors are concatenated) on the corpus songs and the real music entries (catalogue
    :class:`~mtk.embed.associations.Entry` of held-out tracks)."""
    train = [s for s in songs if s.split == "train"]
    test = [s for s in songs if s.split == "test"]
    real = [e for e in real if e.releases or e.artists]
    paths = [s.path for s in (*train, *test)] + [e.path for e in real]
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for name, features in methods.items():
        vectors[name] = {p: features(p) for p in progress(paths)}
    for name, parts in (stacks or {}).items():
        vectors[name] = {p: np.concatenate([vectors[m][p] for m in parts]) for p in paths}
    out: dict[str, Any] = {
        "corpus": {"train": len(train), "test": len(test)},
        "real": {"tracks": len(real), "releases": len({min(e.releases) for e in real if e.releases})},
        "methods": {},
    }
    for name, table in vectors.items():
        scores: dict[str, float] = {}
        if train and test:
            scores.update(
                corpus_scores(
                    np.stack([table[s.path] for s in train]), np.stack([table[s.path] for s in test]), train, test
                )
            )
        if len(real) > 2:
            x = np.stack([table[e.path] for e in real])
            releases = [min(e.releases) if e.releases else f"?{i}" for i, e in enumerate(real)]
            artists = [min(e.artists) if e.artists else f"?{i}" for i, e in enumerate(real)]
            scores.update(real_scores(x, releases, artists))
        out["methods"][name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}
    return out


def table(result: dict[str, Any]) -> str:
    """The scores as a markdown table (one row per method)."""
    methods = result["methods"]
    columns = [c for c in next(iter(methods.values()), {}) if not c.endswith("_items")]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, scores in methods.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores.get(c, float('nan')):.3f}" for c in columns) + " |")
    return "\n".join(lines)
