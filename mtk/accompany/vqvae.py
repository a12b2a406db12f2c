"""The VQ-VAEs over log-mels (one for drums, one for drumless mixes), as the seed's ``vq1``.

Encoder: a 1-D convolution to ``width`` channels, then per x2 downsampling a strided
convolution and a dilated residual block (GroupNorm of 4 groups, LeakyReLU), then a
projection to the ``dim``-dimensional latent; a Jukebox bottleneck of ``codes`` codes
(:class:`mtk.nn.vq.Bottleneck`). The decoder mirrors it with nearest-neighbour upsampling.
The seed's 512 channels become ``width`` (256 by default) for a CPU. Inputs are standardised
per mel band with statistics stored in the module (the seed keeps them in its checkpoint).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mtk.nn.vq import Bottleneck

ARCH = "accompany-vqvae"


@dataclass(frozen=True)
class VQConfig:
    n_mels: int = 80
    width: int = 256
    dim: int = 64
    codes: int = 32
    downs: int = 2  # x2 each: 2 gives the seed's x4
    mu: float = 0.99

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(4, c)


class _Res(nn.Module):
    def __init__(self, c: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(c), nn.LeakyReLU(0.2), nn.Conv1d(c, c, 3, dilation=dilation, padding=dilation),
            _norm(c), nn.LeakyReLU(0.2), nn.Conv1d(c, c, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VQVAE(nn.Module):
    def __init__(
        self, n_mels: int = 80, width: int = 256, dim: int = 64, codes: int = 32, downs: int = 2, mu: float = 0.99
    ):
        super().__init__()
        self.cfg = VQConfig(n_mels, width, dim, codes, downs, mu)
        enc: list[nn.Module] = [nn.Conv1d(n_mels, width, 3, padding=1)]
        for _ in range(downs):
            enc += [nn.Conv1d(width, width, 4, stride=2, padding=1), _Res(width, 1), _Res(width, 3)]
        enc += [_norm(width), nn.LeakyReLU(0.2), nn.Conv1d(width, dim, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        self.bottleneck = Bottleneck(codes, dim, mu)
        dec: list[nn.Module] = [nn.Conv1d(dim, width, 3, padding=1)]
        for _ in range(downs):
            dec += [
                _Res(width, 3),
                _Res(width, 1),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv1d(width, width, 3, padding=1),
            ]
        dec += [_norm(width), nn.LeakyReLU(0.2), nn.Conv1d(width, n_mels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)
        self.register_buffer("mel_mean", torch.zeros(n_mels, 1))
        self.register_buffer("mel_std", torch.ones(n_mels, 1))

    @property
    def hop(self) -> int:
        """Mel frames per code."""
        return 2**self.cfg.downs

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mel_mean.copy_(mean.reshape(-1, 1))
        self.mel_std.copy_(std.reshape(-1, 1).clamp(min=1e-3))

    def _pad(self, mel: torch.Tensor) -> torch.Tensor:
        extra = (-mel.shape[-1]) % self.hop
        return F.pad(mel, (0, extra), mode="replicate") if extra else mel

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, ceil(T / hop))`` of log-mels ``(B, n_mels, T)``."""
        return self.bottleneck.encode(self.encoder((self._pad(mel) - self.mel_mean) / self.mel_std))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Log-mels ``(B, n_mels, T' * hop)`` of codes ``(B, T')``."""
        return self.decoder(self.bottleneck.decode(codes)) * self.mel_std + self.mel_mean

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, float]]:
        """Reconstruction (standardised units), target (standardised), commitment loss, stats."""
        x = (self._pad(mel) - self.mel_mean) / self.mel_std
        q, _, commit, stats = self.bottleneck(self.encoder(x))
        return self.decoder(q), x, commit, stats
