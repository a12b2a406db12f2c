"""``mtk eval rank-samples``: the paper's protocol for SampleMatch models and the baselines.

Test songs (held-out works) drummed by held-out kits query the pool of every one-shot of those
kits (:mod:`mtk.rank_samples.protocol`). Every method scores every (query, sample) pair:

- a SampleMatch model: the cosine between the query encoder's vector of the 4-second context
  and the sample encoder's vector of the one-shot (as ``mtk rank-samples`` reads it);
- ``random``: uniform random scores (seeded), the 0.5 that any useful method must beat;
- ``embed``: the cosine between ``mtk embed`` vectors (its shipped model) of context and sample;
- ``timbre``: a heuristic without learning: the context's percussive part (librosa's
  harmonic-percussive separation) and the sample are each summarised by the mean and spread of
  20 MFCCs; a sample scores the negative distance between the summaries, standardised over the
  pool.

The shipped one-shot classifier's accuracy on the pool (held-out kits) is reported beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtk.rank_samples.data import Pool, Shot, find_songs
from mtk.rank_samples.frontend import SAMPLE_RATE
from mtk.rank_samples.protocol import Query, context_waves, pool_of, queries, rank_scores, split_kits

BASELINES = ("random", "embed", "timbre")
Progress = Callable[[Iterable[Any]], Iterable[Any]]


def _identity(xs: Iterable[Any]) -> Iterable[Any]:
    return xs


def test_set(
    corpus: str | Path, oneshots: str | Path, *, per: int = 2, seed: int = 0
) -> tuple[list[Query], list[Shot]]:
    """The queries of the corpus's test songs and the pool of its held-out kits."""
    pool = Pool.load(oneshots)
    shots = pool_of(pool, split_kits(corpus, "test"))
    songs = find_songs(corpus, pool, splits=("test",))
    return queries(songs, per=per, seed=seed), shots


def read_shots(shots: Sequence[Shot], progress: Progress = _identity) -> np.ndarray:
    """The pool's one-shots as :func:`mtk.rank_samples.infer.read_sample` reads them."""
    from mtk.rank_samples.infer import read_sample

    return np.stack([read_sample(s.path)[0] for s in progress(shots)])


def model_scores(ranker: Any, contexts: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """``(queries, pool)`` cosines of a :class:`~mtk.rank_samples.infer.Ranker`."""
    q = np.stack([ranker.encode_context(c) for c in contexts])
    return q @ ranker.encode_samples(shots).T


def random_scores(n_queries: int, n_pool: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n_queries, n_pool))


def embed_scores(embedder: Any, contexts: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """Cosines between ``mtk embed`` vectors (a one-shot padded to one 2-s patch)."""
    from mtk.embed.index import unit

    patch = int(2.1 * SAMPLE_RATE)
    q = np.stack([embedder.from_audio(c, SAMPLE_RATE).vectors for c in contexts])
    s = np.stack([embedder.from_audio(np.pad(x, (0, max(0, patch - len(x)))), SAMPLE_RATE).vectors for x in shots])
    return unit(q) @ unit(s).T


def mfcc_summary(y: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of 20 MFCCs (librosa, 44.1 kHz)."""
    import librosa

    mfcc = librosa.feature.mfcc(y=np.asarray(y, np.float32), sr=SAMPLE_RATE, n_mfcc=20, n_fft=2048, hop_length=512)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def timbre_scores(contexts: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """Negative standardised distance between the MFCC summaries of each context's percussive
    part and of each one-shot."""
    import librosa

    q = np.stack([mfcc_summary(librosa.effects.percussive(c)) for c in contexts])
    s = np.stack([mfcc_summary(x) for x in shots])
    mean, scale = s.mean(axis=0), s.std(axis=0) + 1e-6
    q, s = (q - mean) / scale, (s - mean) / scale
    return -np.sqrt(((q[:, None, :] - s[None, :, :]) ** 2).sum(axis=-1))


def classifier_accuracy(classifier: Any, shots: Sequence[Shot], waves: np.ndarray) -> dict[str, Any]:
    """Accuracy of a one-shot classifier (audio only, no names) on the pool, overall and per class."""
    from mtk.rank_samples.classify import features

    right: dict[str, list[bool]] = {}
    for shot, wave in zip(shots, waves, strict=True):
        p = classifier.probabilities(features(wave, SAMPLE_RATE))[0]
        right.setdefault(shot.cls, []).append(classifier.classes[int(np.argmax(p))] == shot.cls)
    every = [r for rs in right.values() for r in rs]
    return {
        "accuracy": round(float(np.mean(every)), 4),
        "samples": len(every),
        "by_class": {c: round(float(np.mean(r)), 4) for c, r in sorted(right.items())},
    }


def evaluate(
    methods: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    qs: Sequence[Query],
    shots: Sequence[Shot],
    *,
    classifier: Any = None,
    progress: Progress = _identity,
) -> dict[str, Any]:
    """Every method's ranks of the ground truth (see :func:`rank_scores`), in one run."""
    waves = read_shots(shots, progress)
    contexts = np.stack([context_waves(qs)(i) for i in progress(range(len(qs)))])
    out: dict[str, Any] = {"queries": len(qs), "pool": len(shots), "kits": sorted({s.kit for s in shots})}
    out["methods"] = {name: rank_scores(score(contexts, waves), qs, shots) for name, score in methods.items()}
    if classifier is not None:
        out["classifier"] = classifier_accuracy(classifier, shots, waves)
    return out


def table(result: dict[str, Any]) -> str:
    """Markdown: mean and median normalised rank per method, full and sparse mixtures."""
    lines = [
        f"{result['queries']} queries, a pool of {result['pool']} one-shots of {len(result['kits'])} held-out kits",
        "",
        "| method | full: mean | full: median | sparse: mean | sparse: median "
        "| within class: full | within class: sparse |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["methods"].items():
        lines.append(
            f"| {name} | {r['full']['all']['mean']:.3f} | {r['full']['all']['median']:.3f} "
            f"| {r['sparse']['all']['mean']:.3f} | {r['sparse']['all']['median']:.3f} "
            f"| {r['full']['class']['mean']:.3f} | {r['sparse']['class']['mean']:.3f} |"
        )
    if "classifier" in result:
        c = result["classifier"]
        by_class = ", ".join(f"{k} {v:.2f}" for k, v in c["by_class"].items())
        lines += [
            "",
            f"one-shot classifier (audio only): accuracy {c['accuracy']:.3f} on {c['samples']} samples; {by_class}",
        ]
    return "\n".join(lines)
