"""Training data for the embedding: cached log-mels of a catalogue and batches of pairs.

Every recording's log-mel (:mod:`mtk.embed.frontend`) is computed once and cached by content
(float16 ``.npy`` under ``$MTK_CACHE_DIR/embed/mel-v1``), then held in memory (a 30-second
song: 360 KB). As the paper, each epoch gives every recording one pair attempt
(:func:`mtk.embed.associations.epoch_pairs`) and each pair member a random 2-second crop;
a track pair is two crops of one recording. Validation pairs are drawn once, with fixed crops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from mtk.embed.associations import Entry, epoch_pairs
from mtk.embed.frontend import PATCH, read_log_mel
from mtk.errors import MtkError

CACHE_VERSION = "mel-v1"


class MelStore:
    """Log-mels ``(96, frames)`` of audio files, computed once per content and cached."""

    def __init__(self, folder: str | Path | None = None) -> None:
        from mtk.io.cache import ContentCache
        from mtk.weights.store import cache_dir

        self.folder = Path(folder) if folder is not None else cache_dir() / "embed" / CACHE_VERSION
        self._cache = ContentCache(self.folder)

    def get(self, path: str) -> np.ndarray:
        """``(96, frames)`` float32 log-mel of an audio file."""
        return self._cache.get(path, read_log_mel)

    def load(
        self, entries: Sequence[Entry], *, progress: Callable[[list[str]], Iterator[str]] | None = None
    ) -> tuple[list[Entry], list[np.ndarray], list[tuple[str, str]]]:
        """The entries whose audio reads, their log-mels, and ``(path, error)`` of the rest."""
        paths = [e.path for e in entries]
        by_path = {e.path: e for e in entries}
        kept, mels, failed = [], [], []
        for path in progress(paths) if progress else paths:
            try:
                mels.append(self.get(path).astype(np.float16))
                kept.append(by_path[path])
            except MtkError as exc:
                failed.append((path, str(exc)))
        return kept, mels, failed


def crop(mel: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """A ``(96, 128)`` float32 crop of a log-mel: at random, or centred without ``rng``."""
    room = mel.shape[1] - PATCH
    start = int(rng.integers(room + 1)) if rng is not None else room // 2
    return np.asarray(mel[:, start : start + PATCH], dtype=np.float32)


def _two_crops(mel: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two crops of one recording at different offsets where it is long enough."""
    room = mel.shape[1] - PATCH
    a, b = rng.choice(room + 1, size=2, replace=False) if room > 0 else (0, 0)
    return np.asarray(mel[:, a : a + PATCH], np.float32), np.asarray(mel[:, b : b + PATCH], np.float32)


def pair_arrays(
    mels: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]], rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 96, 128)`` anchors and positives for index pairs (``rng`` None: fixed crops, the
    validation's; a track pair then takes the recording's first and last patch)."""
    anchors, positives = [], []
    for a, b in pairs:
        if a == b:
            if rng is None:
                x, y = mels[a][:, :PATCH], mels[a][:, -PATCH:]
            else:
                x, y = _two_crops(mels[a], rng)
        else:
            x, y = crop(mels[a], rng), crop(mels[b], rng)
        anchors.append(x)
        positives.append(y)
    return np.stack(anchors).astype(np.float32), np.stack(positives).astype(np.float32)


def batches(
    entries: Sequence[Entry],
    mels: Sequence[np.ndarray],
    association: str,
    rng: np.random.Generator,
    *,
    batch_pairs: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches of ``batch_pairs`` pairs, epoch after epoch (a last partial batch of an
    epoch is dropped: the other positives of a batch are its negatives)."""
    while True:
        pairs = epoch_pairs(entries, association, rng)
        if len(pairs) < batch_pairs:
            raise ValueError(f"{association}: an epoch gives {len(pairs)} pairs, fewer than a batch of {batch_pairs}")
        order = rng.permutation(len(pairs))
        for start in range(0, len(order) - batch_pairs + 1, batch_pairs):
            yield pair_arrays(mels, [pairs[i] for i in order[start : start + batch_pairs]], rng)


def tag_batches(
    mels: Sequence[np.ndarray], labels: Sequence[int], rng: np.random.Generator, *, batch: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches of ``batch`` random crops and their class indices (a supervised
    tagger's), epoch after epoch over the recordings."""
    if len(mels) < batch:
        raise ValueError(f"{len(mels)} tagged recordings, fewer than a batch of {batch}")
    while True:
        order = rng.permutation(len(mels))
        for start in range(0, len(order) - batch + 1, batch):
            chosen = order[start : start + batch]
            yield np.stack([crop(mels[i], rng) for i in chosen]), np.array([labels[i] for i in chosen], dtype=np.int64)
