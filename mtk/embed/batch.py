"""Embedding a catalogue in batches, for ``ray.data.Dataset.map_batches`` and the like.

A batch is a mapping of columns (Ray Data's ``"numpy"`` batch format): a ``path`` column of
audio files in, the same batch out with ``model``, ``vector`` (``(rows, dims)`` float32),
``duration`` and ``error`` ('' when the file embedded; its vector is then zeros) added, so one bad file
never stops a distributed job. :class:`EmbedBatches` loads the model once per worker (pass
the class to ``map_batches`` with ``fn_constructor_kwargs``); nothing here imports Ray.
``examples/ray_embed.py`` runs it over a folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class EmbedBatches:
    """A callable that embeds the ``path`` column of a batch with one loaded model."""

    def __init__(self, model: str | None = None, *, pool: str = "mean", layer: str = "embedding", device: str = "cpu"):
        from mtk.embed.infer import load

        self.embedder = load(model, device=device)
        self.pool, self.layer = pool, layer
        if pool == "none":
            raise ValueError("a batch holds one vector per file: use pool mean or max")

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        from mtk.errors import MtkError

        paths = [str(p) for p in batch["path"]]
        dims = (
            self.embedder.model.encoder.out_dim if self.layer == "embedding" else self.embedder.model.cfg.projection_dim
        )
        vectors = np.zeros((len(paths), dims), np.float32)
        durations = np.zeros(len(paths), np.float64)
        errors = []
        for i, path in enumerate(paths):
            try:
                emb = self.embedder.from_file(path, pool=self.pool, layer=self.layer)
            except MtkError as exc:
                errors.append(str(exc))
                continue
            vectors[i], durations[i] = emb.vectors, emb.duration
            errors.append("")
        names = np.array([self.embedder.name] * len(paths), dtype=object)
        return {
            **batch,
            "model": names,
            "vector": vectors,
            "duration": durations,
            "error": np.array(errors, dtype=object),
        }


def embed_batch(batch: Mapping[str, Any], *, model: str | None = None, **options: Any) -> dict[str, Any]:
    """One batch with a model loaded for it (simple, slower: prefer :class:`EmbedBatches`)."""
    return EmbedBatches(model, **options)(batch)
