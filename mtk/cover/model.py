"""The genre classifier's network: an MLP over ``mtk embed`` vectors (no I/O here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from mtk.corpus.styles import STYLES

ARCH = "cover-genre-mlp"
GENRES: tuple[str, ...] = tuple(STYLES)


@dataclass(frozen=True)
class GenreConfig:
    """The MLP: ``inputs`` -> ``hidden`` (ReLU, dropout) -> one logit per genre."""

    inputs: int = 1280
    hidden: int = 256
    dropout: float = 0.3
    genres: tuple[str, ...] = GENRES
    embed: str = ""  # the embedding model whose vectors it reads

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "genres": list(self.genres)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenreConfig:
        return cls(**{**data, "genres": tuple(data.get("genres", GENRES))})


class GenreMLP(nn.Module):
    """Standardised embedding (the training set's mean and deviation, stored) -> genre logits."""

    def __init__(self, cfg: GenreConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mean", torch.zeros(cfg.inputs))
        self.register_buffer("scale", torch.ones(cfg.inputs))
        self.net = nn.Sequential(
            nn.Linear(cfg.inputs, cfg.hidden),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, len(cfg.genres)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.scale)


def build_mlp(cfg: GenreConfig) -> GenreMLP:
    """A randomly initialised :class:`GenreMLP` (torch's default initialisation)."""
    return GenreMLP(cfg)
