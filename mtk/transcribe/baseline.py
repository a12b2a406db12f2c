"""The classic baseline `mtk eval transcribe` scores beside DrummerNet: NMF with fixed drum templates.

Each training kit's one-shot of each component gives one template, its mel magnitude
spectrum (128 bands) over the first 50 ms (the attack, which NMFD-style templates emphasise); the
spectrogram of the input is factorised with those templates held fixed (scikit-learn's
``non_negative_factorization`` with ``update_H=False``, KL divergence, multiplicative
updates), a component's activation is the sum over kits, and onsets are its peaks, picked
like DrummerNet's (see :mod:`mtk.transcribe.peaks`) after scaling each file's activations
by their maximum. The templates come from the training kits only, as DrummerNet's do.
"""

from __future__ import annotations

import warnings

import numpy as np

from mtk.transcribe.components import COMPONENTS

N_FFT = 1024
HOP = 160  # 10 ms at 16 kHz
ATTACK_S = 0.05


N_MELS = 128


def _magnitude(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """``(N_MELS, frames)`` mel magnitudes (power 1): a quarter of the STFT's bins, same peaks."""
    import librosa

    return librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, power=1.0)


class NmfTranscriber:
    """Fixed-template NMF: ``activations(y)`` -> ``(K, frames)`` at ``rate`` frames per second."""

    def __init__(self, bank: np.ndarray, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        frames = max(1, int(ATTACK_S * sample_rate / HOP))
        templates, owner = [], []
        for kit in bank:
            for k, shot in enumerate(kit):
                if np.abs(shot).max(initial=0.0) <= 0:
                    continue
                spec = _magnitude(shot, sample_rate)[:, :frames].mean(axis=1)
                templates.append(spec / max(float(spec.sum()), 1e-12))
                owner.append(k)
        self.templates = np.stack(templates)  # (n_templates, bins)
        self.owner = np.array(owner)

    @property
    def rate(self) -> float:
        return self.sample_rate / HOP

    def activations(self, y: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import non_negative_factorization

        spec = _magnitude(y, self.sample_rate).T  # (frames, bins)
        with warnings.catch_warnings():  # max_iter reached is expected and harmless here
            warnings.simplefilter("ignore")
            w, _, _ = non_negative_factorization(
                spec.astype(np.float64) + 1e-9,
                H=self.templates.astype(np.float64),
                n_components=len(self.templates),
                update_H=False,
                init="custom",
                W=np.full((spec.shape[0], len(self.templates)), 0.1),
                solver="mu",
                beta_loss="kullback-leibler",
                max_iter=100,
            )
        act = np.zeros((len(COMPONENTS), spec.shape[0]))
        np.add.at(act, self.owner, w.T)
        return act / max(float(act.max()), 1e-12)
