"""Recordings' features, their per-file cache, and the searchable index.

A :class:`Recording` holds what both stages need: the fingerprint (stage 1) and the
grid chroma (stage 2; ``cfg.grid`` columns per beat, stored as uint8: every use of it is
invariant to its scale). Features are cached per file under ``$MTK_CACHE_DIR/detect-cover``,
keyed on the file's sha256 and the feature parameters, so re-runs and index updates only
read audio that changed. An index file is a plain ``.npz`` (no pickle) holding every
recording's fingerprint and beat chroma, so queries re-rank without touching the audio.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.detect_cover.features import FeatureConfig, beat_chroma, fingerprints
from mtk.errors import InputError
from mtk.io.audio import read_audio
from mtk.io.files import STDIO, atomic_write, read_bytes, sha256_file
from mtk.io.indexfile import UNREADABLE, load_index, save_index
from mtk.weights.store import cache_dir

MIN_SECONDS = 5.0
SILENT_PEAK = 1e-3  # -60 dBFS: a recording whose peak is below has no harmony to compare
INDEX_FORMAT = 2  # 2: grid chroma (several columns per beat), uint8
KIND, REBUILD = "cover", "mtk detect-cover index"


@dataclass
class Recording:
    """One recording's features: fingerprints ``(n_levels, 12 * patch)`` and grid chroma
    ``(12, grid * n_beats)``."""

    path: str
    sha256: str
    duration: float
    vectors: np.ndarray
    chroma: np.ndarray


def extract(source: str, *, cfg: FeatureConfig = FeatureConfig(), use_cache: bool = True) -> Recording:
    """Features of an audio file (or ``-``); cached by content hash + parameters."""
    if source == STDIO:
        data: bytes | str = read_bytes(STDIO)
        sha = hashlib.sha256(data).hexdigest()  # type: ignore[arg-type]
    else:  # hash the file in chunks; the decoder reads it from disk (no in-memory copy)
        read_bytes(source, limit=1)  # one clear error for a missing or unreadable file
        data, sha = source, sha256_file(Path(source))
    rec = cached_recording(source, sha, cfg) if use_cache else None
    if rec is not None:
        if not rec.chroma.any():
            raise _silent(source)
        return rec
    y, sr = read_audio(data, sr=cfg.sample_rate, mono=True, min_duration=MIN_SECONDS, name=source)
    if float(np.abs(y).max()) < SILENT_PEAK:
        raise _silent(source)
    rec = Recording(source, sha, len(y) / sr, *features(y, sr, cfg))
    if use_cache:
        cache_recording(rec, cfg)
    return rec


def cached_recording(path: str, key: str, cfg: FeatureConfig = FeatureConfig()) -> Recording | None:
    """The cached features stored under ``key`` (a content hash), named ``path``; None if absent."""
    cached = _cache_path(key, cfg)
    if not cached.is_file():
        return None
    try:
        with np.load(cached) as z:
            return Recording(path, key, float(z["duration"]), z["vectors"], z["chroma"])
    except UNREADABLE:
        return None  # a damaged entry (a full disk, a killed writer elsewhere) is computed again


def cache_recording(rec: Recording, cfg: FeatureConfig = FeatureConfig()) -> None:
    """Store ``rec``'s features under its ``sha256`` key."""
    buf = io.BytesIO()
    np.savez(buf, duration=rec.duration, vectors=rec.vectors, chroma=rec.chroma)
    try:
        atomic_write(_cache_path(rec.sha256, cfg), buf.getvalue(), force=True)
    except OSError:
        pass  # a read-only cache only costs speed


def _silent(source: str) -> InputError:
    return InputError(f"{source}: silent (peak below -60 dBFS): no harmony to compare")


def features(y: np.ndarray, sr: int, cfg: FeatureConfig = FeatureConfig()) -> tuple[np.ndarray, np.ndarray]:
    """``(fingerprints, grid chroma as uint8)`` of mono audio at ``cfg.sample_rate``."""
    chroma, _ = beat_chroma(y, sr, cfg)
    return fingerprints(chroma, cfg), np.round(chroma * 255).astype(np.uint8)


def _cache_path(sha: str, cfg: FeatureConfig) -> Path:
    return cache_dir() / "detect-cover" / cfg.key() / sha[:2] / f"{sha}.npz"


