"""A tiny synthetic stem corpus (``mtk corpus songs`` layout) and known mixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 44_100


def drum_loop(seconds: float, sr: int = SR, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """A rock beat, mono: kicks on beats 1 and 3 (a pitch sweep 150 -> 50 Hz with a click),
    snares on 2 and 4 (a 190 Hz body and noise), closed hi-hats on every eighth note
    (high-passed noise)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    beat = int(sr * 60 / bpm)
    t = np.arange(int(0.25 * sr)) / sr
    sweep = 50 + 100 * np.exp(-t * 30)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t * 12)
    kick[: int(0.003 * sr)] += rng.standard_normal(int(0.003 * sr)) * 0.5
    snare = (0.5 * np.sin(2 * np.pi * 190 * t) + rng.standard_normal(len(t))) * np.exp(-t * 25)
    noise = rng.standard_normal(len(t))
    hat = (noise - np.convolve(noise, np.ones(4) / 4, mode="same")) * np.exp(-t * 80)
    for i, start in enumerate(range(0, n - len(t), beat // 2)):
        part = 0.3 * hat
        if i % 4 == 0:
            part = part + kick
        elif i % 4 == 2:
            part = part + 0.6 * snare
        y[start : start + len(t)] += part.astype(np.float32)
    return 0.5 * y


def sine_bass(seconds: float, sr: int = SR, freqs: tuple[float, ...] = (55.0, 65.4, 73.4, 49.0)) -> np.ndarray:
    """A held sine bass line, one note a second."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f = np.asarray(freqs)[(t.astype(int)) % len(freqs)]
    return (0.3 * np.sin(2 * np.pi * np.cumsum(f) / sr)).astype(np.float32)


def write_song(folder: Path, split: str, seed: int, seconds: float = 3.0, sr: int = SR) -> None:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    stems = {
        "drums": drum_loop(seconds, sr, seed=seed),
        "bass": sine_bass(seconds, sr),
        "melody": (0.2 * np.sin(2 * np.pi * rng.uniform(400, 800) * t)).astype(np.float32),
        "chords": (0.1 * np.sin(2 * np.pi * 261.6 * t) + 0.1 * np.sin(2 * np.pi * 329.6 * t)).astype(np.float32),
    }
    (folder / "stems").mkdir(parents=True)
    for name, y in stems.items():
        sf.write(folder / "stems" / f"{name}.wav", np.stack([y, 0.8 * y], 1), sr, subtype="FLOAT")
    mix = sum(stems.values())
    sf.write(folder / "mix.wav", np.stack([mix, 0.8 * mix], 1), sr, subtype="FLOAT")
    (folder / "meta.json").write_text(json.dumps({"split": split, "drums": {"kit": "synthetic"}}))


@pytest.fixture(scope="session")
def stem_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stem-corpus")
    for i, split in enumerate(["train", "train", "train", "valid", "test"]):
        write_song(root / f"{i:05d}-song", split, seed=i)
    return root
