"""The SampleMatch front end: 44.1 kHz audio as 128-band log-mel spectrograms.

As the paper (Lattner 2022, section 5): STFT window 2048, 128 mel bands over the whole range
(0 to 22.05 kHz), log-scaled, 4-second contexts; the transform is part of the model (the paper
uses nnAudio; here torchaudio), so excerpts are mixed and augmented as waveforms and the same
module runs on CPU and GPU. Sized for a 2-core CPU, two differences: a hop of 1024 (the paper:
512) and one-shots read for 2 s (the paper pads them to 4 s), which together cut a training
step's frames by 2.7x (345 + 345 frames a pair -> 173 + 87). Shorter inputs are zero-padded at
the end, longer ones cut.
"""

from __future__ import annotations

import torch
from torch import nn

SAMPLE_RATE = 44_100
N_FFT = 2048
HOP = 1024
N_MELS = 128
SECONDS = 4.0  # a context excerpt
SAMPLES = int(SECONDS * SAMPLE_RATE)  # 176,400
SHOT_SECONDS = 2.0  # a one-shot
SHOT_SAMPLES = int(SHOT_SECONDS * SAMPLE_RATE)  # 88,200
LOG_FLOOR = 1e-5  # log(mel + floor): about -100 dB below a full-scale sine's band power


class LogMel(nn.Module):
    """``(B, samples)`` mono waveforms at 44.1 kHz -> ``(B, 128, frames)`` log-mel."""

    def __init__(self) -> None:
        super().__init__()
        import torchaudio

        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, f_min=0.0, f_max=SAMPLE_RATE / 2
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.log(self.mel(wave) + LOG_FLOOR)


def fit_length(wave: torch.Tensor, samples: int = SAMPLES) -> torch.Tensor:
    """``(..., n)`` -> ``(..., samples)``: zero-padded at the end, or cut."""
    n = wave.shape[-1]
    if n >= samples:
        return wave[..., :samples]
    return nn.functional.pad(wave, (0, samples - n))
