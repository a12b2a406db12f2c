"""The evaluation protocol shared by training (validation) and ``mtk eval rank-samples``.

Queries: for every song of the split and every class it played, ``per`` excerpts of a full
mixture (all its other stems) and ``per`` of a sparse one (at least two of them), drawn from a
fixed seed, so every model of a comparison meets the same queries. The pool: every one-shot of
the split's kits (``corpus.json``: test songs are drummed by held-out kits only). Each query
ranks the whole pool and, separately, the pool's samples of its own class; the ground truth is
every one-shot of that class the song played (the best placed counts, see
:mod:`mtk.rank_samples.ranking`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.rank_samples.data import Pair, Pool, Shot, Song, draw_pair, load_pair
from mtk.rank_samples.ranking import normalized_rank, summarise

KINDS = ("full", "sparse")


@dataclass(frozen=True)
class Query:
    pair: Pair
    kind: str  # full or sparse


def split_kits(corpus: str | Path, split: str) -> set[str]:
    """The kits ``corpus.json`` names for a split (test: the held-out kits; else the others)."""
    path = Path(corpus) / "corpus.json"
    try:
        kits = json.loads(path.read_text(encoding="utf-8"))["kits"]
        return set(kits["test" if split == "test" else "train"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: cannot read the corpus's kits ({exc})") from None


def queries(songs: Sequence[Song], *, per: int = 2, seed: int = 0) -> list[Query]:
    """``per`` full and ``per`` sparse queries for every (song, class played), reproducibly."""
    out = []
    for n, song in enumerate(songs):
        rng = np.random.default_rng([seed, n])
        for cls in sorted(song.played):
            for kind in KINDS:
                out += [Query(draw_pair(song, rng, sparse=kind == "sparse", cls=cls), kind) for _ in range(per)]
    return out


def rank_queries(
    query_vectors: np.ndarray, shot_vectors: np.ndarray, qs: Sequence[Query], shots: Sequence[Shot]
) -> dict[str, Any]:
    """Normalised ranks of every query's ground truth against the pool (cosine scores), over all
    classes and within the query's class; mean and median per mixture kind and class."""
    from mtk.embed.index import unit

    return rank_scores(unit(query_vectors) @ unit(shot_vectors).T, qs, shots)


def rank_scores(scores: np.ndarray, qs: Sequence[Query], shots: Sequence[Shot]) -> dict[str, Any]:
    """:func:`rank_queries` from a ``(queries, pool)`` score matrix (higher fits better)."""
    index = {shot.path: i for i, shot in enumerate(shots)}
    classes = np.array([shot.cls for shot in shots])
    ranks: dict[tuple[str, str, str], list[float]] = {}
    for row, query in zip(scores, qs, strict=True):
        truth = [index[shot.path] for shot, _ in query.pair.song.played[query.pair.cls] if shot.path in index]
        if not truth:
            continue
        same = np.flatnonzero(classes == query.pair.cls)
        within = [int(np.searchsorted(same, t)) for t in truth]
        for scope, value in (("all", normalized_rank(row, truth)), ("class", normalized_rank(row[same], within))):
            for cls in (query.pair.cls, "*"):
                ranks.setdefault((query.kind, scope, cls), []).append(value)
    out: dict[str, Any] = {"pool": len(shots)}
    for kind in KINDS:
        out[kind] = {
            scope: {
                **summarise(ranks.get((kind, scope, "*"), [])),
                "by_class": {
                    c: summarise(v)["mean"]
                    for (k, sc, c), v in sorted(ranks.items())
                    if (k, sc) == (kind, scope) and c != "*"
                },
            }
            for scope in ("all", "class")
        }
    return out


def encode_all(
    encode: Callable[[np.ndarray], np.ndarray], waves: Callable[[int], np.ndarray], count: int, batch: int = 32
) -> np.ndarray:
    """``encode`` over ``count`` waveforms in batches (``waves(i)`` reads the i-th)."""
    parts = [encode(np.stack([waves(i) for i in range(lo, min(lo + batch, count))])) for lo in range(0, count, batch)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def context_waves(qs: Sequence[Query]) -> Callable[[int], np.ndarray]:
    return lambda i: load_pair(qs[i].pair)[0]


def pool_of(pool: Pool, kits: set[str]) -> list[Shot]:
    shots = pool.of(kits)
    if not shots:
        raise InputError(f"the one-shot pool has no samples of the kits {', '.join(sorted(kits)) or '(none)'}")
    return shots
