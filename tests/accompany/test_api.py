"""The accompany API's audio rules: loudness matching, the mix, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.accompany import api
from mtk.errors import InputError

SR = 22_050


def _noise(seconds: float, level: float, seed: int) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_drums_matched_to_the_inputs_loudness_with_an_offset() -> None:
    song, drums = _noise(4.0, 0.1, 0), _noise(4.0, 0.01, 1)
    reference = api.loudness(song, SR)
    for offset in (0.0, -6.0):
        got = api.match_loudness(drums, reference, SR, offset_db=offset)
        assert api.loudness(got, SR) == pytest.approx(reference + offset, abs=0.05)
    silent = np.zeros_like(drums)
    assert api.match_loudness(silent, reference, SR) is silent  # nothing to scale


def test_mix_adds_the_drums_to_every_channel_and_never_clips() -> None:
    song = np.stack([_noise(2.0, 0.1, 0), _noise(2.0, 0.1, 1)])
    drums = _noise(2.0, 0.1, 2)
    np.testing.assert_allclose(api.mix(song, drums), song + drums, atol=1e-6)
    loud = api.mix(4 * song, 4 * drums)
    assert np.abs(loud).max() == pytest.approx(api.PEAK, rel=1e-5)
    np.testing.assert_allclose(loud / np.abs(loud).max(), (song + drums) / np.abs(song + drums).max(), atol=1e-5)


@pytest.mark.parametrize(
    ("y", "message"),
    [(np.full(SR, 0.1, np.float32), "too short"), (np.full(3 * SR, 1e-5, np.float32), "silent")],
)
def test_too_short_or_silent_input_is_refused(y: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        api.check_input(y, SR, "x.wav")
