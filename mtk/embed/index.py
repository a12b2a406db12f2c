"""A searchable index of embeddings: one pooled vector per recording, nearest by cosine.

Stored with :mod:`mtk.io.indexfile` (the format ``mtk detect-cover index`` uses): paths,
content hashes, durations, the model and layer that made the vectors, and the vectors as
float32. Queries are unit-normalised and scored against every indexed vector at once (one
matrix product; several queries share one pass over the index).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from mtk.errors import InputError, UsageError
from mtk.io.indexfile import UNREADABLE, load_index, save_index

KIND, FORMAT, REBUILD = "embed", 1, "mtk embed index"


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass
class EmbedIndex:
    """Pooled embeddings of recordings by one model and layer."""

    model: str
    layer: str = "embedding"
    paths: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list, repr=False)
    _position: dict[str, int] = field(default_factory=dict, repr=False)
    _matrix: np.ndarray | None = field(default=None, repr=False)  # unit rows, built on the first search

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: str) -> bool:
        return path in self._position

    @property
    def vectors(self) -> np.ndarray:
        """``(n, dims)`` float32 (as embedded, not normalised)."""
        return np.stack(self._rows) if self._rows else np.zeros((0, 0), np.float32)

    def add(self, path: str, sha256: str, duration: float, vector: np.ndarray) -> None:
        """Add (or replace, by path) one recording's pooled vector."""
        vector = np.asarray(vector, dtype=np.float32)
        if self._rows and vector.shape != self._rows[0].shape:
            raise UsageError(f"{path}: a {vector.shape[0]}-d vector in an index of {self._rows[0].shape[0]}-d ones")
        if path in self._position:
            i = self._position[path]
            self.hashes[i], self.durations[i], self._rows[i] = sha256, duration, vector
        else:
            self._position[path] = len(self.paths)
            self.paths.append(path)
            self.hashes.append(sha256)
            self.durations.append(duration)
            self._rows.append(vector)
        self._matrix = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosine similarities ``(q, min(k, n))`` of the nearest recordings to each
        query row, best first (ties by index order)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if not self._rows:
            return np.zeros((len(queries), 0), int), np.zeros((len(queries), 0), np.float32)
        if queries.shape[1] != self._rows[0].shape[0]:
            raise UsageError(f"{queries.shape[1]}-d queries against an index of {self._rows[0].shape[0]}-d vectors")
        if self._matrix is None:
            self._matrix = unit(self.vectors)
        scores = unit(queries) @ self._matrix.T  # (q, n)
        k = min(k, len(self))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -part), axis=1)  # by score, then by index
        best = np.take_along_axis(top, order, axis=1)
        return best, np.take_along_axis(scores, best, axis=1)

    def save(self, path: str | os.PathLike[str], *, force: bool = True) -> None:
        """Write the index atomically."""
        meta = {
            "model": self.model,
            "layer": self.layer,
            "paths": self.paths,
            "hashes": self.hashes,
            "durations": self.durations,
        }
        save_index(path, kind=KIND, fmt=FORMAT, meta=meta, arrays={"vectors": self.vectors}, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbedIndex:
        """Read an index written by :meth:`save`."""
        meta, arrays = load_index(path, kind=KIND, fmt=FORMAT, names=("vectors",), rebuild=REBUILD)
        try:
            vectors = arrays["vectors"]
            paths = list(meta["paths"])
            if not len(paths) == len(meta["hashes"]) == len(meta["durations"]) == len(vectors):
                raise ValueError("arrays of different lengths")
            index = cls(str(meta["model"]), str(meta["layer"]))
            for i, p in enumerate(paths):
                index.add(str(p), str(meta["hashes"][i]), float(meta["durations"][i]), vectors[i])
        except UNREADABLE as exc:
            raise InputError(f"{path}: not an mtk {KIND} index ({type(exc).__name__})") from None
        return index
