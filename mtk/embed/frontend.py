"""The embedding front end: 16 kHz mono, the MusiCNN log-mel, 128-frame patches.

As the seed model's inference (Essentia's ``TensorflowInputMusiCNN`` feeding
``TensorflowPredictEffnetDiscogs``, constants read from its source; REFERENCES.md §4):
frames of 512 samples every 256 (centred), Hann window, power spectrum, 96 Slaney-scale mel
bands from 0 to 8 kHz with unit-peak triangles, ``log10(1 + 10000 * mel)``; patches of 128
frames (2.05 s) every 62 frames (1.008 patches a second), a last partial patch discarded.
Any input is resampled to 16 kHz first: the seed's users got wrong answers without it.
librosa computes the mel spectrogram.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
F_MAX = 8_000.0
PATCH = 128  # frames: 2.05 s
PATCH_HOP = 62  # frames: 0.99 s, so about one vector a second
MIN_SECONDS = (PATCH - 1) * HOP / SAMPLE_RATE  # the shortest audio that makes one patch


@dataclass(frozen=True)
class PatchGrid:
    """Where patches fall: ``count`` patches of :data:`PATCH` frames every ``hop`` frames."""

    frames: int
    hop: int = PATCH_HOP

    @property
    def count(self) -> int:
        return 0 if self.frames < PATCH else 1 + (self.frames - PATCH) // self.hop

    def start_seconds(self, index: int) -> float:
        """The time of patch ``index``'s first frame centre."""
        return index * self.hop * HOP / SAMPLE_RATE


def log_mel(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``(96, frames)`` float32 log-mel of mono ``y`` (samples,) at 16 kHz; ``frames = 1 +
    samples // 256``."""
    import librosa

    if sr != SAMPLE_RATE:
        raise ValueError(f"expected {SAMPLE_RATE} Hz audio, got {sr} (resample first)")
    mel = librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32),
        sr=SAMPLE_RATE,
        n_fft=N_FFT,
        hop_length=HOP,
        window="hann",
        center=True,
        power=2.0,
        n_mels=N_MELS,
        fmin=0.0,
        fmax=F_MAX,
        htk=False,  # Slaney's mel scale
        norm=None,  # triangles of peak 1 (Essentia's unit_tri)
    )
    return np.log10(1.0 + 10_000.0 * mel).astype(np.float32)


def patches(mel: np.ndarray, *, hop: int = PATCH_HOP) -> np.ndarray:
    """``(n, 96, 128)`` patches of a ``(96, frames)`` log-mel, every ``hop`` frames: a view,
    no copy; a last partial patch is dropped (``n`` = :class:`PatchGrid` count)."""
    grid = PatchGrid(mel.shape[1], hop)
    if grid.count == 0:
        return np.zeros((0, mel.shape[0], PATCH), dtype=mel.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(mel, PATCH, axis=1)  # (96, frames - 127, 128)
    return windows[:, : grid.count * hop : hop].transpose(1, 0, 2)


def read_log_mel(source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> np.ndarray:
    """The log-mel of an audio file (any format and rate, ``-`` for stdin), checked at the
    I/O boundary: at least :data:`MIN_SECONDS` long, finite, decodable."""
    from mtk.io.audio import read_audio

    y, sr = read_audio(source, sr=SAMPLE_RATE, mono=True, min_duration=MIN_SECONDS, name=name)
    return log_mel(y, sr)
