"""The structure-aware infilling Transformer (Tan, Su & Yang 2022), sized for the CPU.

A sequence-to-sequence Transformer (torch's encoder and decoder layers):

- the **decoder** reads ``[BOS] past [SEP] future [GAP] target [EOS]`` causally. Besides
  token and position embeddings, each token carries an **order embedding** of where its
  segment sits in the music (past 0, target 1, future 2), so the model knows the future
  comes after what it writes (the seed's order embeddings), and the target's ``Bar(k)``
  count-down fixes the infill's length;
- the **encoder** reads the structural contexts, each section's tokens tagged with a
  context id;
- **attention selecting**: a decoder token cross-attends only to the encoder tokens of
  its own context id (the context chosen for its target section), plus a learned null
  memory slot that every token may use, which is all a token without a context sees.
  Switching the structure off (context id -1 everywhere) gives the structure-agnostic
  model the paper compares with.

Sizes: 192-d, 4 heads, 1 encoder and 3 decoder layers, feed-forward 768 (2,676,499
parameters with the tune books' vocabulary; the seed's 512-d, 6-8 layers would not train on
2 CPU cores in hours, and a 256-d, 2 + 4 layer model (6.4 M) took 1.15 s a step against
0.60 s for this one on the same batches).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from mtk.infill.tokens import vocabulary_v1

ORDERS = 3  # past, target, future


@dataclass(frozen=True)
class InfillConfig:
    vocab: int
    d_model: int = 192
    heads: int = 4
    encoder_layers: int = 1
    decoder_layers: int = 3
    feed_forward: int = 768
    max_len: int = 1536
    dropout: float = 0.1

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class InfillTransformer(nn.Module):
    """Logits of the next token, from decoder tokens and structural-context tokens."""

    def __init__(self, cfg: InfillConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.token = nn.Embedding(cfg.vocab, d)
        self.position = nn.Embedding(cfg.max_len, d)
        self.order = nn.Embedding(ORDERS, d)
        self.null_memory = nn.Parameter(torch.zeros(1, 1, d))
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d, cfg.heads, cfg.feed_forward, cfg.dropout, batch_first=True, norm_first=True),
            cfg.encoder_layers,
            enable_nested_tensor=False,
        )
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, cfg.heads, cfg.feed_forward, cfg.dropout, batch_first=True, norm_first=True),
            cfg.decoder_layers,
        )
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab)

    def forward(
        self,
        tokens: torch.Tensor,
        orders: torch.Tensor,
        contexts: torch.Tensor,
        struct_tokens: torch.Tensor,
        struct_contexts: torch.Tensor,
    ) -> torch.Tensor:
        """Logits ``(B, T, vocab)``.

        Args:
            tokens, orders, contexts: decoder token ids, segment orders (0-2) and context
                ids (-1: none) ``(B, T)``; padding is token id 0.
            struct_tokens, struct_contexts: encoder token ids and their context ids
                ``(B, S)``; padding has context id -1 (``S`` may be 0).
        """
        b, t = tokens.shape
        pos = torch.arange(t, device=tokens.device)
        x = self.token(tokens) + self.position(pos)[None] + self.order(orders)
        memory = self.encode(struct_tokens, struct_contexts)
        mem_ctx = torch.cat([struct_contexts.new_full((b, 1), -2), struct_contexts], dim=1)  # null slot: -2
        # Allowed: the null slot, and encoder tokens of the decoder token's own context.
        allowed = (mem_ctx[:, None, :] == -2) | (
            (mem_ctx[:, None, :] == contexts[:, :, None]) & (contexts[:, :, None] >= 0)
        )
        cross = _additive(allowed, x.dtype).repeat_interleave(self.cfg.heads, dim=0)
        causal = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device, dtype=x.dtype)
        padding = _additive(tokens != 0, x.dtype)
        h = self.decoder(
            x, memory, tgt_mask=causal, memory_mask=cross, tgt_key_padding_mask=padding, tgt_is_causal=True
        )
        return self.head(self.norm(h))

    def encode(self, struct_tokens: torch.Tensor, struct_contexts: torch.Tensor) -> torch.Tensor:
        """Encoder states ``(B, 1 + S, d)``: the null slot, then the structural contexts."""
        b = struct_tokens.shape[0]
        null = self.null_memory.expand(b, 1, -1)
        if struct_tokens.shape[1] == 0:
            return null
        pos = torch.arange(struct_tokens.shape[1], device=struct_tokens.device)
        s = self.token(struct_tokens) + self.position(pos)[None]
        # Each context is encoded on its own: attention within the same context id (padding,
        # id -1, attends to padding and is never read).
        same = struct_contexts[:, :, None] == struct_contexts[:, None, :]
        mask = _additive(same, s.dtype).repeat_interleave(self.cfg.heads, dim=0)
        enc = self.encoder(s, mask=mask)
        return torch.cat([null, enc], dim=1)


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """An attention mask to add to the scores: 0 where allowed, -inf elsewhere."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, float("-inf"))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def remap_vocabulary(state: dict[str, Any], old: list[str], new: list[str]) -> dict[str, Any]:
    """``state`` (token embedding ``token.weight``, output ``head.weight`` and ``head.bias``
    over ``old``) with those rows over ``new``: matched by name; a new token's embedding and
    output weights are the mean row, its output bias the lowest (as unlikely as the least
    likely old token)."""
    where = {t: i for i, t in enumerate(old)}
    out = dict(state)
    for key in ("token.weight", "head.weight", "head.bias"):
        rows = state[key]
        fill = rows.min() if key == "head.bias" else rows.mean(dim=0)
        fresh = fill.expand(len(new), *rows.shape[1:]).clone()
        for i, t in enumerate(new):
            if t in where:
                fresh[i] = rows[where[t]]
        out[key] = fresh
    return out


def over_vocabulary(ckpt: dict[str, Any], vocab: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A checkpoint's config and float32 state with its token rows matched to ``vocab`` by
    name (its ``meta["vocabulary"]``, or :func:`~mtk.infill.tokens.vocabulary_v1` for weights
    saved before checkpoints kept theirs)."""
    old = (ckpt.get("meta") or {}).get("vocabulary") or vocabulary_v1()
    if len(old) != ckpt["config"]["vocab"]:
        raise ValueError(f"{ckpt['config']['vocab']} tokens in the weights, {len(old)} in their vocabulary")
    state = {k: v.float() for k, v in ckpt["state_dict"].items()}
    if list(old) != list(vocab):
        state = remap_vocabulary(state, old, vocab)
    return {**ckpt["config"], "vocab": len(vocab)}, state
