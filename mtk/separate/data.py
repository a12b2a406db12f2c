"""Training and validation material for the separator: the stems of ``mtk corpus songs``.

A corpus song folder holds ``stems/{drums,bass,melody,chords}.wav`` that sum to
``mix.wav``; they become the stems ``drums``, ``bass``, ``lead`` and ``other``. Training
excerpts are drawn on the fly with demucs's augmentations: stems remixed across songs (a
share of excerpts keeps one song's stems together, as real mixes are), a random gain, sign
and channel swap per stem, and a pitch shift of up to two semitones by resampling (which
also changes the tempo, as demucs's ``RepitchedWrapper`` may).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mtk.errors import InputError, UsageError

STEM_FILES = {"drums": "drums", "bass": "bass", "lead": "melody", "other": "chords"}


@dataclass(frozen=True)
class StemSong:
    """One corpus song: its folder, split, length and rate, and what played it."""

    path: Path
    split: str
    frames: int
    sample_rate: int
    channels: int
    kit: str = ""
    soundfont: str = ""

    def stem_path(self, stem: str) -> Path:
        return self.path / "stems" / f"{STEM_FILES[stem]}.wav"

    def read(self, stem: str, start: int = 0, frames: int = -1) -> np.ndarray:
        """``(channels, frames)`` float32 of one stem (zero-padded past the end)."""
        with sf.SoundFile(self.stem_path(stem)) as fh:
            fh.seek(start)
            data = fh.read(frames, dtype="float32", always_2d=True).T
        if frames >= 0 and data.shape[1] < frames:
            data = np.pad(data, ((0, 0), (0, frames - data.shape[1])))
        return data


def find_songs(corpus: str | Path, *, stems: Sequence[str] = tuple(STEM_FILES)) -> list[StemSong]:
    """Every song of a corpus with all four stem files, in folder order."""
    root = Path(corpus)
    if not root.is_dir():
        raise InputError(f"{root}: no such corpus folder")
    songs = []
    for meta_path in sorted(root.glob("*/meta.json")):
        folder = meta_path.parent
        if not all((folder / "stems" / f"{STEM_FILES[s]}.wav").is_file() for s in stems):
            continue
        try:
            meta = json.loads(meta_path.read_text())
            info = sf.info(str(folder / "stems" / f"{STEM_FILES[stems[0]]}.wav"))
        except (OSError, ValueError, sf.LibsndfileError) as exc:
            raise InputError(f"{folder}: unreadable song ({exc})") from None
        drums = meta.get("drums") or {}
        soundfont = meta.get("soundfont") or {}
        songs.append(
            StemSong(
                folder,
                str(meta.get("split", "train")),
                int(info.frames),
                int(info.samplerate),
                int(info.channels),
                kit=str(drums.get("kit", "")),
                soundfont=str(soundfont.get("name", "")),
            )
        )
    if not songs:
        raise InputError(f"{root}: no songs with stems (build one with `mtk corpus songs`)")
    return songs


def check_rate(songs: Sequence[StemSong], sample_rate: int, channels: int) -> None:
    """A usage error unless every song is at the model's rate and channel count."""
    odd = [s for s in songs if s.sample_rate != sample_rate or s.channels != channels]
    if odd:
        raise UsageError(
            f"{odd[0].path}: {odd[0].sample_rate} Hz, {odd[0].channels} channels; the separator trains at "
            f"{sample_rate} Hz, {channels} channels",
            hint=f"build the corpus with -r {sample_rate}",
        )


@dataclass(frozen=True)
class Augment:
    remix: float = 0.5  # share of excerpts whose stems come from different songs
    gain: tuple[float, float] = (0.25, 1.25)
    pitch: float = 0.2  # share of stems pitch-shifted
    semitones: int = 2
    flip: bool = True  # random sign and channel swap


def excerpt(
    songs: Sequence[StemSong],
    stems: Sequence[str],
    frames: int,
    rng: np.random.Generator,
    augment: Augment,
) -> np.ndarray:
    """One training example: ``(stems, channels, frames)``; the mixture is its sum.

    Stems of one song keep their alignment and share one pitch shift; remixed stems each
    get their own song, offset and shift.
    """
    together = rng.random() >= augment.remix
    song, ratio, start = _draw(songs, frames, rng, augment)
    out = []
    for stem in stems:
        if not together:
            song, ratio, start = _draw(songs, frames, rng, augment)
        x = _read(song, stem, start, frames, ratio)
        x = x * np.float32(rng.uniform(*augment.gain))
        if augment.flip:
            if rng.random() < 0.5:
                x = -x
            if rng.random() < 0.5:
                x = x[::-1]
        out.append(np.ascontiguousarray(x, dtype=np.float32))
    return np.stack(out)


def _draw(
    songs: Sequence[StemSong], frames: int, rng: np.random.Generator, augment: Augment
) -> tuple[StemSong, float, int]:
    song = songs[int(rng.integers(len(songs)))]
    ratio = 1.0
    if augment.pitch and rng.random() < augment.pitch:
        ratio = 2.0 ** (int(rng.integers(-augment.semitones, augment.semitones + 1)) / 12)
    need = int(np.ceil(frames * ratio)) + 1
    return song, ratio, int(rng.integers(max(song.frames - need, 0) + 1))


def _read(song: StemSong, stem: str, start: int, frames: int, ratio: float) -> np.ndarray:
    from mtk.io.audio import resample

    x = song.read(stem, start, int(np.ceil(frames * ratio)) + 1)
    if ratio != 1.0:  # play it faster or slower: pitch and tempo move together
        x = resample(x, int(round(song.sample_rate * ratio)), song.sample_rate)
    return x[:, :frames] if x.shape[1] >= frames else np.pad(x, ((0, 0), (0, frames - x.shape[1])))


def batches(
    songs: Sequence[StemSong],
    stems: Sequence[str],
    *,
    frames: int,
    batch: int,
    rng: np.random.Generator,
    augment: Augment | None = None,
) -> Iterator[np.ndarray]:
    """Endless ``(batch, stems, channels, frames)`` training batches."""
    augment = augment or Augment()
    while True:
        yield np.stack([excerpt(songs, stems, frames, rng, augment) for _ in range(batch)])
