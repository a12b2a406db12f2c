"""Training material for ``accompany`` from ``mtk corpus songs``: drumless and drum log-mels
with the exact beats and downbeats each song's ``meta.json`` records.

Every song folder holds ``drumless.wav`` and ``drums.wav``; their log-mels
(:mod:`mtk.accompany.features`, peak-normalised mono) are computed once per content and
cached (float16 under ``$MTK_CACHE_DIR/accompany/mel-v1``). Beat targets follow Böck's
trackers: 1 on the beat's frame, 0.5 on its two neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.accompany.features import MEL, MelSpec, log_mel
from mtk.errors import InputError, UsageError

CACHE_VERSION = "mel-v1"
PARTS = ("drumless", "drums")
NEED = ("split", "style", "meter", "tempo", "drums", "soundfont", "beats", "downbeats")  # of meta.json


@dataclass(frozen=True)
class Song:
    """One corpus song: its folder, split, style, meter, beats and downbeats (seconds)."""

    path: Path
    split: str
    style: str
    meter: str
    tempo: float
    beats: tuple[float, ...]
    downbeats: tuple[float, ...]
    kit: str = ""
    soundfont: str = ""

    def audio(self, part: str) -> Path:
        return self.path / f"{part}.wav"


def find_songs(corpus: str | Path, *, splits: Sequence[str] | None = None) -> list[Song]:
    """Every song of a corpus that has drums and a drumless mix, in folder order."""
    from mtk.corpus.reader import song_metas

    root = Path(corpus)
    if not root.is_dir():
        raise InputError(f"{root}: no such corpus folder")
    songs = []
    for folder, meta in song_metas(root, need=NEED):
        if (splits and meta["split"] not in splits) or meta["drums"]["mode"] == "none":
            continue
        if not all((folder / f"{p}.wav").is_file() for p in PARTS):
            continue
        songs.append(
            Song(
                path=folder,
                split=meta["split"],
                style=meta["style"],
                meter=meta["meter"],
                tempo=float(meta["tempo"]),
                beats=tuple(meta["beats"]),
                downbeats=tuple(meta["downbeats"]),
                kit=str(meta["drums"]["kit"] or ""),
                soundfont=str(meta["soundfont"]["name"]),
            )
        )
    if not songs:
        raise UsageError(f"{root}: no corpus songs with drums.wav and drumless.wav (build one with mtk corpus songs)")
    return songs


def read_mel(path: str, spec: MelSpec = MEL) -> np.ndarray:
    """``(n_mels, frames)`` log-mel of an audio file, mono, resampled, peak-normalised."""
    return log_mel(read_mono(path, spec), spec)


def read_mono(path: str | Path, spec: MelSpec = MEL) -> np.ndarray:
    """A file's samples at the mel rate, mono, peak-normalised."""
    from mtk.io.audio import read_audio

    y, _ = read_audio(path, sr=spec.sample_rate, mono=True)
    peak = float(np.abs(y).max())
    return (y / peak if peak > 0 else y).astype(np.float32)


class MelStore:
    """The cached log-mels of songs' parts, held in memory as float16."""

    def __init__(self, folder: str | Path | None = None) -> None:
        from mtk.io.cache import ContentCache
        from mtk.weights.store import cache_dir

        self.folder = Path(folder) if folder is not None else cache_dir() / "accompany" / CACHE_VERSION
        self._cache = ContentCache(self.folder)

    def get(self, path: str | Path) -> np.ndarray:
        return self._cache.get(path, read_mel)

    def load(
        self, songs: Sequence[Song], parts: Sequence[str] = PARTS, *, progress: Callable[..., Iterator] | None = None
    ) -> list[dict[str, np.ndarray]]:
        out = []
        for song in progress(songs) if progress else songs:
            out.append({p: self.get(song.audio(p)).astype(np.float16) for p in parts})
        return out


def targets(times: Sequence[float], frames: int, fps: float) -> np.ndarray:
    """``(frames,)`` float32: 1 at each time's frame, 0.5 at its neighbours."""
    out = np.zeros(frames, dtype=np.float32)
    idx = np.round(np.asarray(times, dtype=np.float64) * fps).astype(int)
    idx = idx[(idx >= 0) & (idx < frames)]
    for shift in (-1, 1):
        j = idx + shift
        j = j[(j >= 0) & (j < frames)]
        out[j] = np.maximum(out[j], 0.5)
    out[idx] = 1.0
    return out


@dataclass
class TrackerAugment:
    """What a tracker's training crop may undergo: a tempo change by resampling mel frames
    (``stretch``: the largest factor either way), a gain (dB) and a smooth EQ tilt (dB)."""

    stretch: float = 1.25
    gain_db: float = 9.0
    tilt_db: float = 6.0


def tracker_batches(
    songs: Sequence[Song],
    mels: Sequence[dict[str, np.ndarray]],
    *,
    batch: int,
    frames: int,
    seed: int,
    augment: TrackerAugment | None = None,
    spec: MelSpec = MEL,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless ``(mel (B, n_mels, frames), targets (B, 2, frames))`` crops of drumless mixes."""
    rng = np.random.default_rng(seed)
    aug = augment or TrackerAugment(stretch=1.0, gain_db=0.0, tilt_db=0.0)
    while True:
        xs, ys = [], []
        for _ in range(batch):
            k = int(rng.integers(len(songs)))
            mel = mels[k]["drumless"].astype(np.float32)
            rate = float(np.exp(rng.uniform(-np.log(aug.stretch), np.log(aug.stretch)))) if aug.stretch > 1 else 1.0
            need = int(np.ceil(frames * rate)) + 1
            start = int(rng.integers(max(1, mel.shape[1] - need)))
            src = start + np.arange(frames) * rate  # fractional source frames
            src = np.clip(src, 0, mel.shape[1] - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, mel.shape[1] - 1)
            w = (src - lo).astype(np.float32)
            x = mel[:, lo] * (1 - w) + mel[:, hi] * w
            if aug.gain_db:
                x = x + rng.uniform(-aug.gain_db, aug.gain_db) / 20.0
            if aug.tilt_db:
                tilt = np.linspace(-1.0, 1.0, x.shape[0], dtype=np.float32)[:, None]
                x = x + tilt * rng.uniform(-aug.tilt_db, aug.tilt_db) / 20.0
            x = np.maximum(x, np.log10(1e-5))
            song = songs[k]
            t0 = start / spec.fps
            y = np.stack(
                [
                    targets((np.asarray(song.beats) - t0) / rate, frames, spec.fps),
                    targets((np.asarray(song.downbeats) - t0) / rate, frames, spec.fps),
                ]
            )
            xs.append(x)
            ys.append(y)
        yield np.stack(xs).astype(np.float32), np.stack(ys)
