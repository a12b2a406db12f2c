"""Variant kits of a one-shot export (`mtk corpus oneshots --variants`): known answers on a
synthetic drum."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.corpus.oneshots import _variant_kits, _Writer, redesign, variant_base, variant_params
from mtk.io.audio import read_audio

SR = 44_100
OFF = {"semitones": 0.0, "lowpass_hz": 0.0, "highpass_hz": 0.0, "decay_s": 0.0, "drive": 0.0}


def _tom(freq: float = 200.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    y = np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.3)
    return np.stack([y, y]).astype(np.float32)


def _pitch(y: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(y[0] * np.hanning(y.shape[-1]), n=1 << 17))
    return float(np.argmax(spectrum) * SR / (1 << 17))


def test_an_octave_up_doubles_the_pitch_and_halves_the_sound() -> None:
    y = _tom()
    up = redesign(y, SR, {**OFF, "semitones": 12.0})
    assert _pitch(up) == pytest.approx(400.0, rel=0.01) and _pitch(y) == pytest.approx(200.0, rel=0.01)
    # the tail is trimmed where it falls below -60 dB: at about 0.3 s x ln(1000) = 2.07 s
    # if it were long enough; here the 1-s sound at half length
    assert up.shape[-1] == pytest.approx(SR / 2, rel=0.02)


def test_filters_and_decay_do_what_they_say() -> None:
    y = _tom(5000.0)
    # past the onset's click: 5 kHz through a 1 kHz low-pass (12 dB an octave) is about -28 dB
    assert np.abs(redesign(y, SR, {**OFF, "lowpass_hz": 1000.0})[:, SR // 10 :]).max() < 0.05
    assert np.abs(redesign(_tom(50.0), SR, {**OFF, "highpass_hz": 400.0})[:, SR // 10 :]).max() < 0.05
    tight = redesign(_tom(), SR, {**OFF, "decay_s": 0.05})
    assert tight.shape[-1] < 0.5 * SR  # 0.3 s and 0.05 s together fall 60 dB in about 0.3 s


def test_a_low_pass_above_nyquist_leaves_a_low_rate_export_as_it_is() -> None:
    y = _tom(1000.0)[:, ::2]  # at 22.05 kHz, where a 14-kHz low-pass cannot be designed
    np.testing.assert_array_equal(redesign(y, SR // 2, {**OFF, "lowpass_hz": 14000.0}), redesign(y, SR // 2, OFF))


def test_variants_are_whole_kits_reproducible_and_named_after_their_kit(tmp_path: Path) -> None:
    writer = _Writer(tmp_path, SR, force=False)
    rel, gain = writer.write(Path("kit-a/toms/tom-v1.wav"), _tom())
    base = {"file": str(rel), "kit": "Kit A", "class": "toms", "instrument": "Tom", "velocity": [0, 1], "gain": gain}
    other, _ = writer.write(Path("kit-b/toms/tom-v1.wav"), _tom(300.0))  # Kit A plays Kit B's file too
    records = [base, {**base, "instrument": "Tom 2"}, {**base, "file": str(other), "instrument": "Tom 3"}]
    out = list(_variant_kits(records, 2, 7, writer))
    assert [r["kit"] for r in out] == ["Kit A (variant 1)"] * 3 + ["Kit A (variant 2)"] * 3
    assert out[2]["file"] == "kit-a-variant-1/toms/tom-v1-2.wav"  # the same name in the variant's folder
    assert {variant_base(r["kit"]) for r in out} == {"Kit A"} and variant_base("Kit A") == "Kit A"
    assert out[0]["file"] == out[1]["file"] == "kit-a-variant-1/toms/tom-v1.wav"  # one file per sound
    for record, n in zip(out, [1, 1, 1, 2, 2, 2], strict=True):
        assert record["variant_of"] == "Kit A" and record["variant"] == variant_params("Kit A", n, 7)
    assert variant_params("Kit A", 1, 7) != variant_params("Kit A", 2, 7) != variant_params("Kit B", 2, 7)
    y, _ = read_audio(tmp_path / out[0]["file"])
    assert np.abs(y).max() == pytest.approx(0.891, abs=1e-3)  # normalised like every export file
    semitones = out[0]["variant"]["semitones"]
    assert _pitch(y) == pytest.approx(200.0 * 2 ** (semitones / 12), rel=0.02)
    json.dumps(out)  # records are JSON
