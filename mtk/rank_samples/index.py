"""A cached index of drum samples: each one's SampleMatch encoding and class.

Stored with :mod:`mtk.io.indexfile` (the format of ``mtk embed index``): paths, content hashes,
durations, classes (with the classifier's probability and whether the audio or the name
decided), the model that encoded them, and the unit-length encodings as float32. Ranking reads
the index only: no sample audio.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from mtk.errors import InputError, UsageError
from mtk.io.indexfile import UNREADABLE, load_index, save_index

KIND, FORMAT, REBUILD = "rank-samples", 1, "mtk rank-samples index"


@dataclass(frozen=True)
class SampleInfo:
    """One sample as indexed (the vector unit-length)."""

    path: str
    sha256: str
    duration: float
    cls: str
    probability: float
    by: str  # audio or name
    vector: np.ndarray = field(repr=False)


@dataclass
class SampleIndex:
    """Encoded samples by one model; :meth:`rank` scores them all against a context."""

    model: str
    items: list[SampleInfo] = field(default_factory=list)
    _position: dict[str, int] = field(default_factory=dict, repr=False)
    _matrix: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, path: str) -> bool:
        return path in self._position

    def add(self, info: SampleInfo) -> None:
        """Add (or replace, by path) one sample."""
        if self.items and info.vector.shape != self.items[0].vector.shape:
            raise UsageError(f"{info.path}: a {info.vector.shape[0]}-d vector in an index of other vectors")
        if info.path in self._position:
            self.items[self._position[info.path]] = info
        else:
            self._position[info.path] = len(self.items)
            self.items.append(info)
        self._matrix = None

    def extend(self, other: SampleIndex) -> None:
        """Add every sample of ``other`` (encoded by the same model)."""
        if other.items and other.model != self.model:
            raise UsageError(f"samples encoded by {other.model} cannot be ranked with {self.model}")
        for info in other.items:
            self.add(info)

    def rank(
        self, context: np.ndarray, *, classes: set[str] | None = None, k: int | None = None
    ) -> list[tuple[int, float]]:
        """``(item, score)`` best first: the cosine of each sample (of ``classes`` when given)
        with the context's unit vector; ties keep index order."""
        if not self.items:
            return []
        if self._matrix is None:
            self._matrix = np.stack([i.vector for i in self.items]).astype(np.float32)
        scores = self._matrix @ np.asarray(context, np.float32)
        chosen = np.arange(len(self.items))
        if classes is not None:
            chosen = np.array([n for n, i in enumerate(self.items) if i.cls in classes], dtype=int)
        if not len(chosen):
            return []
        k = len(chosen) if k is None else min(k, len(chosen))
        sub = scores[chosen]
        top = np.argpartition(-sub, k - 1)[:k] if k < len(sub) else np.arange(len(sub))
        order = top[np.lexsort((chosen[top], -sub[top]))]
        return [(int(chosen[n]), float(sub[n])) for n in order]

    def save(self, path: str | os.PathLike[str], *, force: bool = True) -> None:
        """Write the index atomically."""
        meta = {
            "model": self.model,
            "paths": [i.path for i in self.items],
            "hashes": [i.sha256 for i in self.items],
            "durations": [i.duration for i in self.items],
            "classes": [i.cls for i in self.items],
            "probabilities": [i.probability for i in self.items],
            "by": [i.by for i in self.items],
        }
        vectors = np.stack([i.vector for i in self.items]) if self.items else np.zeros((0, 0), np.float32)
        save_index(path, kind=KIND, fmt=FORMAT, meta=meta, arrays={"vectors": vectors}, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SampleIndex:
        """Read an index written by :meth:`save`."""
        meta, arrays = load_index(path, kind=KIND, fmt=FORMAT, names=("vectors",), rebuild=REBUILD)
        try:
            vectors = arrays["vectors"].astype(np.float32)
            columns = [meta[k] for k in ("paths", "hashes", "durations", "classes", "probabilities", "by")]
            if any(len(c) != len(vectors) for c in columns):
                raise ValueError("columns of different lengths")
            index = cls(str(meta["model"]))
            for n, (p, h, d, c, pr, by) in enumerate(zip(*columns, strict=True)):
                index.add(SampleInfo(str(p), str(h), float(d), str(c), float(pr), str(by), vectors[n]))
        except UNREADABLE as exc:
            raise InputError(f"{path}: not an mtk {KIND} index ({type(exc).__name__})") from None
        return index
