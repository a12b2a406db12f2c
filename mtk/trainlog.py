"""The log records every training loop writes: the mean loss since the last record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import IO, Any


class StepLog:
    """Collects step losses; :meth:`record` averages them into one record, writes it as a
    JSON line to ``file`` (when given) and passes it to ``on_log``."""

    def __init__(self, file: IO[str] | None, on_log: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.file, self.on_log = file, on_log
        self.losses: list[float] = []
        self.tic = time.monotonic()

    def add(self, loss: float) -> None:
        self.losses.append(loss)

    def record(self, step: int, **extra: Any) -> dict[str, Any]:
        mean = sum(self.losses) / max(len(self.losses), 1)
        out = {"step": step, "loss": round(mean, 5), **extra, "seconds": round(time.monotonic() - self.tic, 1)}
        self.losses.clear()
        if self.file is not None:
            self.file.write(json.dumps(out) + "\n")
            self.file.flush()
        if self.on_log:
            self.on_log(out)
        return out
