"""``mtk accompany`` as a Python API: drumless audio in, takes of drums out, the best first.

:func:`accompany` checks the input (silence, under a bar), tracks its beats once, draws
``takes`` drum tracks with seeds ``seed, seed + 1, ...`` and scores each by how well its own
beats (librosa's tracker on the drums alone) agree with the input's (mir_eval F-measure); the
best take is the result. Every take is returned at the input's sample rate and length, mono,
loudness-matched to the input. :func:`play_kit` plays a take's transcription (``mtk
transcribe``) on a recorded or soundfont kit, :func:`mix` lays drums under the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtk.accompany.beats import Beats, f_measures, librosa_beats
from mtk.accompany.features import MEL, log_mel
from mtk.errors import InputError

MIN_BARS = 1
MIN_SECONDS = 2.0  # a bar at 120 BPM in 4/4; the tracker must also find a whole bar
SILENT_DB = -60.0  # peak below this: no music to play along to
PEAK = 0.891  # -1 dBFS: what a mix or a drum track is scaled down to if it would go above


@dataclass
class Take:
    take: int
    seed: int
    drums: np.ndarray  # mono, at the input's rate and length
    beat_f: float  # its beats against the input's (nan: too short to score)

    def record(self) -> dict[str, Any]:
        return {
            "take": self.take,
            "seed": self.seed,
            "beat_f": None if np.isnan(self.beat_f) else round(self.beat_f, 4),
        }


@dataclass
class AccompanyResult:
    takes: list[Take]  # best first
    beats: Beats  # of the input
    sample_rate: int  # the input's
    model: str
    loudness: float  # of the input (LUFS): what the takes are matched to
    drumless: np.ndarray = field(repr=False)  # what was accompanied, (channels, samples)

    @property
    def best(self) -> Take:
        return self.takes[0]

    @property
    def duration(self) -> float:
        return self.drumless.shape[-1] / self.sample_rate


def loudness(y: np.ndarray, sr: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4 via pyloudnorm) of ``(channels, samples)`` or
    ``(samples,)``; -inf for silence."""
    import pyloudnorm

    x = np.asarray(y, dtype=np.float64)
    return float(pyloudnorm.Meter(sr).integrated_loudness(x.T if x.ndim == 2 else x))


def match_loudness(drums: np.ndarray, reference: float, sr: int, *, offset_db: float = 0.0) -> np.ndarray:
    """``drums`` scaled to ``reference + offset_db`` LUFS (untouched when either is silent)."""
    level = loudness(drums, sr)
    if not np.isfinite(level) or not np.isfinite(reference):
        return drums
    return (drums * 10 ** ((reference + offset_db - level) / 20)).astype(np.float32)


def _below_peak(y: np.ndarray) -> np.ndarray:
    peak = float(np.abs(y).max()) if y.size else 0.0
    return y * (PEAK / peak) if peak > PEAK else y


def check_input(y: np.ndarray, sr: int, name: str) -> None:
    """One clear error for what cannot be accompanied: too short, or silent."""
    seconds = y.shape[-1] / sr
    if seconds < MIN_SECONDS:
        raise InputError(f"{name}: too short ({seconds:.3g} s); accompaniment needs at least a bar ({MIN_SECONDS:g} s)")
    peak = float(np.abs(y).max())
    if peak <= 10 ** (SILENT_DB / 20):
        raise InputError(f"{name}: silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS): nothing to play along to")


def accompany(
    accompanist: Any,
    y: np.ndarray,
    sr: int,
    *,
    takes: int = 1,
    seed: int = 0,
    temperature: float = 0.96,
    top_p: float = 0.8,
    offset_db: float = 0.0,
    name: str = "-",
) -> AccompanyResult:
    """Drum takes for the drumless ``y`` (``(channels, samples)`` or ``(samples,)``) at ``sr``,
    each ``offset_db`` louder than the input (LUFS), the take whose beats agree best first."""
    from mtk.io.audio import resample

    x = np.atleast_2d(np.asarray(y, dtype=np.float32))
    mono = x.mean(axis=0)
    check_input(mono, sr, name)
    z = resample(mono, sr, MEL.sample_rate)
    prepared = accompanist.prepare(log_mel(z / float(np.abs(z).max())))
    beats = prepared.analysis.beats
    if beats.downbeats.size < MIN_BARS + 1:
        raise InputError(f"{name}: no bar found (beats {beats.beats.size}): nothing steady to play along to")
    reference = loudness(x, sr)
    out = []
    for k in range(takes):
        got = accompanist.sample(prepared, seed=seed + k, temperature=temperature, top_p=top_p)
        score = f_measures(beats.beats, beats.downbeats, librosa_beats(got.drums, MEL.sample_rate))["beat_f"]
        drums = _fit(resample(got.drums, MEL.sample_rate, sr), mono.size)
        out.append(Take(k, seed + k, _below_peak(match_loudness(drums, reference, sr, offset_db=offset_db)), score))
    out.sort(key=lambda t: -t.beat_f if np.isfinite(t.beat_f) else np.inf)
    return AccompanyResult(out, beats, sr, accompanist.name, reference, x)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


def play_kit(transcription: Any, kit: Any, samples: int, reference: float, *, offset_db: float = 0.0) -> np.ndarray:
    """A transcription's hits played by ``kit`` (:class:`mtk.transcribe.refine.KitShots`, at the
    input's rate), loudness-matched like the takes."""
    return _below_peak(
        match_loudness(kit.play(transcription.events, samples), reference, kit.sample_rate, offset_db=offset_db)
    )


def mix(drumless: np.ndarray, drums: np.ndarray) -> np.ndarray:
    """``drumless`` ``(channels, samples)`` plus mono ``drums`` in every channel, scaled down
    as a whole if it would peak above -1 dBFS."""
    return _below_peak(np.asarray(drumless, dtype=np.float32) + drums[None, :]).astype(np.float32)
