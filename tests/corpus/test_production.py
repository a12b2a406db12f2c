"""Production chains: each effect does what it says, and a chain is the same under its seed."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.corpus.production import KINDS, Chain, apply_chain, draw_chain

SR = 22050


def _tone(freq: float, seconds: float = 2.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    y = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([y] * channels).astype(np.float32)


def _level_db(y: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(y.astype(np.float64) ** 2)))


def test_chains_are_drawn_and_applied_alike_under_a_seed() -> None:
    a, b = draw_chain(np.random.default_rng(3)), draw_chain(np.random.default_rng(3))
    assert a == b and a != draw_chain(np.random.default_rng(4))
    assert a.codec in ("ogg", "mp3") and a.reverb_rt60 > 0 and len(a.eq) == 3
    only_width = draw_chain(np.random.default_rng(3), ["width"])
    assert {k for k, v in only_width.to_dict().items() if v != getattr(Chain(), k)} == {"width"}
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (2, SR * 3)).astype(np.float32)
    chain = draw_chain(np.random.default_rng(5), [k for k in KINDS if k != "drift"])
    np.testing.assert_array_equal(apply_chain(noise, SR, chain, seed=1), apply_chain(noise, SR, chain, seed=1))
    with pytest.raises(ValueError, match="unknown production kind"):
        draw_chain(np.random.default_rng(0), ["flanger"])


def test_neutral_chain_leaves_audio_as_it_is() -> None:
    y = _tone(440.0)
    np.testing.assert_allclose(apply_chain(y, SR, Chain()), y, atol=1e-6)


def test_eq_boosts_and_cuts_where_it_says() -> None:
    low, high = _tone(100.0), _tone(6000.0)
    shelf = Chain(eq=(("low", 300.0, 6.0),))
    # the tone below the shelf rises by about 6 dB; one far above it stays
    assert _level_db(apply_chain(low * 0.25, SR, shelf)) - _level_db(low * 0.25) == pytest.approx(6.0, abs=0.5)
    assert _level_db(apply_chain(high * 0.25, SR, shelf)) - _level_db(high * 0.25) == pytest.approx(0.0, abs=0.3)
    cut = Chain(eq=(("peak", 1000.0, -9.0),))
    assert _level_db(apply_chain(_tone(1000.0), SR, cut)) - _level_db(_tone(1000.0)) == pytest.approx(-9.0, abs=0.5)


def test_band_limit_removes_what_is_above_it() -> None:
    y = _tone(440.0) + _tone(8000.0)
    out = apply_chain(y * 0.5, SR, Chain(lowpass_hz=3000.0))
    spec = np.abs(np.fft.rfft(out[0, SR // 2 :]))
    freqs = np.fft.rfftfreq(len(out[0, SR // 2 :]), 1 / SR)
    assert spec[np.argmin(np.abs(freqs - 8000))] < 0.01 * spec[np.argmin(np.abs(freqs - 440))]


def test_width_zero_is_mono_and_reverb_adds_a_tail() -> None:
    rng = np.random.default_rng(0)
    y = rng.uniform(-0.5, 0.5, (2, SR)).astype(np.float32)
    mono = apply_chain(y, SR, Chain(width=0.0))
    np.testing.assert_allclose(mono[0], mono[1], atol=1e-6)
    click = np.zeros((2, SR * 2), np.float32)
    click[:, 100] = 1.0
    wet = apply_chain(click, SR, Chain(reverb_rt60=1.0, reverb_mix=0.5), seed=2)
    # half a second after the click the room still rings; a second and a half after, 90 dB down, it is quiet
    assert 0 < np.abs(wet[:, SR // 2 : SR]).max() < 0.1 and np.abs(wet[:, SR + SR // 2 :]).max() < 0.01


def test_compression_narrows_the_dynamics() -> None:
    y = _tone(220.0, seconds=2.0)
    y[:, :SR] *= 0.1  # a quiet second, then a loud one: 20 dB apart
    out = apply_chain(y, SR, Chain(compress_db=30.0, ratio=4.0))
    quiet, loud = _level_db(out[:, SR // 4 : SR - SR // 10]), _level_db(out[:, SR + SR // 4 :])
    assert loud - quiet == pytest.approx(20.0 / 4, abs=1.5)


@pytest.mark.parametrize("codec", ["ogg", "mp3"])
def test_lossy_round_trip_keeps_length_and_alignment(codec: str) -> None:
    t = np.arange(SR * 2) / SR
    y = sum(0.1 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * r * t)) / 2 for f, r in ((220, 1.5), (554, 3)))
    y = np.stack([y, 0.8 * y]).astype(np.float32)
    out = apply_chain(y, SR, Chain(codec=codec, quality=0.95))
    assert out.shape == y.shape and np.abs(out).max() <= 1.0
    # the decoded audio lines up with the input (a decoder's leading delay, if any, is taken out)
    assert np.corrcoef(out[0], y[0])[0, 1] > 0.99 and not np.array_equal(out, y)


def test_drift_keeps_pitch_and_wanders_tempo() -> None:
    y = _tone(440.0, seconds=12.0)
    out = apply_chain(y, SR, Chain(drift=0.04), seed=3)
    assert abs(out.shape[-1] / y.shape[-1] - 1) < 0.05 and out.shape[-1] != y.shape[-1]
    spec = np.abs(np.fft.rfft(out[0] * np.hanning(out.shape[-1])))
    peak = np.fft.rfftfreq(out.shape[-1], 1 / SR)[np.argmax(spec)]
    assert peak == pytest.approx(440.0, abs=2.0)
