"""From activation curves to drum events: peak picking, and velocity kept apart from detection.

Peak picking follows the paper (``librosa.util.peak_pick``: max window 50 ms, average window
100 ms, 50 ms wait) on each component's *hit mass*: the activation summed over +-4 ms, as the
sparsemax may split one hit over neighbouring steps. A peak is a hit when its mass exceeds
the class threshold.

Velocity: DrummerNet's activations are amplitudes, and the paper's noted weakness is that
peak picking reads them as probabilities. Here the detection uses the mass only for the
yes/no decision; the velocity is the hit's amplitude (mass times the synthesizer's gain for
the component, times the file's peak that the input was scaled by), as a share of the
loudest hit in the file, on the linear scale the corpus renders velocities with. `mtk eval
transcribe` reports the Spearman correlation of these velocities with the true ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_WINDOW_S = 0.050
AVG_WINDOW_S = 0.100
WAIT_S = 0.050
MASS_WINDOW_S = 0.004


@dataclass(frozen=True)
class Peak:
    time: float
    component: int
    mass: float


def hit_mass(act: np.ndarray, rate: float) -> np.ndarray:
    """``(K, T)`` activations -> the same shape summed over +-4 ms."""
    half = max(0, int(round(MASS_WINDOW_S * rate)))
    if half == 0:
        return act
    kernel = np.ones(2 * half + 1, dtype=act.dtype)
    return np.stack([np.convolve(row, kernel, mode="same") for row in act])


def pick_peaks(curve: np.ndarray, rate: float, threshold: float) -> np.ndarray:
    """Indices of the peaks of a 1-D curve above ``threshold`` (windows as in the paper)."""
    import librosa

    if curve.size == 0 or float(curve.max(initial=0.0)) <= threshold:
        return np.zeros(0, dtype=int)
    half_max = max(1, int(round(MAX_WINDOW_S / 2 * rate)))
    half_avg = max(1, int(round(AVG_WINDOW_S / 2 * rate)))
    wait = max(1, int(round(WAIT_S * rate)))
    idx = librosa.util.peak_pick(
        curve.astype(np.float64),
        pre_max=half_max,
        post_max=half_max + 1,
        pre_avg=half_avg,
        post_avg=half_avg + 1,
        delta=0.0,
        wait=wait,
    )
    return idx[curve[idx] > threshold]


def detect(act: np.ndarray, rate: float, thresholds: np.ndarray, groups: list[list[int]] | None = None) -> list[Peak]:
    """Peaks of every component (or of each group of components summed, reported as the
    group's first), sorted by time."""
    mass = hit_mass(act, rate)
    half = max(0, int(round(MASS_WINDOW_S * rate)))
    groups = groups if groups is not None else [[k] for k in range(act.shape[0])]
    peaks = []
    for group in groups:
        curve, raw = mass[group].sum(axis=0), act[group].sum(axis=0)
        for i in pick_peaks(curve, rate, float(thresholds[group[0]])):
            lo = max(0, i - half)
            at = lo + int(np.argmax(raw[lo : i + half + 1]))  # the hit's strongest step, not the box's edge
            peaks.append(Peak(float(at / rate), group[int(np.argmax(mass[group, i]))], float(curve[i])))
    return sorted(peaks, key=lambda p: (p.time, p.component))


def velocities(amplitudes: np.ndarray) -> np.ndarray:
    """MIDI velocities 1..127, linear in amplitude, 127 for the loudest hit."""
    if amplitudes.size == 0:
        return np.zeros(0, dtype=int)
    top = float(amplitudes.max())
    return np.clip(np.round(127 * amplitudes / max(top, 1e-12)), 1, 127).astype(int)
