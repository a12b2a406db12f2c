"""Shapes, padding and round trips of the tracker and the VQ-VAE."""

from __future__ import annotations

import librosa
import numpy as np
import torch

from mtk.accompany.features import MEL, log_mel
from mtk.accompany.tracker import BeatTracker
from mtk.accompany.vqvae import VQVAE


def test_log_mel_shape_floor_and_level() -> None:
    sr = MEL.sample_rate
    t = np.arange(sr) / sr
    mel = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert mel.shape == (80, MEL.frames(sr))
    assert mel.min() >= -5.0
    centres = librosa.mel_frequencies(n_mels=82, fmin=0.0, fmax=sr / 2)[1:-1]
    assert abs(int(np.argmax(mel[:, 40])) - int(np.argmin(np.abs(centres - 1000.0)))) <= 1
    assert log_mel(np.zeros(sr, np.float32)).max() == -5.0


def test_tracker_keeps_every_frame() -> None:
    net = BeatTracker(width=12, layers=3).eval()
    feats, logits = net.features(torch.randn(2, 80, 37))
    assert feats.shape == (2, 12, 37) and logits.shape == (2, 2, 37)


def test_vqvae_pads_to_its_hop_and_round_trips_shapes() -> None:
    torch.manual_seed(0)
    net = VQVAE(width=16, dim=8, codes=4).eval()
    mel = torch.randn(1, 80, 49)
    codes = net.encode(mel)
    assert net.hop == 4 and codes.shape == (1, 13)
    assert int(codes.max()) < 4
    assert net.decode(codes).shape == (1, 80, 52)


def test_vqvae_statistics_standardise_the_input() -> None:
    net = VQVAE(width=16, dim=8, codes=4).train()
    net.set_statistics(torch.full((80,), -3.0), torch.full((80,), 2.0))
    rec, target, commit, _ = net(torch.full((1, 80, 8), -1.0))
    assert torch.allclose(target, torch.ones_like(target))
    assert rec.shape == target.shape and commit.ndim == 0
