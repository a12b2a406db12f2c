"""How a drum track fits its song, as ``mtk eval accompany`` measures generated drums.

- rhythm: librosa's tracker on the drums alone against the song's true beats (mir_eval
  F-measure), and downbeats: the drums' bar in the song's number of beats a bar, starting on
  the beat phase with the strongest kick-band onsets (:func:`bar_downbeats`); the relative
  tempo error, and the share of drum onsets
  within 30 ms of the song's sixteenth-note grid (a beat divided in 4, or in 6 in compound
  meters, whose beat is a dotted quarter);
- style and sound: mtk embed vectors of the drums, compared as sets by the Fréchet distance
  (in a PCA space fitted on real training drums, since a test set has fewer songs than the
  embedding has dimensions) and by a style classifier trained on real training drums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mtk.accompany.beats import f_measures, librosa_beats
from mtk.accompany.data import Song

GRID_WINDOW = 0.03
KICK_HZ = 150.0
COMPOUND = {"6/8", "9/8", "12/8"}


def grid(song: Song) -> np.ndarray:
    """The song's sixteenth-note grid times."""
    beats = np.asarray(song.beats)
    if beats.size < 2:
        return beats
    div = 6 if song.meter in COMPOUND else 4
    step = np.diff(beats).mean()
    ext = np.append(beats, beats[-1] + step)
    return np.concatenate([a + (b - a) * np.arange(div) / div for a, b in zip(ext[:-1], ext[1:], strict=True)])


def kick_flux(y: np.ndarray, sr: int, hop: int = 512) -> np.ndarray:
    """Onset strength below 150 Hz (the kick's band): positive log-magnitude flux per frame,
    with a floor 40 dB under the loudest frame."""
    import librosa

    mag = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop))
    low = mag[librosa.fft_frequencies(sr=sr, n_fft=2048) <= KICK_HZ].sum(0)
    level = np.log(low + 1e-2 * float(low.max()) + 1e-9)  # 40 dB below the loudest: no flux out of silence
    return np.maximum(0.0, np.diff(level, prepend=level[0]))


def bar_downbeats(y: np.ndarray, sr: int, beats: np.ndarray, beats_per_bar: int) -> np.ndarray:
    """Downbeats of a drum track in bars of the song's ``beats_per_bar``: the phase of its
    beats whose kick-band onsets are strongest (a drum part's bar starts with its kick)."""
    hop = 512
    if beats.size < beats_per_bar:
        return beats[:0]
    flux = kick_flux(y, sr, hop)
    frames = np.clip(np.round(beats * sr / hop).astype(int), 0, flux.size - 1)
    at = np.array([flux[max(0, f - 2) : f + 3].max() for f in frames])
    phase = int(np.argmax([at[p::beats_per_bar].mean() for p in range(beats_per_bar)]))
    return beats[phase::beats_per_bar]


def rhythm(y: np.ndarray, sr: int, song: Song) -> dict[str, float]:
    import librosa

    est = librosa_beats(y, sr)
    if song.downbeats:  # the bar is the song's: is the drums' bar aligned with it?
        per_bar = max(1, int(round(len(song.beats) / len(song.downbeats))))
        est.downbeats = bar_downbeats(y, sr, est.beats, per_bar)
    scores = f_measures(np.asarray(song.beats), np.asarray(song.downbeats), est)
    # hop 128 (6 ms) with backtracking to the energy minimum before each peak: the onset
    # itself, not the flux peak a frame later (on a click-exact loop, hop 512 puts a fifth of
    # the onsets 30 ms off)
    onsets = librosa.onset.onset_detect(y=y, sr=sr, hop_length=128, units="time", backtrack=True)
    g = grid(song)
    on_grid = float(np.mean([np.min(np.abs(g - t)) <= GRID_WINDOW for t in onsets])) if len(onsets) and g.size else 0.0
    tempo_err = abs(est.tempo - song.tempo) / song.tempo if est.tempo > 0 else 1.0
    return {**scores, "tempo_error": float(tempo_err), "on_grid": on_grid}


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and ``b``."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


class StyleSpace:
    """PCA and a style classifier fitted on the embed vectors of real training drum stems."""

    def __init__(self, vectors: np.ndarray, styles: Sequence[str], *, dims: int = 16, seed: int = 0) -> None:
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.pca = PCA(n_components=max(1, min(dims, len(vectors) - 1, vectors.shape[1])), random_state=seed).fit(
            vectors
        )
        self.classifier = None
        if len(set(styles)) > 1:
            self.classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
            self.classifier.fit(vectors, list(styles))

    def distance(self, generated: np.ndarray, real: np.ndarray) -> float:
        return frechet(self.pca.transform(generated), self.pca.transform(real))

    def agreement(self, vectors: np.ndarray, styles: Sequence[str]) -> float | None:
        """Share of ``vectors`` classed as their song's style (None: one style to learn from)."""
        if self.classifier is None:
            return None
        return float(np.mean(self.classifier.predict(vectors) == np.asarray(styles)))


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    keys = ("beat_f", "downbeat_f", "tempo_error", "on_grid")
    out = {}
    for k in keys:
        vals = [float(r[k]) for r in rows if not np.isnan(float(r[k]))]
        out[k] = round(float(np.mean(vals)), 4) if vals else float("nan")
    return out
