"""Content maps: how an auSP model folds in listening histories of tracks it never saw.

A user's embedding is their normalised play row times the history factorization's track
factors, so a track the factorization does not know counts for nothing. A content map
(:class:`mtk.situate.users.ContentMap`) predicts a track's factor row from what the model's own
audio branch hears in it (:data:`AUSP`, the default) or from its ``mtk embed`` vector, fitted on
the tracks the model knows. Here: fitting one for a run's tracks
(``mtk train situate``) or for an existing model from corpora holding its tracks (``mtk train
situate-content``), and measuring what folding in by ear is worth (``mtk eval
situate-fold-in``): auSP's scores on streams with user embeddings from the exact factor rows,
from rows predicted out of fold for every track (as if the user's whole history were new
audio), and with no history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError, UsageError
from mtk.situate.users import ContentMap, UserEmbedder

logger = logging.getLogger(__name__)
Progress = Callable[[list[tuple[str, str]]], Any]


AUSP = "ausp"  # a content map's source: the auSP model's own audio branch (else an mtk embed model)


def content_vectors(
    paths: Mapping[str, str], source: str | None, *, branch: Any = None, progress: Progress = lambda xs: xs
) -> tuple[dict[str, np.ndarray], dict[str, str], str]:
    """What ``source`` hears in each file (``track -> audio path``): the auSP ``branch``'s own
    audio embedding (:data:`AUSP`), or the vectors of an ``mtk embed`` model (None: the shipped
    default); the tracks whose audio could not be read, with why; the source's name."""
    if source == AUSP:
        if branch is None:
            raise UsageError("a content map from the model's own ears needs the model")
        return (*branch.audio_of(paths, progress=progress), AUSP)
    from mtk.embed.infer import load as load_embedder

    embed = load_embedder(source, branch.device if branch is not None else "cpu")
    heard, failed = {}, {}
    for track in progress(list(paths)):
        try:
            heard[track] = embed.from_file(paths[track]).vectors
        except InputError as exc:
            failed[track] = str(exc)
    return heard, failed, embed.name


def embed_tracks(
    pairs: Sequence[tuple[str, str]], *, source: str | None, branch: Any = None, progress: Progress = lambda xs: xs
) -> tuple[list[str], np.ndarray, str]:
    """:func:`content_vectors` of ``(track, audio path)`` pairs as the tracks heard, their
    ``(n, dims)`` vectors and the source's name. A file too short or silent to hear is left
    out (one warning)."""
    heard, failed, name = content_vectors(dict(pairs), source, branch=branch, progress=progress)
    if failed:
        logger.warning("content map: %d tracks left out (%s)", len(failed), next(iter(failed.values())))
    vectors = np.stack(list(heard.values())) if heard else np.zeros((0, 0), np.float32)
    return list(heard), vectors, name


def fit_content_map(
    pairs: Sequence[tuple[str, str]],
    embedder: UserEmbedder,
    *,
    source: str | None = AUSP,
    branch: Any = None,
    progress: Progress = lambda xs: xs,
) -> ContentMap | None:
    """A content map from the tracks of ``pairs`` (``(track, audio path)``, tracks the
    factorization knows) heard by ``source`` (:data:`AUSP`: ``branch``'s audio branch, or an
    ``mtk embed`` model); None, with a warning, when fewer than 10 could be heard."""
    tracks, vectors, name = embed_tracks(pairs, source=source, branch=branch, progress=progress)
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
    source: str | None = AUSP,
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
    tracks, vectors, name = embed_tracks(known, source=source, branch=branch, progress=progress)
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
