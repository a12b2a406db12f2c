"""Sampling drum codes from the language model, for any length.

One window is ``context`` codes. A longer song is generated window after window: each new
window starts at a downbeat between a half and a quarter of a context before the end of what
is already generated, keeps those codes as its given prefix (the model continues them, so
the groove carries over) and samples the rest. The codes are joined in code space, so the
decoder and vocoder, being convolutional, make one continuous track with no seam to fade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _nucleus(logits: Any, temperature: float, top_p: float, generator: Any) -> Any:
    import torch

    probs = torch.softmax(logits / max(temperature, 1e-4), dim=-1)  # (B, V)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # the smallest set whose mass reaches top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs / probs.sum(-1, keepdim=True), 1, generator=generator)  # (B, 1)


def sample_window(
    lm: Any,
    prime: Any,
    beat: Any,
    prefix: Any,
    *,
    temperature: float,
    top_p: float,
    generator: Any,
) -> Any:
    """Drum codes ``(B, T)`` for a window of drumless codes ``prime`` ``(B, T)``, continuing
    the given ``prefix`` ``(B, P)`` codes (P may be 0)."""
    import torch

    b, t = prime.shape
    with torch.inference_mode():
        memory = lm.encode_prime(prime)
        cache: list[dict] = [{} for _ in lm.blocks]
        start = torch.full((b, 1), lm.start, dtype=torch.long, device=prime.device)
        inp = torch.cat([start, prefix], 1)  # positions 0..P
        logits = lm.step(inp, 0, memory, beat, cache)[:, -1]
        out = [prefix]
        for pos in range(prefix.shape[1], t):
            code = _nucleus(logits, temperature, top_p, generator)
            out.append(code)
            if pos + 1 < t:
                logits = lm.step(code, pos + 1, memory, beat, cache)[:, -1]
    return torch.cat(out, 1)


def next_start(end: int, context: int, downbeats: Sequence[int]) -> int:
    """Where the window after one ending at ``end`` starts: the latest downbeat code at most a
    quarter context before ``end`` and at least half a context before it, else a quarter."""
    lo, hi = end - context // 2, end - context // 4
    chosen = [d for d in downbeats if lo <= d <= hi]
    return max(chosen) if chosen else hi


def generate(
    lm: Any,
    prime: np.ndarray,
    beat: np.ndarray | None,
    downbeats: Sequence[int],
    *,
    temperature: float = 0.96,
    top_p: float = 0.8,
    seed: int = 0,
    device: Any = "cpu",
) -> np.ndarray:
    """Drum codes ``(N,)`` for drumless codes ``prime`` ``(N,)``, the beat information per
    code (``(N, F)`` features, ``(N,)`` indices or None) and the downbeats' code indices."""
    import torch

    n, context = int(prime.shape[0]), lm.cfg.context
    generator = torch.Generator(device=device).manual_seed(seed)
    codes = np.zeros(n, dtype=np.int64)
    start, end = 0, 0
    while end < n:
        stop = min(start + context, n)
        window = torch.from_numpy(prime[start:stop].astype(np.int64))[None].to(device)
        b = None if beat is None else torch.from_numpy(np.asarray(beat[start:stop]))[None].to(device)
        prefix = torch.from_numpy(codes[start:end])[None].to(device)
        got = sample_window(lm, window, b, prefix, temperature=temperature, top_p=top_p, generator=generator)
        codes[start:stop] = got[0].cpu().numpy()
        end = stop
        if end < n:
            start = next_start(end, context, downbeats)
    return codes
