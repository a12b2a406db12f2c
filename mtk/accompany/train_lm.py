"""Training the drum language model on coded corpus songs (resumable).

Each step: a batch of windows starting at downbeats (:func:`mtk.accompany.lmdata.lm_batches`),
next-code cross-entropy, AdamW with 200 warm-up steps and a cosine decay (the seed: Jukebox's
optimiser, learning rate 3e-4). Every ``checkpoint_every`` steps the validation windows'
cross-entropy (nats per code) is measured; ``run/best.pt`` keeps the lowest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.lm import ARCH, LMConfig
from mtk.accompany.lmdata import CodedSong, lm_batches, valid_windows
from mtk.trainloop import Run, Schedule, cosine, fit


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
    from mtk.weights.checkpoint import build_module

    torch.manual_seed(opts.seed)
    net = build_module(DrumLM, cfg.to_dict()).to(opts.device)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / opts.warmup) * cosine(s, opts.steps))
    windows = valid_windows(valid, context=cfg.context, level=cfg.beat)

    def loss(batch: tuple) -> tuple[Any, dict[str, Any]]:
        return net.loss(*(_tensor(a, opts.device) for a in batch)), {}

    meta = {"train": len(train), "valid": len(valid), "options": asdict(opts), **(extra_meta or {})}
    return fit(
        Run(run, ARCH, cfg.to_dict(), "valid_nll", lower=True, meta=meta),
        net, optim, sched, Schedule(opts.steps, opts.checkpoint_every, opts.log_every, clip=1.0),
        batches=lambda step: lm_batches(
            train, batch=opts.batch, context=cfg.context, level=cfg.beat, seed=opts.seed * 100_003 + step
        ),
        loss=loss,
        validate=lambda: validate(net, windows, opts.device),
        on_log=on_log,
    )  # fmt: skip
