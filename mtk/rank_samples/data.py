"""SampleMatch's material: the songs of ``mtk corpus songs`` and the one-shots their kits played.

A song folder holds its stems (``stems/{melody,chords,bass}.wav``) and its drum stem split by
class (``stems/drums/<class>.wav``); its ``meta.json`` names the one-shot file of every hit.
The candidate pool is a ``mtk corpus oneshots`` export: each file once, with its class; a hit
is matched to the pool by the file it played (a recorded kit's original file is the export
record's ``source``).

A training pair, as the paper: a one-shot of class ``c`` that a song played, and a 4-second
excerpt of a mixture of the song's other stems (every stem but the class-``c`` drums), at least
two of them chosen at random, so that contexts are full or sparse mixtures (SMix). The paper's
augmentations, each with probability 0.5 on queries and one-shots alike: Gaussian noise (-40
to -12 dB), a time stretch (0.9 to 1.15, librosa's phase vocoder), a gain cut (to -6 dB), a
time shift (up to 800 ms later or 200 ms earlier).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtk.corpus.reader import song_metas
from mtk.corpus.styles import STEM_CLASSES, stem_class
from mtk.errors import InputError
from mtk.rank_samples.frontend import SAMPLE_RATE, SAMPLES, SHOT_SAMPLES

CLASSES = STEM_CLASSES[:-1]  # kick, snare, hihat, toms, crash, ride: the paper's six
PARTS = ("melody", "chords", "bass")


@dataclass(frozen=True)
class Shot:
    """A candidate one-shot: its file, class (one of :data:`CLASSES`) and kit."""

    path: Path
    cls: str
    kit: str
    instrument: str


@dataclass
class Pool:
    """An export's one-shots of the six classes, each file once (in index order)."""

    shots: list[Shot]
    by_path: dict[Path, Shot] = field(default_factory=dict)  # export file or original source -> shot

    @classmethod
    def load(cls, folder: str | Path) -> Pool:
        from mtk.corpus.oneshots import INDEX, read_index

        pool = cls([])
        for r in read_index(folder):
            path, klass = (Path(folder) / r["file"]).resolve(), stem_class(r["class"])
            if klass not in CLASSES:
                continue
            shot = pool.by_path.get(path) or Shot(path, klass, r["kit"], r["instrument"])
            if path not in pool.by_path:
                pool.shots.append(shot)
                pool.by_path[path] = shot
            source = str(r.get("source", ""))
            if source and not source.startswith("soundfont:"):
                pool.by_path.setdefault(Path(source).resolve(), shot)
        if not pool.shots:
            raise InputError(f"{Path(folder) / INDEX}: no kick, snare, hi-hat, tom, crash or ride one-shots")
        return pool

    def of(self, kits: set[str] | None = None) -> list[Shot]:
        """The shots of these kits (all when None)."""
        return [s for s in self.shots if kits is None or s.kit in kits]


@dataclass(frozen=True)
class Song:
    """A corpus song: its stems and, per class, the pool shots it played with their hit counts."""

    folder: Path
    split: str
    kit: str
    style: str
    frames: int
    played: dict[str, tuple[tuple[Shot, int], ...]]  # class -> ((shot, hits), ...), most played first

    def stems(self) -> dict[str, Path]:
        """Every stem a context can be mixed from: the parts and the drum classes."""
        out = {part: self.folder / "stems" / f"{part}.wav" for part in PARTS}
        for path in sorted((self.folder / "stems" / "drums").glob("*.wav")):
            out[f"drums:{path.stem}"] = path
        return out

    def context_stems(self, cls: str) -> list[str]:
        """The stems a context for a class-``cls`` one-shot draws from: all but that class's."""
        return [name for name in self.stems() if name != f"drums:{cls}"]


def find_songs(corpus: str | Path, pool: Pool, *, splits: Sequence[str] = ("train",)) -> list[Song]:
    """The songs of ``splits`` drummed by a sampled kit whose shots are in ``pool``, with their
    per-class drum stems (``mtk corpus songs`` since rank-samples); songs at another rate than
    44.1 kHz are refused (the pool's one-shots are at 44.1 kHz)."""
    import soundfile as sf

    songs = []
    for folder, meta in song_metas(corpus, need=("split", "style", "drums", "drum_hits")):
        if meta["split"] not in splits or meta["drums"]["mode"] != "sampler":
            continue
        if not (folder / "stems" / "drums").is_dir():
            raise InputError(f"{folder}: no per-class drum stems (rebuild the corpus with this mtk)")
        counts: dict[str, Counter[Shot]] = {}
        for hit in meta["drum_hits"]:
            shot = pool.by_path.get(Path(str(hit.get("sample", ""))).resolve())
            if shot is not None:
                counts.setdefault(shot.cls, Counter())[shot] += 1
        if not counts:
            continue
        info = sf.info(str(folder / "mix.wav"))
        if info.samplerate != SAMPLE_RATE:
            raise InputError(f"{folder}: {info.samplerate} Hz; rank-samples trains on 44.1 kHz corpora (-r 44100)")
        played = {c: tuple(sorted(n.items(), key=lambda kv: (-kv[1], str(kv[0].path)))) for c, n in counts.items()}
        songs.append(Song(folder, meta["split"], str(meta["drums"]["kit"]), str(meta["style"]), info.frames, played))
    if not songs:
        raise InputError(f"{corpus}: no {'/'.join(splits)} songs drummed by kits of the one-shot pool")
    return songs


