"""The language model's training material: corpus songs turned into code sequences.

Each song's drum and drumless log-mels become codes through the two trained VQ-VAEs, and its
drumless log-mel goes through the trained tracker for the beat levels
(:mod:`mtk.accompany.conditioning`), so the model learns from what it will read at run
time. Training windows of ``context`` codes start at a downbeat (as the seed's segments),
drawn at random.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.accompany.conditioning import downbeat_tokens, levels
from mtk.accompany.data import Song
from mtk.accompany.features import MEL


@dataclass
class CodedSong:
    drums: np.ndarray  # (N,) drum codes
    prime: np.ndarray  # (N,) drumless codes
    beat: dict[str, np.ndarray]  # low (N, F), mid (N,), high (N,)
    downbeats: list[int]  # code indices of the true downbeats


def code_song(song: Song, mels: dict[str, np.ndarray], vq_drums: Any, vq_drumless: Any, tracker: Any) -> CodedSong:
    import torch

    with torch.inference_mode():
        codes = {
            part: vq.encode(torch.from_numpy(mels[part].astype(np.float32))[None])[0].numpy()
            for part, vq in (("drums", vq_drums), ("drumless", vq_drumless))
        }
    n = min(codes["drums"].size, codes["drumless"].size)
    analysis = tracker.analyse(mels["drumless"].astype(np.float32))
    return CodedSong(
        drums=codes["drums"][:n].astype(np.int64),
        prime=codes["drumless"][:n].astype(np.int64),
        beat=levels(analysis, MEL.fps, vq_drums.hop, n),
        downbeats=downbeat_tokens(np.asarray(song.downbeats), MEL.fps, vq_drums.hop, n),
    )


def window(song: CodedSong, start: int, context: int, level: str | None) -> tuple[np.ndarray, np.ndarray, Any]:
    stop = start + context
    beat = None if level is None else song.beat[level][start:stop]
    return song.drums[start:stop], song.prime[start:stop], beat


def starts(song: CodedSong, context: int) -> list[int]:
    """Downbeat codes where a whole window fits (the first code if none does)."""
    fits = [d for d in song.downbeats if d + context <= song.drums.size]
    return fits or [0]


def lm_batches(
    songs: Sequence[CodedSong], *, batch: int, context: int, level: str | None, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Endless ``(drums (B, T), prime (B, T), beat (B, T[, F]) or None)`` windows; songs
    shorter than a context are skipped."""
    rng = np.random.default_rng(seed)
    usable = [s for s in songs if s.drums.size >= context]
    if not usable:
        raise ValueError(f"no song has {context} codes")
    while True:
        rows = []
        for _ in range(batch):
            s = usable[int(rng.integers(len(usable)))]
            choice = starts(s, context)
            rows.append(window(s, int(choice[int(rng.integers(len(choice)))]), context, level))
        drums, prime, beat = zip(*rows, strict=True)
        yield np.stack(drums), np.stack(prime), None if level is None else np.stack(beat)


def valid_windows(songs: Sequence[CodedSong], *, context: int, level: str | None) -> list[tuple]:
    """One fixed window per song (its first downbeat where a window fits)."""
    return [window(s, starts(s, context)[0], context, level) for s in songs if s.drums.size >= context]
