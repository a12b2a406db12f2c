"""The training loop of mtk's supervised models (accompany's parts, transcribe's CRNN): resume, validation, checkpoints.

A run folder holds ``last.pt`` (the latest state, optimiser included: ``mtk train`` resumes
from it), ``best.pt`` (the best validation score so far) and ``log.jsonl`` (the mean loss
every ``log_every`` steps and the validation scores every ``checkpoint_every`` steps).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtk.errors import UsageError
from mtk.trainlog import StepLog


@dataclass
class Run:
    """What a run is: its folder, the module's arch and config, what its checkpoints also
    store (``meta``; the keys in ``match`` must agree to resume), and the validation score
    that picks ``best.pt`` (``lower``: lower is better)."""

    folder: Path
    arch: str
    config: dict[str, Any]
    score: str
    lower: bool
    meta: dict[str, Any] = field(default_factory=dict)
    match: tuple[str, ...] = ()


@dataclass
class Schedule:
    steps: int
    checkpoint_every: int
    log_every: int = 25
    clip: float | None = None  # gradient norm clipping


def _logged_best(run: Run, default: float) -> float:
    """The best validation score in the run's log (checkpoints written before they stored it)."""
    import json

    path = run.folder / "log.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    scores = [r[run.score] for r in map(json.loads, filter(None, lines)) if run.score in r]
    return (min if run.lower else max)(scores, default=default)


def cosine(step: int, steps: int) -> float:
    """A cosine decay of the learning rate from 1 to 0 over ``steps``."""
    return 0.5 * (1 + math.cos(math.pi * min(step, steps) / max(steps, 1)))


def fit(
    run: Run,
    net: Any,
    optim: Any,
    sched: Any,
    schedule: Schedule,
    *,
    batches: Callable[[int], Iterator[Any]],
    loss: Callable[[Any], tuple[Any, dict[str, Any]]],
    validate: Callable[[], dict[str, Any]],
    fresh: Callable[[], None] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) ``net`` in ``run``; returns the last record.

    ``batches(step)`` starts the batch stream of a run at ``step`` (a resumed run draws new
    batches); ``loss(batch)`` gives the loss and extra fields for the log; ``fresh()`` runs
    once before the first step of a new run (input statistics)."""
    import torch

    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    run.folder.mkdir(parents=True, exist_ok=True)
    last, best_path = run.folder / "last.pt", run.folder / "best.pt"
    state = load_checkpoint(last, arch=run.arch) if last.exists() else None
    if state and (state["config"] != run.config or any(state["meta"].get(k) != run.meta.get(k) for k in run.match)):
        held = [state["config"], *(state["meta"].get(k) for k in run.match)]
        raise UsageError(f"{run.folder}: a run of other settings ({', '.join(map(str, held))}); use another -o")
    step, best = 0, float("inf") if run.lower else -float("inf")
    if state:
        net.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step = int(state["step"])
        best = float(state["best"]) if "best" in state else _logged_best(run, best)
        sched.last_epoch = step
    elif fresh is not None:
        fresh()
    stream = batches(step)

    def save(path: Path) -> None:
        save_checkpoint(
            path, arch=run.arch, config=run.config, state_dict=net.state_dict(), optimizer=optim.state_dict(),
            step=step, best=best, meta=run.meta,
        )  # fmt: skip

    log_file = (run.folder / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    try:
        while step < schedule.steps:
            net.train()
            value, extra = loss(next(stream))
            optim.zero_grad()
            value.backward()
            if schedule.clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), schedule.clip)
            optim.step()
            sched.step()
            step += 1
            log.add(value.item())
            if step % schedule.log_every == 0 or step == schedule.steps:
                record = log.record(step, **extra)
            if step % schedule.checkpoint_every == 0 or step == schedule.steps:
                scores = validate()
                record = {**record, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                score = float(scores[run.score])
                if (score < best) if run.lower else (score > best):
                    best = score
                    save(best_path)
                save(last)
    finally:
        log_file.close()
    return record
