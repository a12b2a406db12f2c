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
from mtk.accompany.infer import BeatAnalysis, Tracker


@dataclass
class Accompaniment:
    drums: np.ndarray  # mono waveform at MEL.sample_rate
    codes: np.ndarray  # the drum codes
    beats: Beats  # of the drumless input
    sample_rate: int = MEL.sample_rate


@dataclass
class Prepared:
    analysis: BeatAnalysis  # of the drumless input
    prime: np.ndarray  # its drumless codes
    beat: Any  # the beat level the language model reads (None: none)
    downbeats: np.ndarray  # downbeat code positions
    frames: int  # mel frames of the input


@dataclass
class Accompanist:
    tracker: Tracker
    vq_drums: Any
    vq_drumless: Any
    lm: Any
    vocoder: Any | None  # None: Griffin-Lim
    device: Any = "cpu"
    name: str = ""

    def prepare(self, mel: np.ndarray) -> Prepared:
        """What every take of one input shares: the beat analysis and the drumless codes of a
        peak-normalised drumless log-mel ``(n_mels, T)``."""
        import torch

        analysis = self.tracker.analyse(mel)
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(mel, dtype=np.float32))[None].to(self.device)
            prime = self.vq_drumless.encode(x)[0].cpu().numpy()
        n, hop = prime.size, self.vq_drumless.hop
        level = self.lm.cfg.beat
        beat = None if level is None else levels(analysis, MEL.fps, hop, n)[level]
        downbeats = downbeat_tokens(analysis.beats.downbeats, MEL.fps, hop, n)
        return Prepared(analysis, prime, beat, downbeats, mel.shape[-1])

    def sample(
        self, prepared: Prepared, *, seed: int = 0, temperature: float = 0.96, top_p: float = 0.8
    ) -> Accompaniment:
        """One take: drum codes sampled with ``seed``, decoded and rendered."""
        import torch

        codes = generate(
            self.lm,
            prepared.prime,
            prepared.beat,
            prepared.downbeats,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            device=self.device,
        )
        with torch.inference_mode():
            drum_mel = self.vq_drums.decode(torch.from_numpy(codes)[None].to(self.device))[0, :, : prepared.frames]
        drum_mel = drum_mel.float().cpu().numpy()
        return Accompaniment(self.render(drum_mel), codes, prepared.analysis.beats)

    def from_mel(
        self, mel: np.ndarray, *, seed: int = 0, temperature: float = 0.96, top_p: float = 0.8
    ) -> Accompaniment:
        """Drums for a peak-normalised drumless log-mel ``(n_mels, T)``."""
        return self.sample(self.prepare(mel), seed=seed, temperature=temperature, top_p=top_p)

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

    parts = {k: part_path(v, lm_path) for k, v in load_checkpoint(lm_path, arch=LM)["meta"]["parts"].items()}
    return Accompanist(
        tracker=load_tracker(parts["tracker"], device),
        vq_drums=load_part(parts["vq_drums"], VQ, device),
        vq_drumless=load_part(parts["vq_drumless"], VQ, device),
        lm=load_part(lm_path, LM, device),
        vocoder=None if vocoder_path is None else load_part(vocoder_path, VOCODER, device),
        device=device,
        name=str(lm_path),
    )


TASK = "accompany"


def part_path(path: str, lm_path: str) -> str:
    """A part named in a language model's checkpoint: as named, else relative to a folder above
    the checkpoint (older runs named parts relative to where training ran)."""
    from pathlib import Path

    if Path(path).is_file() or Path(path).is_absolute():
        return path
    for folder in Path(lm_path).resolve().parents:
        if (folder / path).is_file():
            return str(folder / path)
    return path


def load(name_or_path: str | None = None, device: Any = "cpu", *, vocoder: str | None = None) -> Accompanist:
    """An accompanist from a registry name (default: the shipped model), a release file, or a
    language model's training checkpoint (its tracker and VQ-VAEs from the paths it names; the
    ``vocoder`` checkpoint, or Griffin-Lim without one)."""
    from mtk.accompany.infer import Tracker, build_part
    from mtk.accompany.lm import ARCH as LM
    from mtk.accompany.release import ARCH as RELEASE
    from mtk.accompany.release import UNUSED, unpack
    from mtk.errors import BadModelError
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import check_task, default_entry, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name_or_path = name_or_path or default_entry(TASK).name
    if not looks_like_path(name_or_path) and get_entry(name_or_path).debug:
        return _debug(check_task(get_entry(name_or_path), TASK), device)
    resolved = resolve(name_or_path, task=TASK)
    payload = load_checkpoint(resolved.path)
    if payload["arch"] == LM:
        return from_runs(str(resolved.path), vocoder, device)
    if payload["arch"] != RELEASE:
        raise BadModelError(f"{resolved.name}: holds a {payload['arch']!r} model, not an accompanist")
    nets = {
        p: build_part(part["arch"], part["config"], part["state_dict"], device, skip=UNUSED.get(p, ""))
        for p, part in unpack(payload["config"], payload["state_dict"]).items()
    }
    tracker = Tracker(nets.pop("tracker"), device, name=resolved.name)
    return Accompanist(tracker=tracker, device=device, name=resolved.name, **nets)


def _debug(entry: Any, device: Any) -> Accompanist:
    """The tiny randomly initialised accompanist of a debug entry (for tests)."""
    import torch

    from mtk.accompany.infer import Tracker
    from mtk.accompany.lm import DrumLM
    from mtk.accompany.tracker import BeatTracker
    from mtk.accompany.vocoder import Vocoder
    from mtk.accompany.vqvae import VQVAE

    torch.manual_seed(entry.seed)
    cfg = entry.config
    tracker = BeatTracker(**cfg["tracker"])
    vqs = [VQVAE(**cfg["vq"]) for _ in range(2)]
    for vq in vqs:
        vq.bottleneck.codebook.normal_()
        vq.bottleneck.initialised.fill_(True)
    codes = cfg["vq"]["codes"]
    lm = DrumLM(codes=codes, prime_codes=codes, beat_features=tracker.cfg.width, **cfg["lm"])
    nets = [n.to(device).eval() for n in (tracker, *vqs, lm, Vocoder(**cfg["vocoder"]))]
    return Accompanist(Tracker(nets[0], device, name=entry.name), *nets[1:], device=device, name=entry.name)