def read_excerpt(path: Path, start: int, length: int) -> np.ndarray:
    """Mono float32 ``length`` samples of ``path`` from ``start`` (zero-padded past its end)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as fh:
        fh.seek(min(start, fh.frames))
        y = fh.read(length, dtype="float32", always_2d=True).mean(axis=1)
    return np.pad(y, (0, length - len(y))) if len(y) < length else y


def read_shot(path: Path) -> np.ndarray:
    """A one-shot's first :data:`SHOT_SAMPLES` samples, mono (zero-padded)."""
    return read_excerpt(path, 0, SHOT_SAMPLES)


def mix_context(song: Song, stems: Sequence[str], start: int, length: int = SAMPLES) -> np.ndarray:
    """The sum of ``stems`` of ``song`` over ``[start, start + length)``, mono."""
    paths = song.stems()
    return np.sum([read_excerpt(paths[name], start, length) for name in stems], axis=0, dtype=np.float32)


@dataclass(frozen=True)
class Pair:
    """One positive pair, drawn: which song, class, shot, context stems and excerpt start."""

    song: Song
    cls: str
    shot: Shot
    stems: tuple[str, ...]
    start: int


def draw_pair(song: Song, rng: np.random.Generator, *, sparse: bool = True, cls: str | None = None) -> Pair:
    """A pair from ``song``: a class it played (or ``cls``), one of its shots of that class (by
    how often it played), and a context of at least two of its other stems (``sparse``; else
    all of them: a full mixture), starting anywhere a 4-second excerpt fits."""
    cls = cls or sorted(song.played)[int(rng.integers(len(song.played)))]
    shots, counts = zip(*song.played[cls], strict=True)
    shot = shots[int(rng.choice(len(shots), p=np.array(counts) / sum(counts)))]
    stems = song.context_stems(cls)
    if sparse and len(stems) > 2:
        n = int(rng.integers(2, len(stems) + 1))
        stems = [stems[int(i)] for i in sorted(rng.choice(len(stems), n, replace=False))]
    start = int(rng.integers(0, max(1, song.frames - SAMPLES)))
    return Pair(song, cls, shot, tuple(stems), start)


def augment(y: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """The paper's augmentations, each with probability ``p``; the length is kept."""
    n = len(y)
    if rng.random() < p:  # time stretch 0.9-1.15
        import librosa

        y = librosa.effects.time_stretch(y, rate=float(rng.uniform(0.9, 1.15)), n_fft=1024)
    if rng.random() < p:  # time shift: up to 800 ms later, 200 ms earlier
        shift = int(rng.uniform(-0.2, 0.8) * SAMPLE_RATE)
        y = np.concatenate([np.zeros(shift, np.float32), y]) if shift > 0 else y[-shift:]
    y = np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)
    if rng.random() < p:  # gain down to -6 dB
        y = y * np.float32(10 ** (rng.uniform(-6.0, 0.0) / 20))
    if rng.random() < p:  # Gaussian noise, -40 to -12 dB below the signal
        rms = float(np.sqrt(np.mean(np.square(y)))) + 1e-8
        y = y + rng.standard_normal(n).astype(np.float32) * np.float32(rms * 10 ** (rng.uniform(-40.0, -12.0) / 20))
    return y


def load_pair(pair: Pair, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(context, shot)`` waveforms of a pair; augmented when ``rng`` is given."""
    context, shot = mix_context(pair.song, pair.stems, pair.start), read_shot(pair.shot.path)
    if rng is not None:
        context, shot = augment(context, rng), augment(shot, rng)
    return context, shot


def draw_batch(songs: Sequence[Song], size: int, rng: np.random.Generator, *, sparse: bool = True) -> list[Pair]:
    """``size`` pairs from distinct songs (another song's one-shots are a batch's negatives;
    two pairs of one song would make a positive a negative)."""
    chosen = rng.choice(len(songs), min(size, len(songs)), replace=False)
    return [draw_pair(songs[int(i)], rng, sparse=sparse) for i in chosen]
