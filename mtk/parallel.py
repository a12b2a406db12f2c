"""Worker processes for batches: an ordered parallel map, and a pool that stops on a signal.

Every pool mtk starts comes from :func:`worker_pool`. Its workers ignore Ctrl-C (the parent
decides when a batch ends) and turn SIGTERM into ``SystemExit``, so their ``finally``
blocks run (temporary files and folders are removed). When the parent leaves the pool by
an exception (Ctrl-C, SIGTERM, a bug, a ``--fail-fast`` stop), queued work is cancelled and
the running workers are terminated at once, then killed after :data:`GRACE_S`: nothing is
written after the signal.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

GRACE_S = 3.0  # seconds a terminated worker has to clean up before it is killed


_stopping = False  # in a worker: a SIGTERM came, run no further task


def _exit_on_signal(signum: int, frame: object) -> None:
    global _stopping
    _stopping = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the executor terminates a broken pool's workers too
    raise SystemExit(128 + signum)  # SystemExit with a code: the worker ends without a traceback


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)


def _guarded(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    # The executor's worker loop catches a task's SystemExit and takes the next task: a worker
    # told to stop must not start one.
    if _stopping:
        os._exit(128 + signal.SIGTERM)
    return fn(*args, **kwargs)


class _Pool(ProcessPoolExecutor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:  # map() submits too
        return super().submit(_guarded, fn, *args, **kwargs)


@contextlib.contextmanager
def worker_pool(jobs: int, context: str | None = None) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``jobs`` workers (``context``: a multiprocessing start method) that
    is stopped at once, its running workers terminated, when the ``with`` body raises."""
    mp_context = multiprocessing.get_context(context) if context else None
    pool = _Pool(max_workers=jobs, mp_context=mp_context, initializer=_init_worker)
    try:
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)


def stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued, terminate the running workers, kill those still alive after
    :data:`GRACE_S`."""
    # Before Python 3.14 (terminate_workers) the executor has no public handle on its processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


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
    with worker_pool(jobs, context) as pool:
        for result in pool.map(fn, items, chunksize=2):
            next(ticker, None)
            out.append(result)
    return out
