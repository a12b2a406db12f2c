"""A listener's taste profile: the genre classifier over their files, aggregated.

``load(name_or_path)`` gives a :class:`GenreClassifier` (the MLP and the ``mtk embed`` model
whose vectors it reads); :func:`taste_profile` aggregates per-track genre probabilities into
genre shares (weighted by plays when given), favourite genres and the tracks that decided
each.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError

TASK = "cover-genre"
DEFAULT_MODEL = "cover-genre-v1"


@dataclass
class GenreClassifier:
    """The genre MLP and the embedder whose mean-pooled vectors it reads."""

    mlp: Any
    embedder: Any
    name: str
    _vectors: Callable[[str], np.ndarray] | None = field(default=None, init=False, repr=False)

    @property
    def genres(self) -> tuple[str, ...]:
        return tuple(self.mlp.cfg.genres)

    def vectors(self) -> Callable[[str], np.ndarray]:
        """A file's mean-pooled embedding (cached by content, as ``mtk eval embed`` caches it);
        the same function on every call."""
        from mtk.embed.evaluate import embedder_features

        if self._vectors is None:
            self._vectors = embedder_features(self.embedder)
        return self._vectors

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(n, genres)`` probabilities of embeddings ``x`` ``(n, dims)``."""
        from mtk.cover.genre import probabilities

        return probabilities(self.mlp, x)


def load(name_or_path: str | None = None, device: Any = "cpu") -> GenreClassifier:
    """A :class:`GenreClassifier` from a registry name (default :data:`DEFAULT_MODEL`) or a
    checkpoint written by ``mtk train cover``; its embed model is the one it was trained on."""
    import torch

    from mtk.cover.model import ARCH, GenreConfig, build_mlp
    from mtk.embed.infer import load as load_embedder
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = name_or_path or DEFAULT_MODEL
    if not looks_like_path(name) and get_entry(name).debug:
        entry = check_task(get_entry(name), TASK)
        torch.manual_seed(entry.seed)
        cfg = GenreConfig.from_dict(dict(entry.config))
        mlp = build_mlp(cfg).eval()
        return GenreClassifier(mlp, load_embedder(cfg.embed, device=device), entry.name)
    resolved = resolve(name, task=TASK)
    ckpt = load_checkpoint(resolved.path, arch=ARCH)
    cfg = GenreConfig.from_dict(ckpt["config"])
    mlp = build_mlp(cfg)
    mlp.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
    return GenreClassifier(mlp.eval(), load_embedder(cfg.embed, device=device), resolved.name)


@lru_cache(maxsize=2)
def load_cached(name: str | None = None, device: str = "cpu") -> GenreClassifier:
    """:func:`load`, once per process for each name and device."""
    return load(name, device=device)


def classify_file(path: str, *, model: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """One track's record: ``input``, ``model``, its top ``genre`` and every genre's
    ``probabilities``, best first. A module-level function (the classifier loaded once per
    process), so that worker processes can run it."""
    classifier = load_cached(model, device)
    probs = classifier.probabilities(classifier.vectors()(path)[None])[0]
    ranked = np.argsort(-probs, kind="stable")
    return {
        "input": path,
        "model": classifier.name,
        "genre": classifier.genres[ranked[0]],
        "probabilities": {classifier.genres[i]: round(float(probs[i]), 4) for i in ranked},
    }


def read_plays(path: str | os.PathLike[str]) -> dict[str, float]:
    """``path,plays`` rows (a header row first) -> plays by resolved path; each row checked."""
    out: dict[str, float] = {}
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the plays CSV ({exc})") from None
    if not rows or [c.strip() for c in rows[0][:2]] != ["path", "plays"]:
        raise InputError(f"{path}: row 1: expected the header path,plays")
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise InputError(f"{path}: row {number}: expected 2 columns (path,plays), got {len(row)}")
        try:
            plays = float(row[1])
        except ValueError:
            plays = -1.0
        if not np.isfinite(plays) or plays < 0:
            raise InputError(f"{path}: row {number}, column plays: expected a number >= 0, got {row[1]!r}")
        out[str(Path(row[0]).expanduser().resolve())] = plays
    return out


def taste_profile(
    paths: Sequence[str],
    probs: np.ndarray,
    genres: Sequence[str],
    *,
    plays: Mapping[str, float] | None = None,
    favourites: int = 3,
    deciders: int = 5,
) -> dict[str, Any]:
    """Genre shares (per-track probabilities averaged, each track weighted by its plays, 1
    without a plays table; a track the table leaves out counts 0), the ``favourites`` genres
    of largest share, and per favourite the ``deciders`` tracks that gave it most share."""
    probs = np.asarray(probs, dtype=np.float64).reshape(len(paths), len(genres))
    if plays is None:
        weight = np.ones(len(paths))
    else:
        weight = np.array([plays.get(str(Path(p).resolve()), 0.0) for p in paths], dtype=np.float64)
    total = float(weight.sum())
    if total <= 0:
        raise InputError("no plays: every track has 0 plays or is missing from the plays table")
    contribution = weight[:, None] * probs / total  # each track's part of each genre's share
    shares = contribution.sum(0)
    order = np.argsort(-shares, kind="stable")[:favourites]
    decided = {}
    for g in order:
        top = np.argsort(-contribution[:, g], kind="stable")[:deciders]
        decided[genres[g]] = [
            {
                "path": paths[i],
                "probability": round(float(probs[i, g]), 4),
                "share": round(float(contribution[i, g]), 4),
            }
            for i in top
            if contribution[i, g] > 0
        ]
    return {
        "tracks": len(paths),
        "weighted_by": "plays" if plays is not None else "tracks",
        "plays": total if plays is not None else None,
        "genres": {g: round(float(s), 4) for g, s in zip(genres, shares, strict=True)},
        "favourites": [genres[g] for g in order],
        "decided_by": decided,
    }
