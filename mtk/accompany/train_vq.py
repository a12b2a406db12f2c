"""Training a VQ-VAE on the drum or the drumless log-mels of the corpus (resumable).

Each step: random crops of the part's log-mels with a random gain (the inputs are
peak-normalised, so a level change is a shift of the log-mel), the seed's loss (mean squared
reconstruction error in standardised units + 0.02 x commitment), Adam (the seed's learning
rate 3e-4, 100 warm-up steps). Every ``checkpoint_every`` steps the validation songs are
encoded and decoded whole; ``run/best.pt`` keeps the lowest reconstruction error (mean
absolute error in log10 mel units), ``run/last.pt`` the latest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.vqvae import ARCH, VQConfig
from mtk.errors import UsageError
from mtk.trainlog import StepLog

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
    from mtk.weights.checkpoint import build_module, load_checkpoint, save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    last, best = run / "last.pt", run / "best.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    if state and (state["config"] != cfg.to_dict() or state["meta"]["part"] != opts.part):
        raise UsageError(f"{run}: a run of other settings ({state['config']}, {state['meta']['part']}); use another -o")
    torch.manual_seed(opts.seed)
    net = build_module(VQVAE, cfg.to_dict()).to(opts.device)
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / opts.warmup))
    step, best_mae = 0, float("inf")
    if state:
        net.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step, best_mae = int(state["step"]), float(state["best_mae"])
        sched.last_epoch = step
    else:
        every = np.concatenate([m.astype(np.float32) for m in train_mels], axis=1)
        net.set_statistics(torch.from_numpy(every.mean(1)), torch.from_numpy(every.std(1)))
    stream = crops(
        train_mels, batch=opts.batch, frames=opts.frames, gain_db=opts.gain_db, seed=opts.seed * 100_003 + step
    )

    def save(path: Path) -> None:
        save_checkpoint(
            path,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=net.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            best_mae=best_mae,
            meta={"part": opts.part, "train": len(train_mels), "valid": len(valid_mels), "options": asdict(opts)},
        )

    log_file = (run / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    stats: dict[str, float] = {}
    try:
        while step < opts.steps:
            net.train()
            x = torch.from_numpy(next(stream)).to(opts.device)
            rec, target, commit, stats = net(x)
            loss = F.mse_loss(rec, target) + COMMIT * commit
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step, perplexity=round(stats.get("perplexity", 0.0), 2))
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                scores = validate(net, valid_mels, opts.device)
                record = {**record, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                if scores["valid_mae"] < best_mae:
                    best_mae = scores["valid_mae"]
                    save(best)
                save(last)
    finally:
        log_file.close()
    return record
