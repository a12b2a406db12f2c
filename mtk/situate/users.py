"""User embeddings learned from listening history: a factorization of the user x track play matrix.

The paper feeds auSP a 128-d user embedding computed from each user's whole listening history
(not only the labelled streams). Here: rows of ``log(1 + plays)``, each scaled to unit norm
so heavy listeners do not dominate, factorized by truncated SVD (scikit-learn's randomized
SVD); a user's embedding is their row projected on the track factors, so a user unseen at
training time (the cold-user case) is embedded from their history by the same projection, no
refit. The factors are rescaled so embeddings have unit variance per dimension on the
training users. With fewer than 129 tracks the rank is smaller and the rest is zero-padded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from mtk.errors import InputError

DIM = 128


class UserEmbedder:
    def __init__(self, tracks: Sequence[str], factors: np.ndarray) -> None:
        """``factors``: ``(tracks, DIM)`` projection of a normalized play row to its embedding."""
        self.tracks = list(tracks)
        self.factors = np.asarray(factors, dtype=np.float32)
        self._index = {t: i for i, t in enumerate(self.tracks)}

    @staticmethod
    def matrix(history: Mapping[str, Mapping[str, float]], tracks: Sequence[str]) -> np.ndarray:
        index = {t: i for i, t in enumerate(tracks)}
        rows = np.zeros((len(history), len(tracks)), dtype=np.float32)
        for r, plays in enumerate(history.values()):
            for track, n in plays.items():
                if track in index:
                    rows[r, index[track]] += n
        rows = np.log1p(rows)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.maximum(norms, 1e-12)

    @classmethod
    def fit(cls, history: Mapping[str, Mapping[str, float]], *, seed: int = 0, dim: int = DIM) -> UserEmbedder:
        from sklearn.decomposition import TruncatedSVD

        tracks = sorted({t for plays in history.values() for t in plays})
        if len(history) < 2 or len(tracks) < 2:
            raise InputError("listening history too small to learn user embeddings (need 2 users and 2 tracks)")
        x = cls.matrix(history, tracks)
        rank = min(dim, len(tracks) - 1, len(history) - 1)
        svd = TruncatedSVD(n_components=rank, random_state=seed).fit(x)
        factors = svd.components_.T  # (tracks, rank)
        scale = (x @ factors).std(axis=0)
        factors = factors / np.maximum(scale, 1e-6)
        return cls(tracks, np.pad(factors, ((0, 0), (0, dim - rank))))

    def embed(
        self, history: Mapping[str, Mapping[str, float]], extra: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """``(users, DIM)`` for each user of ``history`` (a user with no known track: zeros);
        ``extra``: factor rows of tracks the factorization does not know (predicted by a
        :class:`ContentMap`), used as its own."""
        extra = {t: row for t, row in (extra or {}).items() if t not in self._index}
        if not extra:
            return self.matrix(history, self.tracks) @ self.factors
        tracks = [*self.tracks, *extra]
        factors = np.concatenate([self.factors, np.stack([np.asarray(r, np.float32) for r in extra.values()])])
        return self.matrix(history, tracks) @ factors

    def knows(self, track: str) -> bool:
        return track in self._index

    def rows(self, tracks: Sequence[str]) -> np.ndarray:
        """The factor rows of known ``tracks``."""
        return self.factors[[self._index[t] for t in tracks]]


def read_history(rows: Iterable[Mapping[str, object]], *, source: str = "<history>") -> dict[str, dict[str, float]]:
    """``user -> track -> plays`` from rows with ``user``, ``track`` and optional ``plays`` (default 1)."""
    out: dict[str, dict[str, float]] = {}
    for n, row in enumerate(rows, start=1):
        try:
            user, track = str(row["user"]).strip(), str(row["track"]).strip()
            plays = float(row.get("plays", 1) or 1)
        except KeyError as exc:
            raise InputError(f"{source}: row {n}: missing column {exc.args[0]!r}") from None
        except (TypeError, ValueError):
            raise InputError(f"{source}: row {n}: column 'plays': not a number: {row.get('plays')!r}") from None
        if not math.isfinite(plays) or plays < 0:
            raise InputError(f"{source}: row {n}: column 'plays': {row.get('plays')!r} is not a count >= 0")
        out.setdefault(user, {})
        out[user][track] = out[user].get(track, 0.0) + plays
    return out


def read_history_file(path: str) -> dict[str, dict[str, float]]:
    """:func:`read_history` of a CSV or JSON Lines file (``-``: standard input)."""
    from mtk.situate.schema import read_table

    rows, source = read_table(path, what="history rows")
    return read_history(rows, source=source)


class ContentMap:
    """Factor rows for tracks the factorization never saw, predicted from what they sound like:
    a ridge regression (scikit-learn) from what a track sounds like to its factor row (the auSP
    model's own audio embedding of it, or its ``mtk embed`` vector: ``embed_model`` names which,
    ``"ausp"`` or the embed model), fitted on the training tracks, with a penalty per factor
    dimension chosen by leave-one-out: the leading dimensions (style, tempo: what the audio
    tells) are fitted, the trailing ones (mostly the noise of who happened to play what) shrink
    to their mean. One penalty for all 128 dimensions, as before, shrank everything to the mean
    and folded in nothing. With it a listening history of any audio folds in (the cold-track
    case of content-based recommendation); ``cv_r2`` is the share of the rows' variance it
    predicts on held-out tracks."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, embed_model: str, cv_r2: float) -> None:
        self.weight = np.asarray(weight, dtype=np.float32)  # (embed dims, DIM)
        self.bias = np.asarray(bias, dtype=np.float32)  # (DIM,)
        self.embed_model = embed_model
        self.cv_r2 = float(cv_r2)

    @classmethod
    def fit(cls, vectors: np.ndarray, rows: np.ndarray, *, embed_model: str, seed: int = 0) -> ContentMap:
        """``vectors (tracks, dims)`` -> ``rows (tracks, DIM)``; ``cv_r2`` from 5 folds."""
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import KFold, cross_val_predict

        if len(vectors) < 10:
            raise InputError(f"{len(vectors)} tracks with audio: too few to learn what tracks sound like (need 10)")
        alphas = np.geomspace(1e-2, 1e4, 13)
        folds = KFold(5, shuffle=True, random_state=seed)
        held_out = cross_val_predict(RidgeCV(alphas=alphas, alpha_per_target=True), vectors, rows, cv=folds)
        total = float(np.square(rows - rows.mean(axis=0)).sum())
        cv_r2 = 1.0 - float(np.square(rows - held_out).sum()) / max(total, 1e-12)
        model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(vectors, rows)
        return cls(model.coef_.T, model.intercept_, embed_model, cv_r2)

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32) @ self.weight + self.bias

    def to_checkpoint(self) -> dict[str, object]:
        """For a checkpoint: the weight as float16 (from auSP's ears 256 x 128 values, 66 kB;
        from an embed model's 1280 x 128, 330 kB)."""
        import torch

        return {
            "weight": torch.from_numpy(self.weight).half(),
            "bias": torch.from_numpy(self.bias),
            "embed_model": self.embed_model,
            "cv_r2": round(self.cv_r2, 4),
        }

    @classmethod
    def from_checkpoint(cls, saved: Mapping[str, object]) -> ContentMap:
        return cls(
            saved["weight"].float().numpy(),  # type: ignore[attr-defined]
            saved["bias"].float().numpy(),  # type: ignore[attr-defined]
            str(saved["embed_model"]),
            float(saved["cv_r2"]),  # type: ignore[arg-type]
        )
