"""Embedding audio with a trained model: patches in batches, pooled or one vector a second.

``load(name_or_path, device)`` gives an :class:`Embedder`; ``from_file(path)`` and
``from_audio(y, sr)`` return an :class:`Embedding`. The log-mel of a whole file is small
(10 minutes: 14 MB) and its patches are views of it, encoded ``batch`` at a time, so memory
stays bounded whatever the length. On one CPU thread 16 patches a batch were both faster and
lighter than 64 (B0, a 10-minute file: 135x against 109x real time, peak RSS 1.00 against 1.19
GB with torch and librosa loaded: ``benchmarks/embed.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.embed.frontend import SAMPLE_RATE, PatchGrid, log_mel, patches, read_log_mel
from mtk.errors import InputError, UsageError

TASK = "embed"
POOLS = ("mean", "max", "none")
LAYERS = ("embedding", "projection")


@dataclass
class Embedding:
    """``vectors``: ``(dims,)`` pooled, or ``(patches, dims)`` with ``times`` (each patch's
    start in seconds) for ``pool="none"``."""

    vectors: np.ndarray
    times: np.ndarray
    duration: float
    model: str
    pool: str
    layer: str

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[-1])

    def to_dict(self) -> dict[str, Any]:
        """The JSON record's fields (vectors rounded to 6 decimals)."""
        out: dict[str, Any] = {"model": self.model, "dims": self.dims, "pool": self.pool, "layer": self.layer}
        out["duration"] = round(self.duration, 3)
        if self.pool == "none":
            out["times"] = [round(float(t), 3) for t in self.times]
            out["vectors"] = np.round(self.vectors, 6).tolist()
        else:
            out["vector"] = np.round(self.vectors, 6).tolist()
        return out


class Embedder:
    """A loaded embedding model on a device."""

    def __init__(self, model: Any, *, name: str, device: Any = "cpu", batch: int = 16, key: str = "") -> None:
        self.model = model.to(device).eval()
        self.name, self.device, self.batch = name, device, batch
        self.key = key  # what identifies the weights (a file's sha256), for caches of vectors; '' if unknown

    def from_mel(
        self, mel: np.ndarray, *, pool: str = "mean", layer: str = "embedding", association: str | None = None
    ) -> Embedding:
        """Embed a ``(96, frames)`` log-mel (see :mod:`mtk.embed.frontend`)."""
        import torch

        if pool not in POOLS or layer not in LAYERS:
            raise UsageError(f"--pool is one of {', '.join(POOLS)} and --layer one of {', '.join(LAYERS)}")
        heads = self.model.heads
        head = association or next(iter(heads), None)
        if layer == "projection" and head not in heads:
            raise UsageError(
                f"the model has no {head or 'projection'} head", hint=f"heads: {', '.join(heads) or 'none'}"
            )
        grid = PatchGrid(mel.shape[1])
        if grid.count == 0:
            raise InputError("audio too short for one patch (2.03 s)")
        windows = patches(mel)
        out = []
        with torch.no_grad():
            for start in range(0, grid.count, self.batch):
                x = torch.from_numpy(np.ascontiguousarray(windows[start : start + self.batch])).to(self.device)
                h = self.model(x)  # (b, 1280)
                if layer == "projection":
                    h = heads[head](h)  # (b, 512)
                out.append(h.float().cpu().numpy())
        vectors = np.concatenate(out)
        times = np.array([grid.start_seconds(i) for i in range(grid.count)], dtype=np.float32)
        if pool == "mean":
            vectors = vectors.mean(axis=0)
        elif pool == "max":
            vectors = vectors.max(axis=0)
        duration = (mel.shape[1] - 1) * 256 / SAMPLE_RATE
        return Embedding(vectors.astype(np.float32), times, duration, self.name, pool, layer)

    def from_audio(self, y: np.ndarray, sr: int, **options: Any) -> Embedding:
        """Embed mono float audio ``y`` (samples,) at ``sr`` Hz (resampled to 16 kHz)."""
        from mtk.io.audio import resample

        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1:
            raise UsageError("expected mono audio of shape (samples,)")
        return self.from_mel(log_mel(resample(y, sr, SAMPLE_RATE), SAMPLE_RATE), **options)

    def from_file(self, path: str | os.PathLike[str] | bytes, *, name: str | None = None, **options: Any) -> Embedding:
        """Embed an audio file (any libsndfile format and rate, ``-`` for stdin, or its bytes
        with a ``name`` for messages); a silent one (digital zero throughout) is an input
        error: it has nothing to embed."""
        mel = read_log_mel(path, name=name)
        if not mel.any():
            raise InputError(f"{name or path}: silent (digital zero throughout): nothing to embed")
        return self.from_mel(mel, **options)


def load(name_or_path: str | None = None, device: Any = "cpu") -> Embedder:
    """An :class:`Embedder` from a registry name (default: the task's shipped model) or a
    checkpoint written by ``mtk train embed``."""
    import torch

    from mtk.embed.model import ARCH, EmbedConfig, EmbedModel
    from mtk.io.files import sha256_file
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import check_task, default_entry, get_entry
    from mtk.weights.store import looks_like_path, resolve

    if name_or_path is None:
        name_or_path = default_entry(TASK).name
    if not looks_like_path(name_or_path) and get_entry(name_or_path).debug:
        entry = check_task(get_entry(name_or_path), TASK)
        torch.manual_seed(entry.seed)
        model = EmbedModel(EmbedConfig(**entry.config))
        return Embedder(model, name=entry.name, device=device, key=f"{entry.name}-seed{entry.seed}")
    resolved = resolve(name_or_path, task=TASK)
    ckpt = load_checkpoint(resolved.path, arch=ARCH)
    model = EmbedModel(EmbedConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    return Embedder(model, name=resolved.name, device=device, key=sha256_file(resolved.paths[0]))
