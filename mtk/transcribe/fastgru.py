"""GRUs on the CPU, compiled with numba: the recurrent layers of DrummerNet.

DrummerNet's recurrent layers are narrow (11 and 12 units) and long (8,192 steps a chunk at
inference, 2,048 in training), so torch's per-step overhead, not arithmetic, sets their
speed. This is the same recurrence as :class:`torch.nn.GRU` (gates r, z and
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h) as one compiled loop,
equal to it within float32 rounding (tested), and faster:

- :func:`gru` (inference, no gradient); ``python benchmarks/transcribe.py`` times it against
  torch on the bidirectional time layer over 8 chunks of 8,192 steps;
- :func:`gru_train` (training): the input projection stays a torch product, the recurrence
  is one compiled loop forward and one backward through time (hand-derived gradients,
  tested against torch's autograd); the benchmark times a training step with both.

Hand-written because no library has a small-state GRU scan. numba caches the compiled loops
beside this file (a few seconds, once).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numba
import numpy as np


@numba.njit(cache=True)
def _scan(gi: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, reverse: bool, save: bool = False) -> tuple:
    """``gi``: ``(B, T, 3H)`` input projections (x W_ih^T + b_ih) -> hidden states ``(B, T, H)``;
    with ``save``, also the gates r, z, n and ``W_hn h + b_hn`` of every step (``(B, T, H)``
    each, what the backward pass needs; empty otherwise)."""
    batch, steps, h3 = gi.shape
    size = h3 // 3
    out = np.empty((batch, steps, size), np.float32)
    rs = np.empty((batch, steps, size) if save else (0, 0, 0), np.float32)
    zs, ns, ghn = np.empty_like(rs), np.empty_like(rs), np.empty_like(rs)
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
                if save:
                    rs[b, t, j], zs[b, t, j], ns[b, t, j], ghn[b, t, j] = r, z, n, gh[2 * size + j]
                out[b, t, j] = (1.0 - z) * n + z * h[j]
            for j in range(size):
                h[j] = out[b, t, j]
    return out, rs, zs, ns, ghn


@numba.njit(cache=True)
def _scan_backward(
    grad_out: np.ndarray,
    out: np.ndarray,
    rs: np.ndarray,
    zs: np.ndarray,
    ns: np.ndarray,
    ghn: np.ndarray,
    w_hh: np.ndarray,
    reverse: bool,
) -> tuple:
    """Backpropagation through time of :func:`_scan` (with ``save``): the gradients of the input
    projections ``(B, T, 3H)``, of ``W_hh`` ``(3H, H)`` and of ``b_hh`` ``(3H,)``."""
    batch, steps, size = out.shape
    h3 = 3 * size
    grad_gi = np.empty((batch, steps, h3), np.float32)
    grad_w = np.zeros((h3, size), np.float64)
    grad_b = np.zeros(h3, np.float64)
    dh = np.zeros(size, np.float32)
    dgh = np.empty(h3, np.float32)
    h_prev = np.zeros(size, np.float32)
    for b in range(batch):
        dh[:] = 0.0
        for s in range(steps - 1, -1, -1):  # the forward order, walked backwards
            t = steps - 1 - s if reverse else s
            if s > 0:
                tp = steps - s if reverse else s - 1  # the step before t in the forward order
                for j in range(size):
                    h_prev[j] = out[b, tp, j]
            else:
                h_prev[:] = 0.0
            for j in range(size):
                g = dh[j] + grad_out[b, t, j]
                r, z, n = rs[b, t, j], zs[b, t, j], ns[b, t, j]
                dn = g * (1.0 - z) * (1.0 - n * n)
                dz = g * (h_prev[j] - n) * z * (1.0 - z)
                dr = dn * ghn[b, t, j] * r * (1.0 - r)
                grad_gi[b, t, j], grad_gi[b, t, size + j], grad_gi[b, t, 2 * size + j] = dr, dz, dn
                dgh[j], dgh[size + j], dgh[2 * size + j] = dr, dz, dn * r
                dh[j] = g * z  # the direct path; the recurrent one is added below
            for i in range(h3):
                grad_b[i] += dgh[i]
                for k in range(size):
                    grad_w[i, k] += dgh[i] * h_prev[k]
            for k in range(size):
                acc = dh[k]
                for i in range(h3):
                    acc += w_hh[i, k] * dgh[i]
                dh[k] = acc
    return grad_gi, grad_w.astype(np.float32), grad_b.astype(np.float32)


@cache
def _recurrence() -> Any:
    """The torch autograd function over :func:`_scan` and :func:`_scan_backward`."""
    import torch

    class Recurrence(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, gi: Any, w_hh: Any, b_hh: Any, reverse: bool) -> Any:
            w = w_hh.detach().float().contiguous().numpy()
            saved = _scan(gi.detach().float().contiguous().numpy(), w, b_hh.detach().float().numpy(), reverse, True)
            ctx.saved = (*saved, w)
            ctx.reverse = reverse
            return torch.from_numpy(saved[0].copy())  # a copy: in-place changes to it must not reach the saved states

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            out, rs, zs, ns, ghn, w = ctx.saved
            g = grad_out.float().contiguous().numpy()
            grad_gi, grad_w, grad_b = _scan_backward(g, out, rs, zs, ns, ghn, w, ctx.reverse)
            return torch.from_numpy(grad_gi), torch.from_numpy(grad_w), torch.from_numpy(grad_b), None

    return Recurrence


def _directions(module: Any) -> list[tuple[bool, tuple[Any, Any, Any, Any]]]:
    """``(reverse, (W_ih, b_ih, W_hh, b_hh))`` per direction of a one-layer, batch-first GRU."""
    if module.num_layers != 1 or not module.batch_first:
        raise ValueError("fastgru handles one-layer batch-first GRUs")
    return [
        (
            suffix == "_reverse",
            tuple(getattr(module, f"{n}_l0{suffix}") for n in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")),
        )
        for suffix in ("", "_reverse")[: 2 if module.bidirectional else 1]
    ]


def gru_train(module: Any, x: Any) -> Any:
    """``module`` (a one-layer, batch-first :class:`torch.nn.GRU` on the CPU) on ``x``
    ``(B, T, I)`` with gradients for ``x`` and every weight: as ``module(x)[0]``, faster."""
    import torch

    outs = [
        _recurrence().apply(torch.nn.functional.linear(x, w_ih, b_ih), w_hh, b_hh, reverse)
        for reverse, (w_ih, b_ih, w_hh, b_hh) in _directions(module)
    ]
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)


def gru(module: Any, x: Any) -> Any:
    """``module`` (a one-layer, batch-first :class:`torch.nn.GRU`) on ``x`` ``(B, T, I)``: its
    output sequence ``(B, T, D * H)`` as a tensor, both directions concatenated as torch does."""
    import torch

    xs = x.detach().float().cpu().numpy()
    outs = []
    for reverse, weights in _directions(module):
        w_ih, b_ih, w_hh, b_hh = (w.detach().float().cpu().numpy() for w in weights)
        gi = np.ascontiguousarray(xs @ w_ih.T + b_ih, dtype=np.float32)
        outs.append(_scan(gi, np.ascontiguousarray(w_hh), b_hh, reverse)[0])
    return torch.from_numpy(outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)).to(x.device)
