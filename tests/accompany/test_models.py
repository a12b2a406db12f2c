"""Shapes, padding and round trips of the tracker and the VQ-VAE."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from mtk.accompany.features import MEL, log_mel
from mtk.accompany.lm import ARCH as LM
from mtk.accompany.lm import DrumLM
from mtk.accompany.tracker import ARCH as TRACKER
from mtk.accompany.tracker import BeatTracker
from mtk.accompany.vocoder import ARCH as VOCODER
from mtk.accompany.vocoder import Vocoder
from mtk.accompany.vqvae import ARCH as VQ
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


def test_release_round_trip_keeps_only_what_inference_runs() -> None:
    """pack/unpack: every part back with its arch and config; the drum VQ-VAE without its
    encoder, the drumless one without its decoder; a release lacking a part is refused."""
    from mtk.accompany.infer import build_part
    from mtk.accompany.release import PARTS, pack, unpack
    from mtk.errors import BadModelError

    torch.manual_seed(0)
    nets = {
        "tracker": BeatTracker(width=8, layers=2),
        "vq_drums": VQVAE(width=16, dim=8, codes=8),
        "vq_drumless": VQVAE(width=16, dim=8, codes=8),
        "lm": DrumLM(codes=8, prime_codes=8, width=16, depth=1, encoder_depth=1, context=16, beat_features=8),
        "vocoder": Vocoder(dim=16, layers=1),
    }
    arches = {"tracker": TRACKER, "vq_drums": VQ, "vq_drumless": VQ, "lm": LM, "vocoder": VOCODER}
    parts = {p: {"arch": arches[p], "config": n.cfg.to_dict(), "state_dict": n.state_dict()} for p, n in nets.items()}
    config, state = pack(parts)
    assert not any(k.startswith(("vq_drums.encoder.", "vq_drumless.decoder.")) for k in state)
    back = unpack(config, state)
    assert list(back) == list(PARTS)
    skip = {"vq_drums": "encoder.", "vq_drumless": "decoder."}
    for p, part in back.items():
        net = build_part(part["arch"], part["config"], part["state_dict"], skip=skip.get(p, ""))
        for k, v in net.state_dict().items():
            if not k.startswith(skip.get(p, "-")):
                assert torch.equal(v, nets[p].state_dict()[k]), (p, k)
    with pytest.raises(BadModelError, match="no lm part"):
        unpack({p: c for p, c in config.items() if p != "lm"}, state)


def test_vocoder_in_chunks_equals_one_pass() -> None:
    from mtk.accompany.soundpath import vocoder_inverter

    torch.manual_seed(0)
    net = Vocoder(dim=16, layers=2).eval()
    mel = np.random.default_rng(0).uniform(-5, 0, (80, 301)).astype(np.float32)
    whole = vocoder_inverter(net, chunk=10_000)(mel)
    assert whole.size == 300 * 256
    for chunk in (64, 100, 300):
        np.testing.assert_allclose(vocoder_inverter(net, chunk=chunk)(mel), whole, atol=1e-5)
