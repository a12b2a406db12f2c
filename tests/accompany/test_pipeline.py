"""The accompanist end to end with tiny random parts: lengths, determinism, both renderers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtk.accompany.infer import Tracker
from mtk.accompany.lm import DrumLM
from mtk.accompany.pipeline import Accompanist
from mtk.accompany.tracker import BeatTracker
from mtk.accompany.vocoder import Vocoder
from mtk.accompany.vqvae import VQVAE
from tests.accompany.conftest import SR, pulse_chords


def tiny(vocoder: bool, beat: str | None = "low") -> Accompanist:
    torch.manual_seed(0)
    vqs = [VQVAE(width=16, dim=8, codes=8).eval() for _ in range(2)]
    for vq in vqs:
        vq.bottleneck.codebook.normal_()
        vq.bottleneck.initialised.fill_(True)
    lm = DrumLM(codes=8, prime_codes=8, width=16, depth=1, encoder_depth=1, context=32, beat=beat, beat_features=8)
    return Accompanist(
        Tracker(BeatTracker(width=8, layers=2)),
        vqs[0],
        vqs[1],
        lm.eval(),
        Vocoder(dim=16, layers=1).eval() if vocoder else None,
    )


@pytest.mark.parametrize(("vocoder", "beat"), [(True, "low"), (False, "high"), (True, None)])
def test_drums_as_long_as_the_input_and_the_same_for_a_seed(vocoder: bool, beat: str | None) -> None:
    acc = tiny(vocoder, beat)
    y = pulse_chords(4.0, 120.0, 4)
    a = acc.from_audio(y, SR, seed=3)
    assert a.sample_rate == SR
    assert abs(a.drums.size - y.size) <= 256  # within one mel hop
    assert a.codes.size == -(-(y.size // 256 + 1) // 4)  # one code per 4 mel frames
    assert np.isfinite(a.drums).all()
    assert np.array_equal(a.codes, acc.from_audio(y, SR, seed=3).codes)


def test_other_rates_are_resampled() -> None:
    acc = tiny(True)
    y = pulse_chords(2.0, 120.0, 4)
    import soxr

    y44 = soxr.resample(y, SR, 44_100)
    assert abs(acc.from_audio(y44, 44_100, seed=0).drums.size - y.size) <= 512
