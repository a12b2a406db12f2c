"""Ordered parallel map over worker processes, with an optional progress ticker."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def parallel_map(
    fn: Callable[[Any], Any],
    items: list[Any],
    jobs: int = 1,
    progress: Callable[[list[Any]], Iterator[Any]] | None = None,
    context: str | None = None,
) -> list[Any]:
    """``[fn(x) for x in items]`` in ``jobs`` processes (``fn`` must pickle), order kept;
    ``context`` a multiprocessing start method ("spawn" for workers that run torch)."""
    ticker = iter(progress(items) if progress else items)
    if jobs <= 1 or len(items) < 2:
        return [fn(x) for x, _ in zip(items, ticker, strict=False)]
    out = []
    mp_context = multiprocessing.get_context(context) if context else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp_context) as pool:
        for result in pool.map(fn, items, chunksize=2):
            next(ticker, None)
            out.append(result)
    return out
