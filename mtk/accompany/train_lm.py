"""Training the drum language model on coded corpus songs (resumable).

Each step: a batch of windows starting at downbeats (:func:`mtk.accompany.lmdata.lm_batches`),
next-code cross-entropy, AdamW with 200 warm-up steps and a cosine decay (the seed: Jukebox's
optimiser, learning rate 3e-4). Every ``checkpoint_every`` steps the validation windows'
cross-entropy (nats per code) is measured; ``run/best.pt`` keeps the lowest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.lm import ARCH, LMConfig
from mtk.accompany.lmdata import CodedSong, lm_batches, valid_windows
from mtk.errors import UsageError
from mtk.trainlog import StepLog


@dataclass
class LMOptions:
    steps: int = 4_000
    batch: int = 8
    lr: float = 3e-4
    warmup: int = 200
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 250
    log_every: int = 25


def _tensor(a: np.ndarray | None, device: Any) -> Any:
    import torch

    return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)


def validate(net: Any, windows: Sequence[tuple], device: Any) -> dict[str, Any]:
    import torch

    net.eval()
    losses = []
    with torch.inference_mode():
        for drums, prime, beat in windows:
            b = None if beat is None else _tensor(beat[None], device)
            losses.append(float(net.loss(_tensor(drums[None], device), _tensor(prime[None], device), b)))
    return {"valid_nll": round(float(np.mean(losses)), 5)}


def train_lm(
    train: Sequence[CodedSong],
    valid: Sequence[CodedSong],
    run: Path,
    cfg: LMConfig,
    opts: LMOptions,
    *,
    extra_meta: dict[str, Any] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a language model in ``run``; returns the last record."""
    import torch

    from mtk.accompany.lm import DrumLM
    from mtk.weights.checkpoint import build_module, load_checkpoint, save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    last, best = run / "last.pt", run / "best.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    if state and state["config"] != cfg.to_dict():
        raise UsageError(f"{run}: a run of other settings ({state['config']}); use another -o")
    torch.manual_seed(opts.seed)
    net = build_module(DrumLM, cfg.to_dict()).to(opts.device)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=0.01)

    def rate(s: int) -> float:
        return min(1.0, (s + 1) / opts.warmup) * 0.5 * (1 + math.cos(math.pi * min(s, opts.steps) / opts.steps))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, rate)
    step, best_nll = 0, float("inf")
    if state:
        net.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step, best_nll = int(state["step"]), float(state["best_nll"])
        sched.last_epoch = step
    stream = lm_batches(train, batch=opts.batch, context=cfg.context, level=cfg.beat, seed=opts.seed * 100_003 + step)
    windows = valid_windows(valid, context=cfg.context, level=cfg.beat)

    def save(path: Path) -> None:
        save_checkpoint(
            path, arch=ARCH, config=cfg.to_dict(), state_dict=net.state_dict(), optimizer=optim.state_dict(),
            step=step, best_nll=best_nll,
            meta={"train": len(train), "valid": len(valid), "options": asdict(opts), **(extra_meta or {})},
        )  # fmt: skip

    log_file = (run / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    try:
        while step < opts.steps:
            net.train()
            drums, prime, beat = next(stream)
            loss = net.loss(_tensor(drums, opts.device), _tensor(prime, opts.device), _tensor(beat, opts.device))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optim.step()
            sched.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                scores = validate(net, windows, opts.device)
                record = {**record, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                if scores["valid_nll"] < best_nll:
                    best_nll = scores["valid_nll"]
                    save(best)
                save(last)
    finally:
        log_file.close()
    return record
