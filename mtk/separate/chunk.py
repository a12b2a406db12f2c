"""Chunked separation of any length with a linear cross-fade, in bounded memory.

Written here rather than taken from ``demucs.apply.apply_model`` because that holds the whole
input and all stems of it in memory at once; this reads a chunk at a time from any
``read(start, frames)`` and hands finished spans downstream as soon as they are final, so
memory is a few chunks whatever the file's length.

Chunks of ``chunk`` samples start every ``chunk - overlap``; in each overlap the earlier
chunk fades out linearly while the later one fades in, the weights summing to one, so stems
that sum to their chunk's mixture still sum to the whole mixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

Reader = Callable[[int, int], np.ndarray]  # (start, frames) -> (channels, frames), zero-padded past the end
Separate = Callable[[np.ndarray], np.ndarray]  # (channels, n) -> (stems, channels, n)


def chunk_starts(total: int, chunk: int, overlap: int) -> list[int]:
    """Start sample of every chunk covering ``total`` samples."""
    if not 0 <= overlap < chunk:
        raise ValueError("need 0 <= overlap < chunk")
    hop = chunk - overlap
    starts = [0]
    while starts[-1] + chunk < total:
        starts.append(starts[-1] + hop)
    return starts


def separate_chunks(read: Reader, total: int, separate: Separate, *, chunk: int, overlap: int) -> Iterator[np.ndarray]:
    """Yield ``(stems, channels, n)`` spans in order, ``total`` samples in all."""
    starts = chunk_starts(total, chunk, overlap)
    fade_in = np.linspace(0.0, 1.0, overlap + 2, dtype=np.float32)[1:-1]
    pending: np.ndarray | None = None  # the faded-out tail of the previous chunk
    for k, start in enumerate(starts):
        length = min(chunk, total - start)
        out = separate(read(start, length)).astype(np.float32, copy=False)
        if pending is not None:  # cross-fade with the previous chunk's tail (every chunk is longer than it)
            out[..., :overlap] *= fade_in
            out[..., :overlap] += pending
        last = k == len(starts) - 1
        if last:
            yield out
            return
        keep = starts[k + 1] - start  # samples final once the next chunk starts
        pending = out[..., keep:] * fade_in[::-1]
        yield out[..., :keep]
