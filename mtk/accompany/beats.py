"""Beats and downbeats from the tracker's activations, and librosa's tracker as the baseline.

Decoding (the tracker's "high-level" information): librosa's dynamic-programming beat tracker
(Ellis 2007) run on the beat activation in place of an onset envelope, with the tempo taken
from the activation's autocorrelation in 40-240 BPM (:func:`tempo_of`: the network, not a
prior around 120 BPM, decides). Downbeats: for a bar of 2, 3 or 4 beats and each phase, the
mean downbeat activation on the beats of that phase against the mean on the others; the bar
and phase with the largest contrast win (a 2/4 song read as 4/4 would put half its downbeats
in the "others", so contrast, not the mean alone, tells them apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_BPM, MAX_BPM = 40.0, 240.0
BAR_BEATS = (2, 3, 4)
EDGE_SHARE = 1 / 3
FASTER = 0.5


@dataclass
class Beats:
    """Beat and downbeat times in seconds, the tempo (BPM) and beats per bar."""

    beats: np.ndarray
    downbeats: np.ndarray
    tempo: float
    beats_per_bar: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tempo": round(float(self.tempo), 2),
            "beats_per_bar": int(self.beats_per_bar),
            "beats": [round(float(t), 4) for t in self.beats],
            "downbeats": [round(float(t), 4) for t in self.downbeats],
            **self.extra,
        }


def _acf_at(acf: np.ndarray, lag: float) -> float:
    i = int(lag)
    if i + 1 >= acf.size:
        return float(acf[-1])
    return float(acf[i] + (lag - i) * (acf[i + 1] - acf[i]))


def tempo_of(activation: np.ndarray, fps: float, *, faster: float = FASTER) -> float:
    """The beat activation's tempo (BPM): the strongest autocorrelation lag in 40-240 BPM,
    refined to a sub-frame lag, then the shortest of its halves or thirds whose
    autocorrelation is at least ``faster`` times as strong (an autocorrelation peaks at
    every multiple of the beat period about equally, and librosa's estimator, prior or not,
    often takes the bar or half-bar for the beat)."""
    x = np.asarray(activation, dtype=np.float64)
    x = x - x.mean()
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    spec = np.fft.rfft(x, n)
    acf = np.fft.irfft(spec * np.conj(spec), n)[: x.size]
    lo, hi = int(np.floor(60 * fps / MAX_BPM)), int(np.ceil(60 * fps / MIN_BPM))
    hi = min(hi, x.size - 2)
    if hi <= lo + 1:
        return 0.0
    k = lo + int(np.argmax(acf[lo : hi + 1]))
    if 0 < k < acf.size - 1:  # parabolic refinement of the peak
        a, b, c = acf[k - 1], acf[k], acf[k + 1]
        den = a - 2 * b + c
        lag = k + (0.5 * (a - c) / den if den < 0 else 0.0)
    else:
        lag = float(k)
    best = lag
    for d in (2, 3, 4):
        short = lag / d
        if short >= lo and _acf_at(acf, short) >= faster * _acf_at(acf, lag):
            best = min(best, short)
    return 60.0 * fps / best


def beat_frames(activation: np.ndarray, fps: float, *, tempo: float | None = None) -> tuple[np.ndarray, float]:
    """Beat frame indices along ``activation`` (one value per frame, 0..1) and the tempo."""
    import librosa

    act = np.asarray(activation, dtype=np.float64)
    if act.size < 4 or float(act.max()) <= 1e-3:
        return np.zeros(0, dtype=int), 0.0
    bpm = tempo or tempo_of(act, fps)
    if bpm <= 0:
        return np.zeros(0, dtype=int), 0.0
    _, frames = librosa.beat.beat_track(
        onset_envelope=act, sr=fps * 512, hop_length=512, bpm=bpm, tightness=400, trim=False
    )
    frames = np.asarray(frames, dtype=int)
    # librosa's DP places beats into silence at the edges: drop those whose activation nearby
    # is under a third of the typical beat's
    if frames.size == 0:
        return frames, bpm
    peaks = np.array([act[max(0, f - 2) : f + 3].max() for f in frames])
    return frames[peaks >= EDGE_SHARE * np.median(peaks)], bpm


def downbeat_phase(beat_downbeat: np.ndarray) -> tuple[int, int]:
    """``(beats_per_bar, phase)`` from the downbeat activation sampled at each beat."""
    d = np.asarray(beat_downbeat, dtype=np.float64)
    best, best_score = (4, 0), -np.inf
    for m in BAR_BEATS:
        if d.size < 2 * m:
            continue
        for phase in range(m):
            on = np.arange(d.size) % m == phase
            score = d[on].mean() - d[~on].mean()
            if score > best_score + 1e-9:
                best, best_score = (m, phase), score
    return best


def decode(activations: np.ndarray, fps: float) -> Beats:
    """``activations`` ``(2, T)`` (beat, downbeat probabilities) to beats and downbeats."""
    frames, bpm = beat_frames(activations[0], fps)
    if frames.size == 0:
        return Beats(np.zeros(0), np.zeros(0), 0.0, 4)
    # the downbeat activation at each beat: its peak within a quarter beat either side
    half = max(1, int(round(fps * 60.0 / max(bpm, 1.0) / 4)))
    at_beat = np.array([activations[1][max(0, f - half) : f + half + 1].max() for f in frames])
    m, phase = downbeat_phase(at_beat)
    times = frames / fps
    return Beats(times, times[phase::m], bpm, m)


def librosa_beats(y: np.ndarray, sr: int) -> Beats:
    """librosa's own tracker on the audio (the baseline): beats only, its default settings;
    downbeats by the same bar-phase rule over onset strength at the beats."""
    import librosa

    hop = 512
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    tempo, frames = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=hop)
    frames = np.asarray(frames, dtype=int)
    if frames.size == 0:
        return Beats(np.zeros(0), np.zeros(0), 0.0, 4)
    m, phase = downbeat_phase(env[frames])
    times = librosa.frames_to_time(frames, sr=sr, hop_length=hop)
    return Beats(times, times[phase::m], float(np.atleast_1d(tempo)[0]), m)


def f_measures(truth_beats: np.ndarray, truth_downbeats: np.ndarray, est: Beats) -> dict[str, float]:
    """mir_eval's beat F-measure (70 ms window) for beats and for downbeats; the first 5 s
    are skipped as mir_eval's convention (``trim_beats``)."""
    import mir_eval

    def f(ref: np.ndarray, got: np.ndarray) -> float:
        ref, got = mir_eval.beat.trim_beats(np.asarray(ref, float)), mir_eval.beat.trim_beats(np.asarray(got, float))
        if ref.size == 0:
            return float("nan")
        return float(mir_eval.beat.f_measure(ref, got)) if got.size else 0.0

    return {"beat_f": f(truth_beats, est.beats), "downbeat_f": f(truth_downbeats, est.downbeats)}
