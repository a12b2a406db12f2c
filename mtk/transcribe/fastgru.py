"""GRU inference on the CPU, compiled with numba: the recurrent layers of DrummerNet.

DrummerNet's recurrent layers are narrow (11 and 12 units) and long (8,192 steps a chunk),
so torch's per-step overhead, not arithmetic, sets their speed. This is the same recurrence
as :class:`torch.nn.GRU` (gates r, z and n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
h' = (1 - z) * n + z * h) as one compiled loop, equal to it within float32 rounding (tested),
and faster: ``python benchmarks/transcribe.py`` times both on the bidirectional time layer
over 8 chunks of 8,192 steps. Hand-written because no library has a small-state GRU scan; inference only (no
gradient). numba caches the compiled loop beside this file (about a second, once).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(cache=True)
def _scan(gi: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, reverse: bool) -> np.ndarray:
    """``gi``: ``(B, T, 3H)`` input projections (x W_ih^T + b_ih) -> hidden states ``(B, T, H)``."""
    batch, steps, h3 = gi.shape
    size = h3 // 3
    out = np.empty((batch, steps, size), np.float32)
    h = np.zeros(size, np.float32)
    gh = np.empty(h3, np.float32)
    for b in range(batch):
        h[:] = 0.0
        for s in range(steps):
            t = steps - 1 - s if reverse else s
            for j in range(h3):
                acc = b_hh[j]
                for k in range(size):
                    acc += w_hh[j, k] * h[k]
                gh[j] = acc
            for j in range(size):
                r = 1.0 / (1.0 + np.exp(-(gi[b, t, j] + gh[j])))
                z = 1.0 / (1.0 + np.exp(-(gi[b, t, size + j] + gh[size + j])))
                n = np.tanh(gi[b, t, 2 * size + j] + r * gh[2 * size + j])
                out[b, t, j] = (1.0 - z) * n + z * h[j]
            for j in range(size):
                h[j] = out[b, t, j]
    return out


def gru(module: Any, x: Any) -> Any:
    """``module`` (a one-layer, batch-first :class:`torch.nn.GRU`) on ``x`` ``(B, T, I)``: its
    output sequence ``(B, T, D * H)`` as a tensor, both directions concatenated as torch does."""
    import torch

    if module.num_layers != 1 or not module.batch_first:
        raise ValueError("fastgru handles one-layer batch-first GRUs")
    xs = x.detach().float().cpu().numpy()
    outs = []
    for suffix in ("", "_reverse")[: 2 if module.bidirectional else 1]:
        w_ih, b_ih, w_hh, b_hh = (
            getattr(module, f"{name}_l0{suffix}").detach().float().cpu().numpy()
            for name in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
        )
        gi = np.ascontiguousarray(xs @ w_ih.T + b_ih, dtype=np.float32)
        outs.append(_scan(gi, np.ascontiguousarray(w_hh), b_hh, suffix == "_reverse"))
    return torch.from_numpy(outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)).to(x.device)
