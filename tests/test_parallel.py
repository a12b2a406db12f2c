"""Worker pools: results in order, and a pool left early stops at once and writes nothing."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from mtk.parallel import parallel_map, worker_pool


def _square(x: int) -> int:
    return x * x


def _slow_write(args: tuple[str, int]) -> int:
    folder, i = args
    with tempfile.TemporaryDirectory(dir=folder, prefix="work-") as tmp:
        Path(tmp, "partial").write_bytes(b"x")
        time.sleep(5.0)  # interrupted here: the temporary folder goes, the output never comes
        Path(folder, f"out{i}").write_bytes(b"done")
    return i


def _loaded(names: tuple[str, ...]) -> bool:
    return all(name in sys.modules for name in names)


def test_workers_start_with_the_functions_numba_compiles_on_import_loaded() -> None:
    """No two workers compile librosa's cached guvectorize functions at once (numba #10128:
    a cold cache written by two processes at once crashes every later run): the parent has
    imported them before the workers start. A fresh interpreter, so that nothing is loaded yet."""
    code = textwrap.dedent(
        """
        import sys
        from mtk.parallel import COMPILED_ON_IMPORT, worker_pool
        from tests.test_parallel import _loaded
        assert not any(name in sys.modules for name in COMPILED_ON_IMPORT)
        with worker_pool(2, "fork") as pool:
            print(all(pool.map(_loaded, [COMPILED_ON_IMPORT] * 4)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "True"


def test_parallel_map_keeps_order() -> None:
    assert parallel_map(_square, list(range(9)), jobs=2) == [x * x for x in range(9)]


def test_leaving_a_pool_early_stops_its_workers_and_writes_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), worker_pool(2) as pool:
        futures = [pool.submit(_slow_write, (str(tmp_path), i)) for i in range(6)]
        time.sleep(1.0)
        raise KeyboardInterrupt
    assert time.monotonic() - started < 3.0
    assert all(f.done() for f in futures)
    time.sleep(0.5)
    assert list(tmp_path.iterdir()) == []


def test_consumers_that_stop_early_never_kill_the_parent() -> None:
    """With SIGPIPE at its default (as the CLI sets it), a generator over a pool closed early,
    again and again, must not die of a write to a stopped worker's pipe."""
    script = textwrap.dedent(
        """
        import signal, time
        from mtk.parallel import worker_pool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

        def work(x):
            time.sleep(0.01)
            return x

        def results():
            with worker_pool(2) as pool:
                yield from pool.map(work, range(64), chunksize=4)

        if __name__ == "__main__":
            for _ in range(15):
                gen = results()
                for x in gen:
                    if x == 5:
                        break
                gen.close()
            print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok" and proc.stderr == "", proc.stderr
