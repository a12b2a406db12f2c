"""Training the separator: resumable, either architecture, the same loop and budget.

Each step: a batch of augmented excerpts (:mod:`mtk.separate.data`), their sum as the
mixture, the L1 distance between estimated and true stem waveforms (demucs's loss) averaged
over stems, Adam. Every ``checkpoint_every`` steps the validation songs are separated whole
and scored by SDR (the simple, global SDR of the Music Demixing challenge, fast enough to
run often; ``mtk eval separate`` reports BSS Eval v4); ``run/best.pt`` keeps the best mean
over stems, ``run/last.pt`` the latest, ``run/log.jsonl`` the losses and scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import UsageError
from mtk.separate.data import Augment, StemSong, batches
from mtk.separate.model import ARCH, SeparatorConfig
from mtk.trainlog import StepLog


@dataclass
class TrainOptions:
    steps: int = 2_000
    batch: int = 8
    seconds: float = 6.0
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 100
    log_every: int = 10
    valid_seconds: float = 20.0  # of each validation song, from its start
    remix: float = 0.5
    init: str | None = None  # weights to start a new run from (registry name or file)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Global SDR in dB (the Music Demixing challenge's): 10 log10(|s|^2 / |s - s'|^2)."""
    num = float(np.sum(np.square(reference, dtype=np.float64))) + 1e-8
    den = float(np.sum(np.square(reference - estimate, dtype=np.float64))) + 1e-8
    return 10.0 * np.log10(num / den)


def validate(net: Any, songs: Sequence[StemSong], stems: Sequence[str], *, frames: int, device: Any) -> dict[str, Any]:
    """Median SDR per stem over ``songs`` (their first ``frames``), and the mean over stems."""
    import torch

    scores: dict[str, list[float]] = {s: [] for s in stems}
    net.eval()
    with torch.inference_mode():
        for song in songs:
            truth = np.stack([song.read(s, 0, min(frames, song.frames)) for s in stems])  # (S, C, T)
            est = net(torch.from_numpy(truth.sum(0))[None].to(device))[0].float().cpu().numpy()
            for i, s in enumerate(stems):
                if np.abs(truth[i]).max() > 1e-4:  # a silent stem has no SDR
                    scores[s].append(sdr(truth[i], est[i]))
    medians = {s: round(float(np.median(v)), 3) if v else None for s, v in scores.items()}
    valid = [v for v in medians.values() if v is not None]
    return {"valid_sdr": round(float(np.mean(valid)), 3), "valid_sdr_stems": medians}


def input_statistics(net: Any, stream: Any, *, batches_: int = 8) -> None:
    """Per-bin mean and std of the mixtures' STFT magnitudes (Open-Unmix's scaler)."""
    import torch

    mags = []
    for _ in range(batches_):
        mix = torch.from_numpy(next(stream).sum(1))
        mags.append(net.stft(mix).abs().transpose(-1, -2).reshape(-1, net.cfg.n_fft // 2 + 1))
    m = torch.cat(mags)
    net.set_input_statistics(m.mean(0), m.std(0))


def initial_state(name_or_path: str, cfg: SeparatorConfig) -> dict[str, Any]:
    """The weights of ``name_or_path`` (registry name, release file or checkpoint) in float32;
    their settings must be ``cfg``'s."""
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.store import resolve

    ckpt = load_checkpoint(resolve(name_or_path, task="separate").path, arch=ARCH)
    if SeparatorConfig.from_dict(ckpt["config"]) != cfg:
        raise UsageError(f"--init {name_or_path}: a model of other settings ({ckpt['config']})")
    return {k: v.float() for k, v in ckpt["state_dict"].items()}


def train(
    train_songs: Sequence[StemSong],
    valid_songs: Sequence[StemSong],
    run: Path,
    cfg: SeparatorConfig,
    opts: TrainOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) ``cfg`` in ``run``, a new run from ``opts.init``'s weights when given
    (their input statistics kept); returns the last record."""
    import torch

    from mtk.separate.model import build_separator
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    last, best = run / "last.pt", run / "best.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    if state and SeparatorConfig.from_dict(state["config"]) != cfg:
        raise UsageError(f"{run}: a run of other settings ({state['config']}); use another -o")
    torch.manual_seed(opts.seed)
    net = build_separator(cfg).to(opts.device)
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr)
    step, best_sdr = 0, -float("inf")
    if state:
        net.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step, best_sdr = int(state["step"]), float(state["best_sdr"])
    elif opts.init:
        net.load_state_dict(initial_state(opts.init, cfg))
    rng = np.random.default_rng([opts.seed, step])  # a resumed run draws new excerpts
    frames = int(round(opts.seconds * cfg.sample_rate))
    stream = batches(
        train_songs, cfg.stems, frames=frames, batch=opts.batch, rng=rng, augment=Augment(remix=opts.remix)
    )
    if state is None and not opts.init and cfg.arch == "umx":
        input_statistics(net, stream)
    valid_frames = int(round(opts.valid_seconds * cfg.sample_rate))

    def save(path: Path) -> None:
        save_checkpoint(
            path,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=net.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            best_sdr=best_sdr,
            meta={"train": len(train_songs), "valid": len(valid_songs), "options": asdict(opts)},
        )

    log_file = (run / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    try:
        while step < opts.steps:
            net.train()
            truth = torch.from_numpy(next(stream)).to(opts.device)  # (B, S, C, T)
            est = net(truth.sum(1))
            loss = (est - truth).abs().mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                scores = validate(net, valid_songs, cfg.stems, frames=valid_frames, device=opts.device)
                record = {**record, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                if scores["valid_sdr"] > best_sdr:
                    best_sdr = scores["valid_sdr"]
                    save(best)
                save(last)
    finally:
        log_file.close()
    return record
