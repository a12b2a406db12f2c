"""Decoding beats and downbeats from activations, and librosa's baseline, on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.accompany.beats import Beats, decode, downbeat_phase, f_measures, librosa_beats
from mtk.accompany.data import targets
from tests.accompany.conftest import SR, pulse_chords

FPS = SR / 256


def activation(seconds: float, bpm: float, bar: int, phase: int = 0) -> np.ndarray:
    """Beat and downbeat activations: bumps on each beat, the downbeat's on every ``bar``-th
    beat starting at beat ``phase``."""
    frames = int(seconds * FPS)
    beats = np.arange(0, seconds - 0.1, 60.0 / bpm)
    act = np.zeros((2, frames))
    act[0] = targets(beats, frames, FPS)
    act[1] = targets(beats[phase::bar], frames, FPS)
    return 0.05 + 0.9 * act


@pytest.mark.parametrize(("bpm", "bar", "phase"), [(120.0, 4, 0), (95.0, 3, 1), (150.0, 4, 2), (70.0, 2, 1)])
def test_decode_recovers_tempo_beats_and_bar(bpm: float, bar: int, phase: int) -> None:
    act = activation(30.0, bpm, bar, phase)
    got = decode(act, FPS)
    truth = np.arange(0, 30.0 - 0.1, 60.0 / bpm)
    assert got.tempo == pytest.approx(bpm, rel=0.03)
    assert got.beats_per_bar == bar
    scores = f_measures(truth, truth[phase::bar], got)
    assert scores["beat_f"] > 0.97
    assert scores["downbeat_f"] > 0.97


def test_contrast_tells_two_four_from_four_four() -> None:
    two = np.tile([1.0, 0.1], 16)  # a downbeat every other beat
    four = np.tile([1.0, 0.1, 0.2, 0.1], 8)
    assert downbeat_phase(two) == (2, 0)
    assert downbeat_phase(four) == (4, 0)
    assert downbeat_phase(np.roll(four, 1)) == (4, 1)


def test_silence_decodes_to_no_beats() -> None:
    got = decode(np.zeros((2, 500)), FPS)
    assert got.beats.size == 0 and got.downbeats.size == 0


def test_targets_mark_beat_and_neighbours() -> None:
    t = targets([0.0, 1.0], 200, 100.0)
    assert t[0] == 1.0 and t[1] == 0.5 and t[100] == 1.0 and t[99] == 0.5 and t[101] == 0.5
    assert t.sum() == pytest.approx(1 + 0.5 + 1 + 0.5 + 0.5)


def test_librosa_baseline_finds_a_known_tempo() -> None:
    y = pulse_chords(20.0, 120.0, 4)
    got = librosa_beats(y, SR)
    assert got.tempo == pytest.approx(120.0, rel=0.05)
    truth = np.arange(0, 20.0, 0.5)
    assert f_measures(truth, truth[::4], got)["beat_f"] > 0.9


def test_to_dict_rounds_and_names_fields() -> None:
    d = Beats(np.array([0.123456]), np.array([0.123456]), 120.04, 4).to_dict()
    assert d == {"tempo": 120.04, "beats_per_bar": 4, "beats": [0.1235], "downbeats": [0.1235]}
