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

    def embed(self, history: Mapping[str, Mapping[str, float]]) -> np.ndarray:
        """``(users, DIM)`` for each user of ``history`` (a user with no known track: zeros)."""
        return self.matrix(history, self.tracks) @ self.factors


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
