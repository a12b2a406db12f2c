"""Content maps: how an auSP model folds in listening histories of tracks it never saw.

A user's embedding is their normalised play row times the history factorization's track
factors, so a track the factorization does not know counts for nothing. A content map
(:class:`mtk.situate.users.ContentMap`) predicts a track's factor row from its ``mtk embed``
vector, fitted on the tracks the model knows. Here: fitting one for a run's tracks
(``mtk train situate``) or for an existing model from corpora holding its tracks (``mtk train
situate-content``), and measuring what folding in by ear is worth (``mtk eval
situate-fold-in``): auSP's scores on streams with user embeddings from the exact factor rows,
from rows predicted out of fold for every track (as if the user's whole history were new
audio), and with no history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.situate.users import ContentMap, UserEmbedder

logger = logging.getLogger(__name__)
Progress = Callable[[list[tuple[str, str]]], Any]


def embed_tracks(
    pairs: Sequence[tuple[str, str]], *, embed_model: str | None, device: str, progress: Progress = lambda xs: xs
) -> tuple[list[str], np.ndarray, str]:
    """The ``mtk embed`` vectors of ``(track, audio path)`` pairs: the tracks embedded, their
    ``(n, dims)`` vectors and the embedding's name. A file too short or silent to embed is
    left out (one warning)."""
    from mtk.embed.infer import load as load_embedder

    embed = load_embedder(embed_model, device)
    vectors, tracks, failed = [], [], []
    for track, path in progress(list(pairs)):
        try:
            vectors.append(embed.from_file(path).vectors)
            tracks.append(track)
        except InputError as exc:
            failed.append(str(exc))
    if failed:
        logger.warning("content map: %d tracks left out (%s)", len(failed), failed[0])
    return tracks, (np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)), embed.name


def fit_content_map(
    pairs: Sequence[tuple[str, str]],
    embedder: UserEmbedder,
    *,
    embed_model: str | None = None,
    device: str = "cpu",
    progress: Progress = lambda xs: xs,
) -> ContentMap | None:
    """A content map from the tracks of ``pairs`` (``(track, audio path)``, tracks the
    factorization knows); None, with a warning, when fewer than 10 could be embedded."""
    tracks, vectors, name = embed_tracks(pairs, embed_model=embed_model, device=device, progress=progress)
    if len(tracks) < 10:
        logger.warning("%d tracks heard: too few for a content map (the model folds in known tracks only)", len(tracks))
        return None
    return ContentMap.fit(vectors, embedder.rows(tracks), embed_model=name)


def model_tracks(ckpt: dict[str, Any], corpora: Sequence[Path]) -> list[tuple[str, str]]:
    """The audio of a model file's known tracks in ``corpora`` (``CORPUS/<id>/mix.wav``)."""
    from mtk.situate.train import resolve_track

    pairs = []
    for track in ckpt.get("tracks", []):
        path = resolve_track(track, base=Path("."), corpora=corpora)
        if path is not None:
            pairs.append((track, str(path)))
    return pairs


def with_content_map(ckpt: dict[str, Any], content: ContentMap, **provenance: Any) -> bytes:
    """A model file's bytes: ``ckpt`` (an auSP inference file, loaded) with ``content`` added
    and ``provenance`` under ``meta["content"]``; everything else kept as it was."""
    import io

    import torch

    out = dict(ckpt)
    out["content_map"] = content.to_checkpoint()
    out["meta"] = {**ckpt["meta"], "content": provenance}
    buf = io.BytesIO()
    torch.save(out, buf)
    return buf.getvalue()


def fold_in_scores(
    branch: Any,
    data: Any,
    *,
    embed_model: str | None = None,
    folds: int = 5,
    seed: int = 0,
    progress: Progress = lambda xs: xs,
) -> dict[str, Any]:
    """auSP's AUC and accuracy on ``data``'s streams (a :class:`~mtk.situate.train.SituateData`
    of tracks the model knows) with each user embedded from their history: ``exact`` (the
    model's factor rows), ``heard`` (every track's row predicted from its audio by a content
    map fitted on the other folds of tracks: a history of nothing but new audio) and
    ``no_history`` (the zero embedding)."""
    from sklearn.model_selection import KFold

    from mtk.situate.metrics import accuracy_at, auc

    known = [(t, p) for t, p in zip(data.track_ids, data.paths, strict=True) if branch.embedder.knows(t)]
    if len(known) < 2 * folds:
        raise InputError(f"{len(known)} of the streams' tracks are known to {branch.name}: too few to measure")
    tracks, vectors, name = embed_tracks(known, embed_model=embed_model, device=branch.device, progress=progress)
    rows = branch.embedder.rows(tracks)
    predicted = np.zeros_like(rows)
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(vectors):
        predicted[test] = ContentMap.fit(vectors[train], rows[train], embed_model=name, seed=seed).predict(
            vectors[test]
        )
    total = float(np.square(rows - rows.mean(axis=0)).sum())
    held_out_r2 = 1.0 - float(np.square(rows - predicted).sum()) / max(total, 1e-12)
    kept = np.isin(np.array(data.track_ids)[data.track_of], tracks)
    streams = np.flatnonzero(kept)
    users = sorted({data.streams.user[i] for i in streams})
    histories = {u: data.history.get(u, {}) for u in users}
    audio = branch.audio_embeddings(data.mels)
    y = data.labels[streams]
    row_of = {u: i for i, u in enumerate(users)}
    who = [row_of[data.streams.user[i]] for i in streams]
    conditions = {
        "exact": branch.embedder.embed(histories),
        "heard": UserEmbedder(tracks, predicted).embed(histories),
        "no_history": np.zeros((len(users), branch.embedder.factors.shape[1]), np.float32),
    }
    out: dict[str, Any] = {
        "model": branch.name,
        "streams": int(len(streams)),
        "users": len(users),
        "tracks": len(tracks),
        "embed_model": name,
        "folds": folds,
        "held_out_r2": round(held_out_r2, 4),
    }
    for condition, vectors_u in conditions.items():
        p = branch.proba(audio[data.track_of[streams]], vectors_u[who])
        out[condition] = {"auc": round(auc(p, y), 4), "accuracy": round(accuracy_at(p, y), 4)}
    return out
