"""The log-mel front end every part of ``accompany`` shares (the seed's, at half its rate).

The seed (JukeDrummer) works on 80-band log10 mels, n_fft 1024, hop 256, clamped at 1e-5, at
44.1 kHz. mtk keeps the bands, the window, the hop and the clamp at 22.05 kHz: the frame rate
halves (86 frames a second, 21.5 VQ tokens a second at x4 downsampling), so the language
model's context covers twice the music for the same cost, which is what a CPU can afford; the
drums lose only the air above 11 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22_050
N_FFT = 1024
HOP = 256
N_MELS = 80
CLAMP = 1e-5


@dataclass(frozen=True)
class MelSpec:
    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop: int = HOP
    n_mels: int = N_MELS

    @property
    def fps(self) -> float:
        return self.sample_rate / self.hop

    def frames(self, samples: int) -> int:
        """Frames of a signal of ``samples`` (centred frames, as torch.stft and librosa)."""
        return samples // self.hop + 1


MEL = MelSpec()


def mel_basis(spec: MelSpec = MEL) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` Slaney mel filters from 0 Hz to Nyquist (librosa's)."""
    import librosa

    return librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=0.0, fmax=None)


class LogMel:
    """Mono waveforms ``(..., samples)`` to log10 mels ``(..., n_mels, frames)`` in torch (so
    that a vocoder's loss can differentiate through it)."""

    def __init__(self, spec: MelSpec = MEL) -> None:
        import torch

        self.spec = spec
        self.basis = torch.from_numpy(mel_basis(spec))
        self.window = torch.hann_window(spec.n_fft)

    def __call__(self, y):  # noqa: ANN001, ANN204 (torch in, torch out)
        import torch

        lead = y.shape[:-1]
        flat = y.reshape(-1, y.shape[-1])
        stft = torch.stft(
            flat,
            self.spec.n_fft,
            hop_length=self.spec.hop,
            window=self.window.to(flat.device),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        mel = self.basis.to(flat.device) @ stft.abs()  # (B, n_mels, frames)
        return torch.log10(mel.clamp(min=CLAMP)).reshape(*lead, self.spec.n_mels, -1)


def log_mel(y: np.ndarray, spec: MelSpec = MEL) -> np.ndarray:
    """``(n_mels, frames)`` float32 log10 mel of a mono signal at ``spec.sample_rate``."""
    import torch

    with torch.inference_mode():
        return LogMel(spec)(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))).numpy()
