"""Arrays computed from a file, cached on disk by the file's content (sha256).

One ``.npy`` per content under a folder (``<sha[:2]>/<sha>.npy``), written atomically; a
damaged entry is computed again and a read-only cache only costs time. Used for the log-mels
of ``mtk situate`` and ``mtk embed``, computed once per recording across commands.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mtk.io.files import atomic_write, read_bytes, sha256_file


class ContentCache:
    """``get(path, compute)``: ``compute(path)``'s array, stored as ``dtype`` and returned as
    float32; computed only for content not seen before."""

    def __init__(self, folder: str | os.PathLike[str], *, dtype: type = np.float16) -> None:
        self.folder = Path(folder)
        self.dtype = dtype

    def path_of(self, sha: str) -> Path:
        return self.folder / sha[:2] / f"{sha}.npy"

    def get(self, path: str | os.PathLike[str], compute: Callable[[str], np.ndarray]) -> np.ndarray:
        read_bytes(path, limit=1)  # one clear error for a missing, unreadable or not-a-file path
        target = self.path_of(sha256_file(path))
        if target.is_file():
            try:
                return np.load(target).astype(np.float32)
            except (OSError, ValueError, EOFError):
                pass  # a damaged entry is computed again
        array = compute(str(path))
        buf = io.BytesIO()
        np.save(buf, array.astype(self.dtype))
        try:
            atomic_write(target, buf.getvalue(), force=True)
        except OSError:
            pass  # a read-only cache only costs time
        return np.asarray(array, dtype=np.float32)
