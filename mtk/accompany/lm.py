"""The drum language model: an autoregressive Transformer over drum codes, with
cross-attention to an encoder over the drumless codes and beat embeddings on its input.

As the seed (a Jukebox prior with a "prime" encoder over drumless tokens), scaled for a CPU:
``width`` 192, ``depth`` 4 (encoder 2) and a context of 256 codes (11.9 s) instead of 512,
20 (encoder 9) and 1024 codes (23.8 s). The beat-aware module adds, at every
code position, the embedding of the tracker's information about that stretch of the
drumless input, one of three levels:

- ``low``: the tracker's hidden features (averaged over the code's mel frames) through a
  linear layer (the seed's ``Conv1D(50, d_model)``; its best variant, exp 1);
- ``mid``: whether an activation peak (beat or downbeat) falls in the code's frames;
- ``high``: beat, downbeat or neither, from the decoded positions.

``encoder=False`` drops the drumless encoder (the seed's exp 11 and 12), ``beat=None`` the
beat information (exp 2 and 12).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ARCH = "accompany-drum-lm"
BEAT_LEVELS = ("low", "mid", "high")


@dataclass(frozen=True)
class LMConfig:
    codes: int = 32  # drum codebook
    prime_codes: int = 32  # drumless codebook
    width: int = 192
    depth: int = 4
    encoder_depth: int = 2
    heads: int = 4
    context: int = 256
    dropout: float = 0.1
    encoder: bool = True
    beat: str | None = "low"
    beat_features: int = 50

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class _Attention(nn.Module):
    """Multi-head attention; with a ``cache`` dict, keys and values of earlier steps are kept
    (self-attention) or computed once (cross-attention) for step-by-step sampling."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        self.heads, self.dropout = heads, dropout

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, H, T, C / H)
        b, t, c = x.shape
        return x.view(b, t, self.heads, c // self.heads).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, source: torch.Tensor, *, causal: bool, cache: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        q = self._split(self.q(x))
        if cache is not None and not causal and "k" in cache:  # cross-attention: memory's keys once
            k, v = cache["k"], cache["v"]
        else:
            k, v = (self._split(t) for t in self.kv(source).chunk(2, dim=-1))
            if cache is not None:
                if causal and "k" in cache:
                    k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
                cache["k"], cache["v"] = k, v
        # a cached causal step has one query that may see every kept key
        is_causal = causal and q.shape[2] == k.shape[2] and q.shape[2] > 1
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=is_causal
        )  # (B, H, T, C / H)
        return self.proj(y.transpose(1, 2).reshape(x.shape))


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float, cross: bool, causal: bool) -> None:
        super().__init__()
        self.causal = causal
        self.ln1 = nn.LayerNorm(width)
        self.attn = _Attention(width, heads, dropout)
        self.ln2 = nn.LayerNorm(width) if cross else None
        self.cross = _Attention(width, heads, dropout) if cross else None
        self.ln3 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(dropout)
        )

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor | None = None, cache: dict[str, dict] | None = None
    ) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, causal=self.causal, cache=None if cache is None else cache.setdefault("self", {}))
        if self.cross is not None and memory is not None:
            x = x + self.cross(
                self.ln2(x), memory, causal=False, cache=None if cache is None else cache.setdefault("cross", {})
            )
        return x + self.mlp(self.ln3(x))


class DrumLM(nn.Module):
    """``forward(drums, prime, beat)``: next-code logits ``(B, T, codes)`` for drum codes
    ``(B, T)`` (position t predicts code t from codes < t), given drumless codes ``(B, T)``
    and the beat information ``(B, T, beat_features)`` (low) or ``(B, T)`` indices (mid, high)."""

    def __init__(
        self,
        codes: int = 32,
        prime_codes: int = 32,
        width: int = 192,
        depth: int = 4,
        encoder_depth: int = 2,
        heads: int = 4,
        context: int = 256,
        dropout: float = 0.1,
        encoder: bool = True,
        beat: str | None = "low",
        beat_features: int = 50,
    ) -> None:
        super().__init__()
        if beat is not None and beat not in BEAT_LEVELS:
            raise ValueError(f"beat level {beat!r} (expected one of {BEAT_LEVELS} or None)")
        self.cfg = LMConfig(
            codes, prime_codes, width, depth, encoder_depth, heads, context, dropout, encoder, beat, beat_features
        )
        self.tok = nn.Embedding(codes + 1, width)  # + start
        self.pos = nn.Embedding(context, width)
        self.drop = nn.Dropout(dropout)
        if beat == "low":
            self.beat_in: nn.Module | None = nn.Linear(beat_features, width)
        elif beat == "mid":
            self.beat_in = nn.Embedding(2, width)  # no peak / peak
        elif beat == "high":
            self.beat_in = nn.Embedding(3, width)  # none / beat / downbeat
        else:
            self.beat_in = None
        if encoder:
            self.prime_tok = nn.Embedding(prime_codes, width)
            self.prime_pos = nn.Embedding(context, width)
            self.prime_blocks = nn.ModuleList(
                [_Block(width, heads, dropout, cross=False, causal=False) for _ in range(encoder_depth)]
            )
            self.prime_ln = nn.LayerNorm(width)
        self.blocks = nn.ModuleList([_Block(width, heads, dropout, cross=encoder, causal=True) for _ in range(depth)])
        self.ln = nn.LayerNorm(width)
        self.out = nn.Linear(width, codes)

    @property
    def start(self) -> int:
        return self.cfg.codes

    def encode_prime(self, prime: torch.Tensor) -> torch.Tensor | None:
        """The drumless encoder's memory ``(B, T, width)`` (None without an encoder)."""
        if not self.cfg.encoder:
            return None
        pos = torch.arange(prime.shape[1], device=prime.device)
        x = self.drop(self.prime_tok(prime) + self.prime_pos(pos)[None])
        for block in self.prime_blocks:
            x = block(x)
        return self.prime_ln(x)

    def logits(self, drums: torch.Tensor, memory: torch.Tensor | None, beat: torch.Tensor | None) -> torch.Tensor:
        """Logits for codes 0..T-1 of ``drums`` ``(B, T)`` (the input is shifted right by a start token)."""
        b, t = drums.shape
        inp = torch.cat([torch.full((b, 1), self.start, dtype=drums.dtype, device=drums.device), drums[:, :-1]], 1)
        return self.step(inp, 0, memory, beat)

    def step(
        self,
        inp: torch.Tensor,
        offset: int,
        memory: torch.Tensor | None,
        beat: torch.Tensor | None,
        cache: list[dict] | None = None,
    ) -> torch.Tensor:
        """Logits ``(B, T, codes)`` for input codes ``inp`` ``(B, T)`` at positions
        ``offset..offset+T-1`` (``beat`` covers the whole window); with ``cache`` (one dict per
        layer, empty at first), earlier positions are not recomputed."""
        t = inp.shape[1]
        pos = torch.arange(offset, offset + t, device=inp.device)
        x = self.tok(inp) + self.pos(pos)[None]
        if self.beat_in is not None and beat is not None:
            x = x + self.beat_in(beat[:, offset : offset + t])
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, memory, None if cache is None else cache[i])
        return self.out(self.ln(x))

    def forward(self, drums: torch.Tensor, prime: torch.Tensor, beat: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits(drums, self.encode_prime(prime), beat)

    def loss(self, drums: torch.Tensor, prime: torch.Tensor, beat: torch.Tensor | None = None) -> torch.Tensor:
        return F.cross_entropy(self(drums, prime, beat).flatten(0, 1), drums.flatten())
