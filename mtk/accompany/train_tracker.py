"""Training the beat and downbeat tracker on drumless corpus mixes (resumable).

Each step: a batch of augmented crops (:func:`mtk.accompany.data.tracker_batches`), binary
cross-entropy on beat and downbeat targets, Adam with a cosine learning-rate decay. Every
``checkpoint_every`` steps the validation songs' drumless mixes are tracked whole, decoded
(:mod:`mtk.accompany.beats`) and scored with mir_eval; ``run/best.pt`` keeps the best mean of
beat and downbeat F-measure, ``run/last.pt`` the latest, ``run/log.jsonl`` the losses and scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.accompany.beats import decode, f_measures
from mtk.accompany.data import Song, TrackerAugment, tracker_batches
from mtk.accompany.features import MEL
from mtk.accompany.tracker import ARCH, TrackerConfig
from mtk.trainloop import Run, Schedule, cosine, fit


@dataclass
class TrackerOptions:
    steps: int = 3_000
    batch: int = 8
    seconds: float = 12.0
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 250
    log_every: int = 25


def activations(net: Any, mel: np.ndarray, device: Any) -> tuple[np.ndarray, np.ndarray]:
    """Beat and downbeat probabilities ``(2, T)`` and features ``(width, T)`` of a whole log-mel."""
    import torch

    net.eval()
    with torch.inference_mode():
        feats, logits = net.features(torch.from_numpy(np.asarray(mel, dtype=np.float32))[None].to(device))
    return torch.sigmoid(logits[0]).float().cpu().numpy(), feats[0].float().cpu().numpy()


def validate(net: Any, songs: Sequence[Song], mels: Sequence[dict[str, np.ndarray]], device: Any) -> dict[str, Any]:
    scores = [
        f_measures(
            np.asarray(s.beats), np.asarray(s.downbeats), decode(activations(net, m["drumless"], device)[0], MEL.fps)
        )
        for s, m in zip(songs, mels, strict=True)
    ]
    beat = float(np.nanmean([s["beat_f"] for s in scores]))
    down = float(np.nanmean([s["downbeat_f"] for s in scores]))
    return {"valid_beat_f": round(beat, 4), "valid_downbeat_f": round(down, 4), "valid_f": round((beat + down) / 2, 4)}


def train_tracker(
    train_songs: Sequence[Song],
    train_mels: Sequence[dict[str, np.ndarray]],
    valid_songs: Sequence[Song],
    valid_mels: Sequence[dict[str, np.ndarray]],
    run: Path,
    cfg: TrackerConfig,
    opts: TrackerOptions,
    *,
    augment: TrackerAugment | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a tracker in ``run``; returns the last record."""
    import torch

    from mtk.accompany.tracker import BeatTracker
    from mtk.weights.checkpoint import build_module

    torch.manual_seed(opts.seed)
    net = build_module(BeatTracker, cfg.to_dict()).to(opts.device)
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: cosine(s, opts.steps))
    frames = int(round(opts.seconds * MEL.fps))
    bce = torch.nn.BCEWithLogitsLoss()

    def loss(batch: tuple[np.ndarray, np.ndarray]) -> tuple[Any, dict[str, Any]]:
        x, y = (torch.from_numpy(a).to(opts.device) for a in batch)
        return bce(net(x), y), {}

    meta = {"train": len(train_songs), "valid": len(valid_songs), "options": asdict(opts)}
    return fit(
        Run(run, ARCH, cfg.to_dict(), "valid_f", lower=False, meta=meta),
        net, optim, sched, Schedule(opts.steps, opts.checkpoint_every, opts.log_every),
        batches=lambda step: tracker_batches(
            train_songs, train_mels, batch=opts.batch, frames=frames, seed=opts.seed * 100_003 + step, augment=augment
        ),
        loss=loss,
        validate=lambda: validate(net, valid_songs, valid_mels, opts.device),
        on_log=on_log,
    )  # fmt: skip
