"""Ordered parallel map over worker processes, with an optional progress ticker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def parallel_map(
    fn: Callable[[Any], Any],
    items: list[Any],
    jobs: int = 1,
    progress: Callable[[list[Any]], Iterator[Any]] | None = None,
) -> list[Any]:
    """``[fn(x) for x in items]`` in ``jobs`` processes (``fn`` must pickle), order kept."""
    ticker = progress(items) if progress else iter(items)
    if jobs <= 1 or len(items) < 2:
        return [fn(x) for x, _ in zip(items, ticker, strict=False)]
    out = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(fn, items, chunksize=2):
            next(ticker, None)
            out.append(result)
    return out
