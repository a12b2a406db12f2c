"""Inference for the parts of ``accompany`` (no training code): the beat tracker.

``load_tracker(path)`` gives a :class:`Tracker` whose ``from_audio(y, sr)`` returns the
beats and downbeats (:class:`mtk.accompany.beats.Beats`); ``analyse(mel)`` also returns the
activations and the low-level features that the language model is conditioned on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.accompany.beats import Beats, decode
from mtk.accompany.features import MEL, log_mel


@dataclass
class BeatAnalysis:
    """The tracker's three levels: ``features`` ``(width, T)``, ``activations`` ``(2, T)``
    (beat, downbeat) and the decoded ``beats``."""

    features: np.ndarray
    activations: np.ndarray
    beats: Beats


class Tracker:
    def __init__(self, net: Any, device: Any = "cpu", name: str = "") -> None:
        self.net, self.device, self.name = net.eval(), device, name

    @property
    def fps(self) -> float:
        return MEL.fps

    def analyse(self, mel: np.ndarray) -> BeatAnalysis:
        """All three levels for a peak-normalised log-mel ``(n_mels, T)``."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(mel, dtype=np.float32))[None].to(self.device)
            feats, logits = self.net.features(x)
        act = torch.sigmoid(logits[0]).float().cpu().numpy()
        return BeatAnalysis(feats[0].float().cpu().numpy(), act, decode(act, self.fps))

    def from_audio(self, y: np.ndarray, sr: int) -> Beats:
        """Beats and downbeats of a mono signal ``y`` at rate ``sr``."""
        from mtk.io.audio import resample

        if sr != MEL.sample_rate:
            y = resample(y, sr, MEL.sample_rate)
        peak = float(np.abs(y).max()) if y.size else 0.0
        return self.analyse(log_mel(y / peak if peak > 0 else y)).beats


def build_part(arch: str, config: dict[str, Any], state: dict[str, Any], device: Any = "cpu", *, skip: str = "") -> Any:
    """A part's module (in eval mode) of ``arch`` from its config and state dict; ``skip``: a
    prefix of weights the state may lack (the half of a VQ-VAE a release leaves out)."""
    from mtk.accompany.lm import ARCH as LM
    from mtk.accompany.lm import DrumLM
    from mtk.accompany.tracker import ARCH as TRACKER
    from mtk.accompany.tracker import BeatTracker
    from mtk.accompany.vocoder import ARCH as VOCODER
    from mtk.accompany.vocoder import Vocoder
    from mtk.accompany.vqvae import ARCH as VQ
    from mtk.accompany.vqvae import VQVAE
    from mtk.errors import BadModelError
    from mtk.weights.checkpoint import build_module

    classes = {TRACKER: BeatTracker, VQ: VQVAE, LM: DrumLM, VOCODER: Vocoder}
    if arch not in classes:
        raise BadModelError(f"not a part of the accompanist: {arch!r}")
    net = build_module(classes[arch], config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    lacking = [k for k in missing if not (skip and k.startswith(skip))]
    if unexpected or lacking:
        raise BadModelError(f"not a {arch} of this mtk ({(unexpected or lacking)[0]})")
    return net.to(device).eval()


def load_part(path: str, arch: str, device: Any = "cpu") -> Any:
    """A part's module (in eval mode) from a ``mtk train accompany`` checkpoint."""
    from mtk.weights.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, arch=arch)
    return build_part(arch, ckpt["config"], ckpt["state_dict"], device)


def load_tracker(path: str, device: Any = "cpu") -> Tracker:
    """A tracker from a ``mtk train accompany --stage tracker`` checkpoint."""
    from mtk.accompany.tracker import ARCH

    return Tracker(load_part(path, ARCH, device), device, name=str(path))
