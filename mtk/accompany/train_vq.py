"""Training a VQ-VAE on the drum or the drumless log-mels of the corpus (resumable).

Each step: random crops of the part's log-mels with a random gain (the inputs are
peak-normalised, so a level change is a shift of the log-mel), the seed's loss (mean squared
reconstruction error in standardised units + 0.02 x commitment), Adam (the seed's learning
rate 3e-4, 100 warm-up steps). Every ``checkpoint_every`` steps the validation songs are
encoded and decoded whole; ``run/best.pt`` keeps the lowest reconstruction error (mean
absolute error in log10 mel units), ``run/last.pt`` the latest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.vqvae import ARCH, VQConfig
from mtk.trainloop import Run, Schedule, fit

COMMIT = 0.02


@dataclass
class VQOptions:
    part: str = "drums"
    steps: int = 4_000
    batch: int = 16
    frames: int = 512
    lr: float = 3e-4
    warmup: int = 100
    gain_db: float = 6.0
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 250
    log_every: int = 25


def crops(mels: Sequence[np.ndarray], *, batch: int, frames: int, gain_db: float, seed: int) -> Iterator[np.ndarray]:
    """Endless ``(B, n_mels, frames)`` random crops of log-mels, each with a random gain."""
    rng = np.random.default_rng(seed)
    floor = np.log10(1e-5)
    while True:
        out = []
        for _ in range(batch):
            m = mels[int(rng.integers(len(mels)))]
            start = int(rng.integers(max(1, m.shape[1] - frames + 1)))
            x = m[:, start : start + frames].astype(np.float32)
            if x.shape[1] < frames:
                x = np.pad(x, ((0, 0), (0, frames - x.shape[1])), constant_values=floor)
            out.append(np.maximum(x + rng.uniform(-gain_db, gain_db) / 20.0, floor))
        yield np.stack(out).astype(np.float32)


def validate(net: Any, mels: Sequence[np.ndarray], device: Any) -> dict[str, Any]:
    """Mean absolute log10-mel error of whole songs through the VQ-VAE, and code usage."""
    import torch

    net.eval()
    errors, used = [], set()
    with torch.inference_mode():
        for m in mels:
            x = torch.from_numpy(m.astype(np.float32))[None].to(device)
            codes = net.encode(x)
            rec = net.decode(codes)[..., : x.shape[-1]]
            errors.append(float((rec - x).abs().mean()))
            used.update(codes.flatten().tolist())
    return {"valid_mae": round(float(np.mean(errors)), 5), "valid_codes_used": len(used)}


def train_vq(
    train_mels: Sequence[np.ndarray],
    valid_mels: Sequence[np.ndarray],
    run: Path,
    cfg: VQConfig,
    opts: VQOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a VQ-VAE in ``run`` on log-mels ``(n_mels, T)``; returns the last record."""
    import torch
    import torch.nn.functional as F

    from mtk.accompany.vqvae import VQVAE
    from mtk.weights.checkpoint import build_module

    torch.manual_seed(opts.seed)
    net = build_module(VQVAE, cfg.to_dict()).to(opts.device)
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / opts.warmup))

    def statistics() -> None:
        every = np.concatenate([m.astype(np.float32) for m in train_mels], axis=1)
        net.set_statistics(torch.from_numpy(every.mean(1)), torch.from_numpy(every.std(1)))

    def loss(batch: np.ndarray) -> tuple[Any, dict[str, Any]]:
        rec, target, commit, stats = net(torch.from_numpy(batch).to(opts.device))
        return F.mse_loss(rec, target) + COMMIT * commit, {"perplexity": round(stats.get("perplexity", 0.0), 2)}

    meta = {"part": opts.part, "train": len(train_mels), "valid": len(valid_mels), "options": asdict(opts)}
    return fit(
        Run(run, ARCH, cfg.to_dict(), "valid_mae", lower=True, meta=meta, match=("part",)),
        net, optim, sched, Schedule(opts.steps, opts.checkpoint_every, opts.log_every),
        batches=lambda step: crops(
            train_mels, batch=opts.batch, frames=opts.frames, gain_db=opts.gain_db, seed=opts.seed * 100_003 + step
        ),
        loss=loss,
        validate=lambda: validate(net, valid_mels, opts.device),
        fresh=statistics,
        on_log=on_log,
    )  # fmt: skip
