"""A corpus of awkward and broken inputs, generated on the fly, with the expected verdicts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22_050


def _tone(sr: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([y] * channels, axis=1).astype(np.float32)


def _wav(y: np.ndarray, sr: int, **kw: object) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=kw.pop("format", "WAV"), **kw)
    return buf.getvalue()


def _midi_no_notes() -> bytes:
    import miditoolkit

    midi = miditoolkit.MidiFile()
    midi.instruments = [miditoolkit.Instrument(program=0)]
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


def _midi_truncated() -> bytes:
    from tests.conftest import make_midi

    data = make_midi([(60 + i % 12, i * 0.1, i * 0.1 + 0.1, 90) for i in range(40)])
    return data[: len(data) // 2]


def build(folder: Path) -> dict[str, tuple[Path, bool]]:
    """Write the corpus into ``folder``: name -> (path, is valid audio of >= 0.5 s)."""
    nan = _tone(SR)
    nan[100, 0] = np.nan
    inf = _tone(SR)
    inf[5, 0] = np.inf
    good_wav = _wav(_tone(SR), SR)
    files: dict[str, tuple[bytes, str, bool]] = {
        "empty": (b"", ".wav", False),
        "zero_length": (_wav(np.zeros((0, 1), np.float32), SR), ".wav", False),
        "truncated_header": (good_wav[:30], ".wav", False),
        "random_bytes": (np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(), ".wav", False),
        "text_named_wav": (b"this is not audio\n" * 20, ".wav", False),
        "nan_samples": (_wav(nan, SR, subtype="FLOAT"), ".wav", False),
        "inf_samples": (_wav(inf, SR, subtype="FLOAT"), ".wav", False),
        "one_sample": (_wav(np.zeros((1, 1), np.float32), SR), ".wav", False),
        "midi_no_notes": (_midi_no_notes(), ".mid", False),
        "midi_truncated": (_midi_truncated(), ".mid", False),
        "rate_8k": (_wav(_tone(8_000), 8_000), ".wav", True),
        "rate_96k": (_wav(_tone(96_000), 96_000), ".wav", True),
        "pcm_24": (_wav(_tone(SR), SR, subtype="PCM_24"), ".wav", True),
        "float32": (_wav(_tone(SR), SR, subtype="FLOAT"), ".wav", True),
        "six_channels": (_wav(_tone(SR, channels=6), SR), ".wav", True),
        "aiff_big_endian": (_wav(_tone(SR), SR, format="AIFF", endian="BIG"), ".aiff", True),
        "flac": (_wav(_tone(SR), SR, format="FLAC"), ".flac", True),
    }
    out = {}
    for name, (data, ext, valid) in files.items():
        path = folder / f"{name}{ext}"
        path.write_bytes(data)
        out[name] = (path, valid)
    return out
