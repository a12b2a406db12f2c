"""A learned projection of the 2D-Fourier-magnitude fingerprints (stage 1).

The seed reduces its fingerprints with PCA; mtk learns the reduction instead: a two-layer
perceptron (480 -> 512 -> 128, ReLU, unit-norm output) applied to each level's fingerprint,
trained contrastively so that versions of one work are near and other music far
(:func:`mtk.detect_cover.train.train_projection`). Stage 1 then searches the projected
fingerprints by the same closest pairing of levels. It runs in numpy (two small matrix
products per fingerprint): no torch at inference.

A model file with a projection is an ``.npz``: the weights ``w1 b1 w2 b2`` and ``meta``, a
JSON object holding the pair-score calibration fitted on the projected distances.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT = 1


@dataclass(frozen=True)
class Projection:
    """``x -> normalize(w2 @ relu(w1 @ x + b1) + b2)`` over the last axis."""

    w1: np.ndarray  # (hidden, dim)
    b1: np.ndarray
    w2: np.ndarray  # (out, hidden)
    b2: np.ndarray

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """Projected, L2-normalised rows: ``(..., dim) -> (..., out)`` float32."""
        x = np.asarray(vectors, dtype=np.float32)
        h = np.maximum(x @ self.w1.T + self.b1, 0.0)
        y = h @ self.w2.T + self.b2
        return (y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.w1.shape[1])


def save_model(path: str | os.PathLike[str], projection: Projection, meta: dict[str, Any], *, force: bool) -> None:
    """Write a projection and its metadata (calibration, training record) atomically."""
    import io

    from mtk.io.files import atomic_write

    buf = io.BytesIO()
    np.savez(
        buf,
        w1=projection.w1,
        b1=projection.b1,
        w2=projection.w2,
        b2=projection.b2,
        meta=np.frombuffer(json.dumps({"format": FORMAT, **meta}, sort_keys=True).encode(), dtype=np.uint8),
    )
    atomic_write(path, buf.getvalue(), force=force)


def load_model(path: str | os.PathLike[str]) -> tuple[Projection, dict[str, Any]]:
    """``(projection, metadata)`` of a file written by :func:`save_model` (``ValueError`` if not one)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
            proj = Projection(*(z[k].astype(np.float32) for k in ("w1", "b1", "w2", "b2")))
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a detect-cover projection ({type(exc).__name__})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"unsupported projection format {meta.get('format')}")
    return proj, meta
