"""A tiny corpus in ``mtk corpus songs`` layout for ``accompany``: drumless mixes whose chords
strike on every beat (louder on the downbeat), drums from a synthetic rock loop, exact beats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.separate.conftest import drum_loop
from tests.transcribe.conftest import rock_kit  # noqa: F401  (a fixture: GMRockKit, or skip)

SR = 22_050


def pulse_chords(seconds: float, bpm: float, bar: int, sr: int = SR) -> np.ndarray:
    """Triads struck on each beat and decaying, the first of each bar twice as loud."""
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    beat = 60.0 / bpm
    t = np.arange(int(beat * sr)) / sr
    tone = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * np.exp(-t * 6) / 3
    for i in range(int(seconds / beat)):
        start = int(round(i * beat * sr))
        seg = tone[: n - start] * (1.0 if i % bar == 0 else 0.5)
        y[start : start + len(seg)] += seg.astype(np.float32)
    return 0.4 * y


def write_song(folder: Path, split: str, bpm: float, bar: int, seconds: float = 8.0) -> None:
    drumless = pulse_chords(seconds, bpm, bar)
    drums = drum_loop(seconds, SR, bpm=bpm)
    folder.mkdir(parents=True)
    for name, y in {"drumless": drumless, "drums": drums, "mix": drumless + drums}.items():
        sf.write(folder / f"{name}.wav", y, SR, subtype="FLOAT")
    beat = 60.0 / bpm
    beats = [round(i * beat, 6) for i in range(int(seconds / beat))]
    meta = {
        "split": split,
        "style": "rock",
        "meter": f"{bar}/4",
        "tempo": bpm,
        "beats": beats,
        "downbeats": beats[::bar],
        "drums": {"mode": "sampler", "kit": "synthetic"},
        "soundfont": {"name": "none.sf2"},
    }
    (folder / "meta.json").write_text(json.dumps(meta))


@pytest.fixture(scope="session")
def beat_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("accompany-corpus")
    for i, (split, bpm, bar) in enumerate(
        [("train", 100.0, 4), ("train", 120.0, 3), ("train", 140.0, 4), ("valid", 110.0, 4), ("test", 130.0, 4)]
    ):
        write_song(root / f"{i:05d}-song", split, bpm, bar)
    return root
