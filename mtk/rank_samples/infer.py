"""Ranking drum samples for a context with a trained SampleMatch model.

``load(name_or_path, device)`` gives a :class:`Ranker`. A context of any length is read as
44.1 kHz mono and cut into 4-second windows every 2 seconds (a shorter context is one window,
zero-padded); each window is encoded, the unit-length encodings are averaged and the mean is
the context's vector (the paper's user study averages ten excerpts' encodings the same way).
A sample is read as 44.1 kHz mono from its onset (leading silence below -40 dB of its peak
cut, as the training one-shots are) for 2 seconds. The score of a sample is the cosine between
the context's vector and the sample's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtk.embed.index import unit  # rows to unit length, shared with mtk embed's index
from mtk.errors import BadModelError, InputError, MtkError
from mtk.rank_samples.classify import ShotClassifier, class_from_name
from mtk.rank_samples.frontend import SAMPLE_RATE, SAMPLES, SHOT_SAMPLES
from mtk.rank_samples.index import SampleIndex, SampleInfo

TASK = "rank-samples"
WINDOW_HOP = 2 * SAMPLE_RATE  # context windows every 2 s
SILENT_PEAK = 1e-3  # -60 dBFS
ONSET = 0.01  # a sample starts where it first reaches 1 % of its peak (-40 dB)
MIN_SAMPLE_SECONDS = 0.02  # a shorter sound is a click, not a drum
MAX_SAMPLE_SECONDS = 60.0  # longer "samples" are loops or songs, not one-shots


def context_windows(y: np.ndarray) -> np.ndarray:
    """``(windows, SAMPLES)``: 4-second windows every 2 s covering ``y`` (the last one ends at
    the end of ``y``; a shorter ``y`` is one zero-padded window)."""
    if len(y) <= SAMPLES:
        return np.pad(y, (0, SAMPLES - len(y)))[None]
    starts = list(range(0, len(y) - SAMPLES + 1, WINDOW_HOP))
    if starts[-1] != len(y) - SAMPLES:
        starts.append(len(y) - SAMPLES)
    return np.stack([y[s : s + SAMPLES] for s in starts])


def shot_wave(y: np.ndarray) -> np.ndarray:
    """A sample from its onset, :data:`SHOT_SAMPLES` long (zero-padded)."""
    env = np.abs(y)
    start = int(np.argmax(env >= ONSET * env.max()))
    y = y[start : start + SHOT_SAMPLES]
    return np.pad(y, (0, SHOT_SAMPLES - len(y))).astype(np.float32)


def read_sample(path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
    """A one-shot as :func:`shot_wave` and its duration; silent, too long or not audio: an
    input error."""
    import soundfile as sf

    from mtk.io.audio import read_audio

    try:
        seconds = sf.info(str(path)).duration
    except (sf.LibsndfileError, RuntimeError, OSError):
        seconds = 0.0  # let read_audio say what is wrong
    if seconds > MAX_SAMPLE_SECONDS:
        raise InputError(f"{path}: {seconds:.0f} s long: not a one-shot (up to {MAX_SAMPLE_SECONDS:.0f} s)")
    y, _ = read_audio(path, sr=SAMPLE_RATE, mono=True, min_duration=MIN_SAMPLE_SECONDS)
    if float(np.abs(y).max(initial=0.0)) < SILENT_PEAK:
        raise InputError(f"{path}: silent (peak below -60 dBFS)")
    return shot_wave(y), len(y) / SAMPLE_RATE


class Ranker:
    """A loaded SampleMatch model on a device, and the one-shot classifier that classes samples
    (None: classes from file names only)."""

    def __init__(
        self, model: Any, *, name: str, classifier: ShotClassifier | None = None, device: Any = "cpu", batch: int = 16
    ) -> None:
        self.model = model.to(device).eval()
        self.name, self.classifier, self.device, self.batch = name, classifier, device, batch

    def _encode(self, encoder: Any, waves: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for lo in range(0, len(waves), self.batch):
                x = torch.from_numpy(np.ascontiguousarray(waves[lo : lo + self.batch], dtype=np.float32))
                out.append(encoder(x.to(self.device)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.cfg.dim), np.float32)

    def encode_samples(self, waves: np.ndarray) -> np.ndarray:
        """``(n, SHOT_SAMPLES)`` one-shots -> ``(n, 256)`` unit vectors."""
        return unit(self._encode(self.model.sample, waves))

    def encode_context(self, y: np.ndarray) -> np.ndarray:
        """A 44.1 kHz mono context of any length -> its ``(256,)`` unit vector."""
        return unit(unit(self._encode(self.model.query, context_windows(y))).mean(axis=0))

    def context_from_file(self, source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> np.ndarray:
        """A context file (or its bytes) -> its unit vector."""
        from mtk.io.audio import read_audio

        y, _ = read_audio(source, sr=SAMPLE_RATE, mono=True, min_duration=0.5, name=name)
        return self.context_from_audio(y, SAMPLE_RATE, name=name or str(source))

    def context_from_audio(self, y: np.ndarray, sr: int, *, name: str = "context") -> np.ndarray:
        """A context as audio (``(channels, samples)`` or ``(samples,)``) -> its unit vector; a
        silent one (peak below -60 dBFS) is an input error."""
        from mtk.io.audio import resample

        y = np.asarray(y, np.float32)
        y = resample(y.mean(axis=0) if y.ndim == 2 else y, sr, SAMPLE_RATE)
        if float(np.abs(y).max(initial=0.0)) < SILENT_PEAK:
            raise InputError(f"{name}: silent (peak below -60 dBFS): no musical context to fit")
        return self.encode_context(y)

    def classify(self, shot: np.ndarray, path: str | os.PathLike[str]) -> tuple[str, float, str]:
        """``(class, probability, by)`` of a one-shot read by :func:`read_sample`."""
        if self.classifier is not None:
            return self.classifier.classify(shot, SAMPLE_RATE, path)
        named = class_from_name(path)
        return (named, 1.0, "name") if named else ("other", 0.0, "name")

    def describe_samples(self, paths: Iterable[str]) -> Iterator[tuple[str, SampleInfo | InputError]]:
        """``(path, info)`` of each sample read, classed and encoded (in batches), or ``(path,
        error)`` when it could not be read, in order."""
        from mtk.io.files import sha256_file

        pending: list[tuple[str, np.ndarray, float, tuple[str, float, str]]] = []

        def flush() -> Iterator[tuple[str, SampleInfo]]:
            vectors = self.encode_samples(np.stack([wave for _, wave, _, _ in pending]))
            for (path, _, seconds, (cls, p, by)), vector in zip(pending, vectors, strict=True):
                yield path, SampleInfo(path, sha256_file(Path(path)), round(seconds, 4), cls, round(p, 4), by, vector)
            pending.clear()

        for path in paths:
            try:
                wave, seconds = read_sample(path)
            except InputError as exc:
                yield from flush() if pending else ()
                yield path, exc
                continue
            pending.append((path, wave, seconds, self.classify(wave, path)))
            if len(pending) == self.batch:
                yield from flush()
        if pending:
            yield from flush()


def load(name_or_path: str | None = None, device: Any = "cpu") -> Ranker:
    """A :class:`Ranker` from a registry name (default: the shipped model) or a checkpoint
    written by ``mtk train rank-samples`` (classed with the shipped model's classifier)."""
    import torch

    from mtk.rank_samples.model import ARCH, SampleMatch, SampleMatchConfig
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import check_task, default_entry, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name_or_path = name_or_path or default_entry(TASK).name
    if not looks_like_path(name_or_path) and get_entry(name_or_path).debug:
        entry = check_task(get_entry(name_or_path), TASK)
        torch.manual_seed(entry.seed)
        return Ranker(SampleMatch(SampleMatchConfig(**entry.config)), name=entry.name, device=device)
    resolved = resolve(name_or_path, task=TASK)
    weights = [p for p in resolved.paths if p.suffix == ".pt"]
    ckpt = load_checkpoint(weights[0] if weights else resolved.path, arch=ARCH)
    model = SampleMatch(SampleMatchConfig(**ckpt["config"]))
    # the mel filterbank and window are rebuilt exactly, not read back (a float16 release rounds them)
    state = {
        k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items() if ".frontend." not in k
    }
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(".frontend." not in k for k in missing):
        raise BadModelError(f"{resolved.name}: not a SampleMatch model of this mtk ({(unexpected or missing)[0]})")
    return Ranker(model, name=resolved.name, classifier=_classifier(resolved.paths), device=device)


def _classifier(paths: Sequence[Path]) -> ShotClassifier | None:
    """The classifier among a model's files, else the shipped default's (None before one ships)."""
    from mtk.weights.registry import default_entry
    from mtk.weights.store import resolve

    found = [p for p in paths if p.suffix == ".npz"]
    if not found:
        try:
            found = [p for p in resolve(default_entry(TASK).name, task=TASK).paths if p.suffix == ".npz"]
        except MtkError:
            return None
    return ShotClassifier.from_npz(found[0]) if found else None


def sample_index(ranker: Ranker, paths: Iterable[str], on_error: Any = None) -> SampleIndex:
    """An index of ``paths`` encoded by ``ranker``; unreadable samples go to ``on_error(path,
    error)`` (or raise)."""
    index = SampleIndex(ranker.name)
    for path, found in ranker.describe_samples(paths):
        if isinstance(found, InputError):
            if on_error is None:
                raise found
            on_error(path, found)
        else:
            index.add(found)
    return index