class CoverIndex:
    """Fingerprints and grid chroma of many recordings; k nearest neighbours by
    :func:`mtk.detect_cover.features.distance` (the closest pairing of levels)."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()) -> None:
        self.cfg = cfg
        self.paths: list[str] = []
        self.hashes: list[str] = []
        self.durations: list[float] = []
        self._vectors: list[np.ndarray] = []
        self._chroma: list[np.ndarray] = []
        self._position: dict[str, int] = {}
        self._nn: tuple[Callable[[np.ndarray], np.ndarray] | None, Any] | None = None  # (projection, searcher)

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: str) -> bool:
        return path in self._position

    def position(self, path: str) -> int:
        """Where ``path`` is in the index."""
        return self._position[path]

    @property
    def vectors(self) -> np.ndarray:
        """``(n, n_levels, dim)``: every recording's fingerprints."""
        if not self._vectors:
            return np.zeros((0, len(self.cfg.levels), self.cfg.dim), np.float32)
        return np.stack(self._vectors)

    def chroma(self, i: int) -> np.ndarray:
        return self._chroma[i]

    def recording(self, i: int) -> Recording:
        """The ``i``-th recording's features."""
        return Recording(self.paths[i], self.hashes[i], self.durations[i], self._vectors[i], self._chroma[i])

    def add(self, rec: Recording) -> None:
        """Add (or replace, by path) one recording."""
        if rec.path in self:
            i = self._position[rec.path]
            self.hashes[i], self.durations[i], self._vectors[i], self._chroma[i] = (
                rec.sha256,
                rec.duration,
                rec.vectors,
                rec.chroma,
            )
        else:
            self._position[rec.path] = len(self.paths)
            self.paths.append(rec.path)
            self.hashes.append(rec.sha256)
            self.durations.append(rec.duration)
            self._vectors.append(rec.vectors)
            self._chroma.append(rec.chroma)
        self._nn = None

    def knn(
        self, vectors: np.ndarray, k: int, *, projection: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances of the ``k`` recordings nearest to fingerprints ``vectors``
        ``(n_levels, dim)``, both passed through ``projection`` when given: for each recording
        the smallest Euclidean distance over the level pairings (scikit-learn's brute-force
        search over every recording's every level)."""
        from sklearn.neighbors import NearestNeighbors

        if not self.paths:
            return np.zeros(0, int), np.zeros(0)
        levels = len(self.cfg.levels)
        if self._nn is None or self._nn[0] is not projection:
            space = self.vectors if projection is None else projection(self.vectors)
            self._nn = (projection, NearestNeighbors(algorithm="brute").fit(space.reshape(len(self) * levels, -1)))
        if projection is not None:
            vectors = projection(vectors)
        # A recording among the k nearest has its closest pairing among the k * levels nearest
        # fingerprints of that query level (each closer recording has at most `levels` of them).
        n = min(k * levels, len(self) * levels)
        dist, idx = self._nn[1].kneighbors(vectors, n_neighbors=n)
        best: dict[int, float] = {}
        for d, i in zip(dist.ravel(), (idx // levels).ravel(), strict=True):
            if d < best.get(int(i), np.inf):
                best[int(i)] = float(d)
        ranked = sorted(best.items(), key=lambda item: (item[1], item[0]))[:k]
        return np.array([i for i, _ in ranked], dtype=int), np.array([d for _, d in ranked])

    def save(self, path: str | os.PathLike[str], *, force: bool = True) -> None:
        """Write the index atomically (:mod:`mtk.io.indexfile`: plain arrays, no pickle)."""
        lengths = np.array([c.shape[1] for c in self._chroma], dtype=np.int64)
        meta = {"config": self.cfg.__dict__, "paths": self.paths, "hashes": self.hashes, "durations": self.durations}
        arrays = {
            "vectors": self.vectors,
            "chroma": np.concatenate(self._chroma, axis=1) if self._chroma else np.zeros((12, 0), np.uint8),
            "lengths": lengths,
        }
        save_index(path, kind=KIND, fmt=INDEX_FORMAT, meta=meta, arrays=arrays, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CoverIndex:
        """Read an index written by :meth:`save`."""
        meta, arrays = load_index(
            path, kind=KIND, fmt=INDEX_FORMAT, names=("vectors", "chroma", "lengths"), rebuild=REBUILD
        )
        try:
            return cls._from_arrays(meta, arrays["vectors"], arrays["chroma"], arrays["lengths"])
        except UNREADABLE as exc:  # mismatched arrays
            raise InputError(f"{path}: not an mtk {KIND} index ({type(exc).__name__})") from None

    @classmethod
    def _from_arrays(
        cls, meta: dict[str, Any], vectors: np.ndarray, chroma: np.ndarray, lengths: np.ndarray
    ) -> CoverIndex:
        index = cls(FeatureConfig(**meta["config"]))
        paths = meta["paths"]
        if not len(paths) == len(vectors) == len(lengths) or int(np.sum(lengths)) != chroma.shape[1]:
            raise ValueError("arrays of different lengths")
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for i, p in enumerate(paths):
            index.add(
                Recording(p, meta["hashes"][i], meta["durations"][i], vectors[i], chroma[:, bounds[i] : bounds[i + 1]])
            )
        return index
