"""Training the vocoder on the corpus's drum stems (resumable).

Each step: random one-second excerpts of ``drums.wav`` (mono, peak-normalised per song, a
random gain), their log-mels in, the excerpts out. The loss has no discriminator (a CPU
budget): the multi-resolution STFT loss of Parallel WaveGAN (spectral convergence plus log
magnitude L1 at FFT sizes 512, 1024 and 2048) and Vocos's log-mel L1. ``run/best.pt`` keeps
the lowest validation multi-resolution STFT distance on whole songs; ``mtk eval accompany``
compares it with Griffin-Lim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.features import MEL
from mtk.accompany.soundpath import stft_distance
from mtk.accompany.vocoder import ARCH, VocoderConfig
from mtk.trainloop import Run, Schedule, cosine, fit


@dataclass
class VocoderOptions:
    steps: int = 6_000
    batch: int = 16
    seconds: float = 1.0
    lr: float = 5e-4
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 250
    log_every: int = 25
    valid_seconds: float = 10.0


def excerpts(waves: Sequence[np.ndarray], *, batch: int, samples: int, seed: int) -> Iterator[np.ndarray]:
    """Endless ``(B, samples)`` excerpts with a random gain (-12..0 dB), skipping near-silence."""
    rng = np.random.default_rng(seed)
    while True:
        out = []
        while len(out) < batch:
            y = waves[int(rng.integers(len(waves)))]
            start = int(rng.integers(max(1, y.size - samples)))
            x = y[start : start + samples]
            if x.size < samples or float(np.abs(x).max()) < 1e-3:
                continue
            out.append(x * np.float32(10 ** (rng.uniform(-12, 0) / 20)))
        yield np.stack(out)


def validate(net: Any, waves: Sequence[np.ndarray], frames: int, device: Any) -> dict[str, Any]:
    import torch

    from mtk.accompany.features import LogMel

    logmel = LogMel()
    net.eval()
    dists = []
    with torch.inference_mode():
        for y in waves:
            ref = torch.from_numpy(y[:frames])[None].to(device)
            est = net(logmel(ref))
            dists.append(float(stft_distance(est, ref[..., : est.shape[-1]])))
    return {"valid_stft": round(float(np.mean(dists)), 5)}


def train_vocoder(
    train_waves: Sequence[np.ndarray],
    valid_waves: Sequence[np.ndarray],
    run: Path,
    cfg: VocoderConfig,
    opts: VocoderOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a vocoder in ``run`` on mono waveforms; returns the last record."""
    import torch

    from mtk.accompany.features import LogMel
    from mtk.accompany.vocoder import Vocoder
    from mtk.weights.checkpoint import build_module

    torch.manual_seed(opts.seed)
    net = build_module(Vocoder, cfg.to_dict()).to(opts.device)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, betas=(0.8, 0.9))
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: cosine(s, opts.steps))
    logmel = LogMel()
    samples = int(opts.seconds * MEL.sample_rate) // MEL.hop * MEL.hop

    def loss(batch: np.ndarray) -> tuple[Any, dict[str, Any]]:
        ref = torch.from_numpy(batch).to(opts.device)
        mel = logmel(ref)
        est = net(mel)
        return stft_distance(est, ref[..., : est.shape[-1]]) + (
            logmel(est) - mel
        ).abs().mean(), {}  # est has mel's frames

    meta = {"train": len(train_waves), "valid": len(valid_waves), "options": asdict(opts)}
    return fit(
        Run(run, ARCH, cfg.to_dict(), "valid_stft", lower=True, meta=meta),
        net, optim, sched, Schedule(opts.steps, opts.checkpoint_every, opts.log_every, clip=10.0),
        batches=lambda step: excerpts(train_waves, batch=opts.batch, samples=samples, seed=opts.seed * 100_003 + step),
        loss=loss,
        validate=lambda: validate(net, valid_waves, int(opts.valid_seconds * MEL.sample_rate), opts.device),
        on_log=on_log,
    )  # fmt: skip
