"""Source separation API: a mixture in, stems (drums, bass, lead, other) out.

``load(name_or_path, device)`` gives a :class:`Separator`; ``from_audio(y, sr)`` returns
:class:`Stems` at the input's rate and channel count, and ``to_files(source, targets)``
streams a file's stems to WAV files chunk by chunk. Mono input is separated as two equal
channels and averaged back; any rate is resampled (soxr) to the model's and back. Whatever
the model leaves of the mixture (the round trip of resampling, the STFT) is added to
``other`` in each chunk, so the stems always sum to the input.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.errors import InputError, UsageError
from mtk.separate.chunk import separate_chunks

TASK = "separate"
DEFAULT_MODEL = "separate-umx-v1"
MIN_SECONDS = 0.1
NO_PREFIX = "no_"


@dataclass
class Stems:
    """Separated stems: name -> ``(channels, samples)`` float32 at ``sample_rate``."""

    audio: dict[str, np.ndarray]
    sample_rate: int
    model: str

    @property
    def duration(self) -> float:
        return next(iter(self.audio.values())).shape[-1] / self.sample_rate


def stem_names(stems: tuple[str, ...], *, stem: str | None = None, two_stems: str | None = None) -> list[str]:
    """The outputs asked for: every stem, one, or ``STEM`` and ``no_STEM``."""
    for value in (stem, two_stems):
        if value is not None and value not in stems:
            raise UsageError(f"unknown stem {value!r}", hint=f"one of {', '.join(stems)}")
    if stem is not None:
        return [stem]
    if two_stems is not None:
        return [two_stems, NO_PREFIX + two_stems]
    return list(stems)


class Separator:
    """A loaded separator network; runs chunk by chunk on ``device``."""

    def __init__(
        self, net: Any, *, name: str, device: Any = "cpu", chunk_seconds: float = 10.0, overlap_seconds: float = 1.0
    ) -> None:
        self.net = net.eval().to(device)
        self.cfg = net.cfg
        self.name = name
        self.device = device
        self.chunk_seconds, self.overlap_seconds = chunk_seconds, overlap_seconds

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(self.cfg.stems)

    def _separate(self, x: np.ndarray, sr: int) -> np.ndarray:
        """One chunk: ``(channels, n)`` at ``sr`` -> ``(stems, channels, n)`` summing to ``x``."""
        import torch

        from mtk.io.audio import resample

        channels, n = x.shape
        y = resample(x, sr, self.cfg.sample_rate)
        if channels == 1:
            y = np.repeat(y, self.cfg.channels, axis=0)
        with torch.inference_mode():
            out = self.net(torch.from_numpy(np.ascontiguousarray(y))[None].to(self.device))[0]
        est = out.float().cpu().numpy()  # (S, C_model, n_model)
        if channels == 1:
            est = est.mean(axis=1, keepdims=True)
        est = resample(est.reshape(-1, est.shape[-1]), self.cfg.sample_rate, sr).reshape(len(self.stems), channels, -1)
        est = _fit(est, n)
        est[-1] += x - est.sum(axis=0)  # the residual goes to `other`
        return est

    def spans(self, y: np.ndarray, sr: int) -> Iterator[np.ndarray]:
        """``(stems, channels, n)`` spans of ``y`` (``(channels, samples)``) in order."""
        y = _channels_first(y)
        if y.shape[0] > self.cfg.channels:
            raise InputError(f"{y.shape[0]} channels: mix down to mono or stereo first")
        chunk = max(int(round(self.chunk_seconds * sr)), 2)
        overlap = min(int(round(self.overlap_seconds * sr)), chunk - 1)

        def read(start: int, frames: int) -> np.ndarray:
            return y[:, start : start + frames]

        return separate_chunks(read, y.shape[-1], lambda x: self._separate(x, sr), chunk=chunk, overlap=overlap)

    def from_audio(self, y: np.ndarray, sr: int) -> Stems:
        """Separate ``y`` (``(channels, samples)`` or ``(samples,)``) at ``sr``."""
        parts = list(self.spans(y, sr))
        joined = np.concatenate(parts, axis=-1)
        squeeze = np.ndim(y) == 1
        audio = {s: (joined[i, 0] if squeeze else joined[i]) for i, s in enumerate(self.stems)}
        return Stems(audio, sr, self.name)

    def from_file(self, source: str | os.PathLike[str]) -> Stems:
        from mtk.io.audio import read_audio

        y, sr = read_audio(source, min_duration=MIN_SECONDS)
        return self.from_audio(y, sr)

    def stem_from_file(self, source: str | os.PathLike[str], name: str) -> tuple[np.ndarray, int]:
        """One output of a file (a stem, or ``no_STEM``): ``((channels, samples), sample_rate)``,
        holding only that output in memory. What ``mtk transcribe --separate`` (drums) and
        the tools that want a drumless mix (``no_drums``) call."""
        from mtk.io.audio import read_audio

        y, sr = read_audio(source, min_duration=MIN_SECONDS)
        return self.output_of(y, sr, name), sr

    def output_of(self, y: np.ndarray, sr: int, name: str) -> np.ndarray:
        """One output (a stem, or ``no_STEM``) of ``y`` ``(channels, samples)`` at ``sr``,
        ``(channels, samples)``, holding only that output in memory."""
        stem_names(self.stems, stem=name[len(NO_PREFIX) :] if name.startswith(NO_PREFIX) else name)
        index = {s: i for i, s in enumerate(self.stems)}
        return np.concatenate([_output(span, name, index) for span in self.spans(y, sr)], axis=-1)

    def to_files(
        self,
        source: str | os.PathLike[str],
        targets: Mapping[str, str],
        *,
        subtype: str = "16",
        force: bool = False,
    ) -> dict[str, Any]:
        """Separate ``source`` and write the stems ``targets`` names (a stem, or ``no_STEM``
        for the sum of the others) as WAV, chunk by chunk; ``-`` is stdout (one target only).

        Nothing is left behind on failure. Returns the input's rate, channels, duration and the
        peak of each output (above 1 clips in integer WAV).
        """
        from mtk.io.audio import SUBTYPES, encode_wav, read_audio
        from mtk.io.files import STDIO, atomic_path, check_writable, write_stdout

        for target in targets.values():
            if target != STDIO:
                check_writable(target, force=force)
        y, sr = read_audio(source, min_duration=MIN_SECONDS)
        y = _channels_first(y)
        index = {s: i for i, s in enumerate(self.stems)}
        peaks = dict.fromkeys(targets, 0.0)
        held: dict[str, list[np.ndarray]] = {}
        with contextlib.ExitStack() as stack:
            writers = {}
            for name, target in targets.items():
                if target == STDIO:
                    held[name] = []
                    continue
                import soundfile as sf

                tmp = stack.enter_context(atomic_path(target, force=force))
                writers[name] = stack.enter_context(
                    sf.SoundFile(tmp, "w", samplerate=sr, channels=y.shape[0], subtype=SUBTYPES[subtype], format="WAV")
                )
            for span in self.spans(y, sr):
                for name in targets:
                    part = _output(span, name, index)
                    peaks[name] = max(peaks[name], float(np.abs(part).max(initial=0.0)))
                    if name in held:
                        held[name].append(part)
                    else:
                        frames = part.T if subtype == "float" else np.clip(part.T, -1.0, 1.0)
                        writers[name].write(frames)
            for f in writers.values():
                f.close()
        for parts in held.values():
            write_stdout(encode_wav(np.concatenate(parts, axis=-1), sr, subtype=subtype))  # type: ignore[arg-type]
        return {
            "sample_rate": sr,
            "channels": int(y.shape[0]),
            "duration": round(y.shape[-1] / sr, 3),
            "peaks": {k: round(v, 4) for k, v in peaks.items()},
        }


def _output(span: np.ndarray, name: str, index: Mapping[str, int]) -> np.ndarray:
    if name in index:
        return span[index[name]]
    keep = index[name[len(NO_PREFIX) :]]
    return span.sum(axis=0) - span[keep]


def _channels_first(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y[None] if y.ndim == 1 else y


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad the last axis to ``n`` (resampling round trips may differ by a sample)."""
    if x.shape[-1] >= n:
        return np.ascontiguousarray(x[..., :n])
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])


def build(config: Mapping[str, Any], *, seed: int | None = None) -> Any:
    """The network of a stored config (random weights from ``seed`` when given)."""
    import torch

    from mtk.separate.model import SeparatorConfig, build_separator

    if seed is not None:
        torch.manual_seed(seed)
    return build_separator(SeparatorConfig.from_dict(dict(config)))


def load(name_or_path: str | None = None, device: Any = "cpu", **options: Any) -> Separator:
    """A :class:`Separator` from a registry name (default :data:`DEFAULT_MODEL`), a release
    file or a training checkpoint. ``options`` go to :class:`Separator`."""
    from mtk.separate.model import ARCH
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = name_or_path or DEFAULT_MODEL
    if not looks_like_path(name) and get_entry(name).debug:
        entry = check_task(get_entry(name), TASK)
        return Separator(build(entry.config, seed=entry.seed), name=entry.name, device=device, **options)
    resolved = resolve(name, task=TASK)
    ckpt = load_checkpoint(resolved.path, arch=ARCH)
    net = build(ckpt["config"])
    net.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
    return Separator(net, name=resolved.name, device=device, **options)
