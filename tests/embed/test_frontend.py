"""The embedding front end: known answers on synthetic signals."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from mtk.embed.frontend import (
    HOP,
    MIN_SECONDS,
    N_MELS,
    PATCH,
    PATCH_HOP,
    SAMPLE_RATE,
    PatchGrid,
    log_mel,
    patches,
    read_log_mel,
)
from mtk.errors import InputError


def _chirpy(sr: int, seconds: float) -> np.ndarray:
    """Tones that move through the spectrum (a fixed pattern in time, whatever the rate)."""
    t = np.arange(int(sr * seconds)) / sr
    return (0.2 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.1 * np.sin(2 * np.pi * 2500 * t)).astype(np.float32)


def test_a_tone_lights_its_own_band() -> None:
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    low, high = (log_mel(np.sin(2 * np.pi * f * t).astype(np.float32)) for f in (300.0, 3000.0))
    assert low.shape == (N_MELS, 1 + len(t) // HOP)
    assert np.argmax(low.mean(axis=1)) < np.argmax(high.mean(axis=1))
    assert log_mel(np.zeros(SAMPLE_RATE, np.float32)).max() == 0.0  # log10(1 + 0)


@pytest.mark.parametrize("frames", [0, 127, 128, 129, 189, 190, 1000])
def test_patch_counts_and_hops(frames: int) -> None:
    mel = np.tile(np.arange(frames, dtype=np.float32), (N_MELS, 1))  # each frame says where it is
    out = patches(mel)
    expected = 0 if frames < PATCH else 1 + (frames - PATCH) // PATCH_HOP
    assert out.shape == (expected, N_MELS, PATCH) and PatchGrid(frames).count == expected
    for i in range(expected):
        assert out[i, 0, 0] == i * PATCH_HOP and out[i, 0, -1] == i * PATCH_HOP + PATCH - 1
    assert PatchGrid(frames).start_seconds(1) == pytest.approx(PATCH_HOP * HOP / SAMPLE_RATE)


def test_one_vector_a_second() -> None:
    frames = 1 + 60 * SAMPLE_RATE // HOP  # a minute
    assert PatchGrid(frames).count == pytest.approx(60 * 1.008, abs=2.1)


def test_any_rate_is_resampled_to_the_same_mel() -> None:
    """A 44.1 kHz and a 16 kHz rendering of one signal give the same log-mel."""
    mels = []
    for sr in (44_100, 16_000):
        buf = io.BytesIO()
        sf.write(buf, _chirpy(sr, 4.0), sr, format="WAV", subtype="FLOAT")
        mels.append(read_log_mel(buf.getvalue()))
    assert mels[0].shape == mels[1].shape
    np.testing.assert_allclose(mels[0][:, 2:-2], mels[1][:, 2:-2], atol=0.05)


def test_too_short_is_refused_with_the_minimum() -> None:
    buf = io.BytesIO()
    sf.write(buf, _chirpy(SAMPLE_RATE, 1.5), SAMPLE_RATE, format="WAV")
    with pytest.raises(InputError, match=f"needs at least {MIN_SECONDS:g} s"):
        read_log_mel(buf.getvalue(), name="short.wav")
    buf = io.BytesIO()
    sf.write(buf, _chirpy(SAMPLE_RATE, MIN_SECONDS + 0.01), SAMPLE_RATE, format="WAV")
    assert patches(read_log_mel(buf.getvalue())).shape[0] == 1
