"""What the language model reads per code position: the drumless codes and the beat-aware
module's three levels of information, pooled from mel frames to codes.

- low: the tracker's features averaged over each code's ``hop`` mel frames ``(N, width)``;
- mid: 1 where an activation peak (beat or downbeat activation above ``PEAK``, a local
  maximum) falls in the code's frames, else 0;
- high: 2 where a decoded downbeat falls in the code's frames, 1 a beat, else 0.
"""

from __future__ import annotations

import numpy as np

from mtk.accompany.infer import BeatAnalysis

PEAK = 0.3


def pool(frames: np.ndarray, hop: int, tokens: int) -> np.ndarray:
    """``(width, T)`` frame features to ``(tokens, width)`` means over ``hop`` frames."""
    width, t = frames.shape
    padded = np.zeros((width, tokens * hop), dtype=np.float32)
    n = min(t, tokens * hop)
    padded[:, :n] = frames[:, :n]
    if n < tokens * hop and n > 0:
        padded[:, n:] = frames[:, n - 1 : n]
    return padded.reshape(width, tokens, hop).mean(-1).T


def _token_marks(frames: np.ndarray, hop: int, tokens: int) -> np.ndarray:
    idx = np.asarray(frames, dtype=int) // hop
    out = np.zeros(tokens, dtype=bool)
    out[idx[(idx >= 0) & (idx < tokens)]] = True
    return out


def levels(analysis: BeatAnalysis, fps: float, hop: int, tokens: int) -> dict[str, np.ndarray]:
    """``{"low": (N, width) float32, "mid": (N,) int64, "high": (N,) int64}`` for ``tokens`` codes."""
    from scipy.signal import find_peaks

    peaks = np.concatenate([find_peaks(a, height=PEAK)[0] for a in analysis.activations])
    mid = _token_marks(peaks, hop, tokens).astype(np.int64)
    high = _token_marks(np.round(analysis.beats.beats * fps), hop, tokens).astype(np.int64)
    high[_token_marks(np.round(analysis.beats.downbeats * fps), hop, tokens)] = 2
    return {"low": pool(analysis.features, hop, tokens), "mid": mid, "high": high}


def downbeat_tokens(downbeats: np.ndarray, fps: float, hop: int, tokens: int) -> list[int]:
    """Code indices of downbeat times (seconds)."""
    idx = np.round(np.asarray(downbeats) * fps / hop).astype(int)
    return sorted({int(i) for i in idx if 0 <= i < tokens})
