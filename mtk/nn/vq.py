"""A vector-quantisation bottleneck in the style of Jukebox's (Dhariwal et al. 2020).

Codes are updated by exponential moving averages of the vectors assigned to them (decay
``mu``), not by gradients; a code that goes unused (its running count below ``threshold``) is
restarted at a random vector of the current batch, so the codebook stays in use. The encoder
gets the straight-through gradient and a commitment loss pulls its outputs to their codes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Bottleneck(nn.Module):
    """``(B, D, T)`` vectors to their nearest of ``codes`` ``D``-dimensional codes.

    ``forward`` returns the quantised vectors (straight-through), the code indices ``(B, T)``,
    the commitment loss and a dict of codebook statistics (usage, perplexity)."""

    def __init__(self, codes: int = 32, dim: int = 64, mu: float = 0.99, threshold: float = 1.0) -> None:
        super().__init__()
        self.codes, self.dim, self.mu, self.threshold = codes, dim, mu, threshold
        self.register_buffer("codebook", torch.zeros(codes, dim))
        self.register_buffer("ema_sum", torch.zeros(codes, dim))
        self.register_buffer("ema_count", torch.ones(codes))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 1).reshape(-1, self.dim)  # (B*T, D)

    def _random_rows(self, flat: torch.Tensor, n: int) -> torch.Tensor:
        if flat.shape[0] < n:  # too few vectors: repeat them with a little noise
            reps = (n + flat.shape[0] - 1) // flat.shape[0]
            flat = flat.repeat(reps, 1) + 0.01 / self.dim**0.5 * torch.randn_like(flat.repeat(reps, 1))
        return flat[torch.randperm(flat.shape[0], device=flat.device)[:n]]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code indices ``(B, T)`` of ``(B, D, T)`` vectors."""
        flat = self._flat(x)
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t() + self.codebook.pow(2).sum(1)[None]
        return dist.argmin(1).reshape(x.shape[0], x.shape[2])

    def decode(self, idx: torch.Tensor) -> torch.Tensor:
        """``(B, D, T)`` code vectors of indices ``(B, T)``."""
        return F.embedding(idx, self.codebook).permute(0, 2, 1)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, idx: torch.Tensor) -> dict[str, float]:
        if not bool(self.initialised):
            self.codebook.copy_(self._random_rows(flat, self.codes))
            self.ema_sum.copy_(self.codebook)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
        onehot = F.one_hot(idx, self.codes).type_as(flat)  # (N, K)
        count, total = onehot.sum(0), onehot.t() @ flat
        self.ema_sum.mul_(self.mu).add_(total, alpha=1 - self.mu)
        self.ema_count.mul_(self.mu).add_(count, alpha=1 - self.mu)
        used = self.ema_count >= self.threshold
        fresh = self._random_rows(flat, self.codes)
        self.codebook.copy_(torch.where(used[:, None], self.ema_sum / self.ema_count[:, None].clamp(min=1e-6), fresh))
        self.ema_sum.copy_(torch.where(used[:, None], self.ema_sum, fresh))
        self.ema_count.copy_(torch.where(used, self.ema_count, torch.ones_like(self.ema_count)))
        p = count / count.sum()
        return {"perplexity": float(torch.exp(-(p * torch.log(p + 1e-10)).sum())), "restarted": int((~used).sum())}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, float]]:
        flat = self._flat(x)
        if self.training and not bool(self.initialised):
            self._update(flat.detach(), torch.zeros(flat.shape[0], dtype=torch.long, device=x.device))
        idx = self.encode(x)
        stats = self._update(flat.detach(), idx.reshape(-1)) if self.training else {}
        q = self.decode(idx)
        commit = F.mse_loss(x, q.detach())
        return x + (q - x).detach(), idx, commit, stats
