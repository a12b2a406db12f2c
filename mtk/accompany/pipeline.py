"""The accompanist: drumless audio in, a drum track out (no training code).

Drumless log-mel -> the tracker's beat levels and the drumless VQ-VAE's codes -> the language
model samples drum codes window by window (:func:`mtk.accompany.generate.generate`) -> the
drum VQ-VAE's decoder gives a drum log-mel -> the vocoder (or Griffin-Lim) gives audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.accompany.beats import Beats
from mtk.accompany.conditioning import downbeat_tokens, levels
from mtk.accompany.features import MEL, log_mel
from mtk.accompany.generate import generate
from mtk.accompany.infer import Tracker


@dataclass
class Accompaniment:
    drums: np.ndarray  # mono waveform at MEL.sample_rate
    codes: np.ndarray  # the drum codes
    beats: Beats  # of the drumless input
    sample_rate: int = MEL.sample_rate


@dataclass
class Accompanist:
    tracker: Tracker
    vq_drums: Any
    vq_drumless: Any
    lm: Any
    vocoder: Any | None  # None: Griffin-Lim
    device: Any = "cpu"

    def from_mel(
        self, mel: np.ndarray, *, seed: int = 0, temperature: float = 0.96, top_p: float = 0.8
    ) -> Accompaniment:
        """Drums for a peak-normalised drumless log-mel ``(n_mels, T)``."""
        import torch

        analysis = self.tracker.analyse(mel)
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(mel, dtype=np.float32))[None].to(self.device)
            prime = self.vq_drumless.encode(x)[0].cpu().numpy()
        n, hop = prime.size, self.vq_drumless.hop
        level = self.lm.cfg.beat
        beat = None if level is None else levels(analysis, MEL.fps, hop, n)[level]
        downbeats = downbeat_tokens(analysis.beats.downbeats, MEL.fps, hop, n)
        codes = generate(
            self.lm, prime, beat, downbeats, temperature=temperature, top_p=top_p, seed=seed, device=self.device
        )
        with torch.inference_mode():
            drum_mel = self.vq_drums.decode(torch.from_numpy(codes)[None].to(self.device))[0, :, : mel.shape[-1]]
        drum_mel = drum_mel.float().cpu().numpy()
        return Accompaniment(self.render(drum_mel), codes, analysis.beats)

    def render(self, mel: np.ndarray) -> np.ndarray:
        """Audio of a drum log-mel, by the vocoder (Griffin-Lim without one)."""
        from mtk.accompany.soundpath import griffin_lim, vocoder_inverter

        if self.vocoder is None:
            return griffin_lim(mel)
        return vocoder_inverter(self.vocoder, self.device)(mel)

    def from_audio(self, y: np.ndarray, sr: int, **options: Any) -> Accompaniment:
        """Drums for a mono drumless signal ``y`` at rate ``sr``."""
        from mtk.io.audio import resample

        if sr != MEL.sample_rate:
            y = resample(y, sr, MEL.sample_rate)
        peak = float(np.abs(y).max()) if y.size else 0.0
        return self.from_mel(log_mel(y / peak if peak > 0 else y), **options)


def from_runs(lm_path: str, vocoder_path: str | None, device: Any = "cpu") -> Accompanist:
    """An accompanist from training runs: the language model's checkpoint names the tracker and
    VQ-VAEs it was trained with."""
    from mtk.accompany.infer import load_part, load_tracker
    from mtk.accompany.lm import ARCH as LM
    from mtk.accompany.vocoder import ARCH as VOCODER
    from mtk.accompany.vqvae import ARCH as VQ
    from mtk.weights.checkpoint import load_checkpoint

    parts = load_checkpoint(lm_path, arch=LM)["meta"]["parts"]
    return Accompanist(
        tracker=load_tracker(parts["tracker"], device),
        vq_drums=load_part(parts["vq_drums"], VQ, device),
        vq_drumless=load_part(parts["vq_drumless"], VQ, device),
        lm=load_part(lm_path, LM, device),
        vocoder=None if vocoder_path is None else load_part(vocoder_path, VOCODER, device),
        device=device,
    )
