"""The beat and downbeat tracker of the beat-aware module: a network over drumless log-mels.

A convolutional front end over each frame's spectrum and a non-causal temporal
convolutional network (TCN) with dilations 1..2^(layers-1), as the multi-task TCN trackers
of Böck and Davies (2019-2020) that hold the best public beat results for their size; the
seed's tracker (Drum-Aware4Beat) is a BLSTM whose 50-d hidden features are its "low-level"
information. Here the TCN's ``width``-channel output (50 by default, as the seed's) is that
feature, and two linear heads turn it into beat and downbeat activations. A TCN trains and
runs several times faster than a BLSTM on a CPU, with a receptive field of minutes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

ARCH = "accompany-beat-tcn"
# Peak-normalised log10 mels lie in [-5, 0.5] with a median near -2: centred and scaled to about +-1.
MEL_CENTER, MEL_SCALE = -2.5, 1.5


@dataclass(frozen=True)
class TrackerConfig:
    n_mels: int = 80
    width: int = 50  # channels of the TCN: the low-level beat feature
    layers: int = 10  # dilations 1, 2, 4, ... 2^(layers - 1)
    kernel: int = 5
    dropout: float = 0.1

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class _Block(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv1d(width, width, kernel, dilation=dilation, padding=pad)
        self.mix = nn.Conv1d(width, width, 1)
        self.act = nn.ELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.mix(self.drop(self.act(self.conv(x))))


class BeatTracker(nn.Module):
    """Log-mel ``(B, n_mels, T)`` to beat and downbeat logits ``(B, 2, T)``; ``features``
    gives the ``(B, width, T)`` low-level features as well."""

    def __init__(self, n_mels: int = 80, width: int = 50, layers: int = 10, kernel: int = 5, dropout: float = 0.1):
        super().__init__()
        self.cfg = TrackerConfig(n_mels, width, layers, kernel, dropout)
        self.front = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ELU(),
            nn.MaxPool2d((3, 1)),  # pools frequency, keeps every frame
            nn.Dropout(dropout),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.ELU(),
            nn.MaxPool2d((3, 1)),
            nn.Dropout(dropout),
        )
        bands = n_mels // 3 // 3
        self.squeeze = nn.Conv2d(16, width, (bands, 1))
        self.tcn = nn.Sequential(*[_Block(width, kernel, 2**i, dropout) for i in range(layers)])
        self.act = nn.ELU()
        self.head = nn.Conv1d(width, 2, 1)

    def features(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.front(((mel - MEL_CENTER) / MEL_SCALE)[:, None])  # (B, 16, bands, T)
        x = self.act(self.squeeze(x)[:, :, 0])  # (B, width, T)
        feats = self.act(self.tcn(x))
        return feats, self.head(feats)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.features(mel)[1]
