"""A Fourier-head vocoder in the style of Vocos (Siuzdak 2023): log-mel in, waveform out.

A ConvNeXt backbone at the mel frame rate (no upsampling layers, which is what makes it
several times faster than HiFi-GAN on a CPU) predicts, per frame, the log-magnitude and the
phase of an STFT with the mel's own window and hop; an inverse STFT makes the waveform.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

ARCH = "accompany-vocos"


@dataclass(frozen=True)
class VocoderConfig:
    n_mels: int = 80
    dim: int = 256
    layers: int = 8
    n_fft: int = 1024
    hop: int = 256

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class _ConvNeXt(nn.Module):
    def __init__(self, dim: int, scale: float) -> None:
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, 3 * dim)
        self.act = nn.GELU()
        self.down = nn.Linear(3 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        h = self.dw(x).transpose(1, 2)  # (B, T, C)
        h = self.gamma * self.down(self.act(self.up(self.norm(h))))
        return x + h.transpose(1, 2)


class Vocoder(nn.Module):
    """Log10 mels ``(B, n_mels, T)`` to waveforms ``(B, (T - 1) * hop)``."""

    def __init__(self, n_mels: int = 80, dim: int = 256, layers: int = 8, n_fft: int = 1024, hop: int = 256):
        super().__init__()
        self.cfg = VocoderConfig(n_mels, dim, layers, n_fft, hop)
        self.embed = nn.Conv1d(n_mels, dim, 7, padding=3)
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.Sequential(*[_ConvNeXt(dim, 1.0 / layers) for _ in range(layers)])
        self.final = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """The complex STFT ``(B, n_fft // 2 + 1, T)`` the network predicts."""
        x = self.embed((mel + 2.5) / 1.5)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x = self.final(self.blocks(x).transpose(1, 2))  # (B, T, C)
        mag, phase = self.head(x).transpose(1, 2).chunk(2, dim=1)
        mag = torch.exp(mag).clamp(max=100.0)
        return torch.polar(mag, phase)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        spec = self.spectrum(mel)
        length = (mel.shape[-1] - 1) * self.cfg.hop
        return torch.istft(spec, self.cfg.n_fft, self.cfg.hop, window=self.window, center=True, length=length)
