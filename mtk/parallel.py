"""Worker processes for batches: an ordered parallel map, and a pool that stops on a signal.

Every pool mtk starts comes from :func:`worker_pool`. Its workers ignore Ctrl-C (the parent
decides when a batch ends) and turn SIGTERM into ``SystemExit`` in the running task, so its
``finally`` blocks run (temporary files and folders are removed), and skip every task
queued after it. When the parent leaves the pool by an exception (Ctrl-C, SIGTERM, a bug,
a ``--fail-fast`` stop, a consumer that needs no more), it stops the pool so: nothing is
written after the signal, and a worker still busy after :data:`GRACE_S` is killed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

GRACE_S = 3.0  # seconds a terminated worker has to clean up before it is killed

# Modules whose numba functions are compiled with ``cache=True`` as they are imported (librosa's
# guvectorize functions with explicit signatures). Two workers importing one of them at once on
# a cold cache can each write one of a function's two cache files, and every later process that
# loads the mixed pair crashes (numba issue #10128, a race not fixed in numba 0.68). The parent
# imports them before it starts workers: forked workers inherit the compiled functions, spawned
# ones find a complete cache.
COMPILED_ON_IMPORT = ("librosa.util.utils", "librosa.core.audio", "librosa.core.pitch", "librosa.beat")


_stopping = False  # in a worker: the parent asked it to stop (SIGTERM)
_in_task = False  # in a worker: a task is running


def _on_sigterm(signum: int, frame: object) -> None:
    global _stopping
    first, _stopping = not _stopping, True
    if first and _in_task:  # unwind the running task now: its finally blocks run, it writes nothing more
        raise SystemExit(128 + signum)
    # An idle worker stays to take its sentinel from the executor, so that its queues' pipes never
    # lose their reader while the parent still writes to them.


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _guarded(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    global _in_task
    if _stopping:  # queued before the signal: skipped (the executor reports it and takes the next item)
        raise SystemExit(128 + signal.SIGTERM)
    _in_task = True
    try:
        return fn(*args, **kwargs)
    finally:
        _in_task = False


class _Pool(ProcessPoolExecutor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:  # map() submits too
        return super().submit(_guarded, fn, *args, **kwargs)


def _compile_before_workers() -> None:
    """Import :data:`COMPILED_ON_IMPORT` here, one process, so that no two workers compile them
    (and write their cache files) at once."""
    import importlib

    for name in COMPILED_ON_IMPORT:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


@contextlib.contextmanager
def worker_pool(jobs: int, context: str | None = None) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``jobs`` workers (``context``: a multiprocessing start method) that
    is stopped at once, its running workers terminated, when the ``with`` body raises."""
    mp_context = multiprocessing.get_context(context) if context else None
    _compile_before_workers()
    pool = _Pool(max_workers=jobs, mp_context=mp_context, initializer=_init_worker)
    try:
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)


def stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: the running tasks unwind (SIGTERM), the queued ones are skipped, the
    workers exit; one still busy after :data:`GRACE_S` (in a long C call) is killed."""
    # Before Python 3.14 (terminate_workers) the executor has no public handle on its processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            if hasattr(signal, "SIGPIPE"):  # the executor may still write to the killed worker's pipe
                signal.signal(signal.SIGPIPE, signal.SIG_IGN)
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
