"""The drum machine and the scores of generated drums, on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.accompany.beats import Beats
from mtk.accompany.data import find_songs
from mtk.accompany.drummachine import hits
from mtk.accompany.drumscores import StyleSpace, frechet, grid, rhythm
from mtk.accompany.evaluate import clip
from tests.accompany.conftest import SR
from tests.separate.conftest import drum_loop


def test_drum_machine_plays_rock_on_four_and_waltz_on_three() -> None:
    four = Beats(np.arange(8) * 0.5, np.array([0.0, 2.0]), 120.0, 4)
    got = hits(four)
    assert [t for t, c in got if c == "kick"] == [0.0, 1.0, 2.0, 3.0]
    assert [t for t, c in got if c == "snare"] == [0.5, 1.5, 2.5, 3.5]
    assert len([1 for _, c in got if c == "hihat_closed"]) == 15  # every half beat to the last beat
    three = Beats(np.arange(7) * 0.5, np.array([0.5, 2.0]), 120.0, 3)  # the bar starts on the second beat
    got = hits(three)
    assert [t for t, c in got if c == "kick"] == [0.5, 2.0]
    assert [t for t, c in got if c == "snare"] == [0.0, 1.0, 1.5, 2.5, 3.0]


def test_grid_divides_simple_beats_in_four_and_compound_in_six(beat_corpus) -> None:  # noqa: ANN001
    song = find_songs(beat_corpus)[0]  # 100 BPM, 4/4
    g = grid(song)
    assert np.allclose(np.diff(g), 0.15)
    compound = clip(song, 3.0).__class__(**{**song.__dict__, "meter": "6/8"})
    assert np.allclose(np.diff(grid(compound)), 0.1)


def test_rhythm_of_a_drum_loop_at_the_song_tempo(beat_corpus) -> None:  # noqa: ANN001
    song = clip(find_songs(beat_corpus)[1], 8.0)  # 120 BPM
    scores = rhythm(drum_loop(8.0, SR, bpm=120.0), SR, song)
    assert scores["tempo_error"] < 0.05
    assert scores["on_grid"] > 0.9
    assert scores["beat_f"] > 0.8


def test_frechet_is_zero_for_one_set_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 4))
    assert frechet(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet(a, a + 2.0) == pytest.approx(16.0, rel=1e-6)


def test_style_space_classifies_separable_styles() -> None:
    rng = np.random.default_rng(0)
    vectors = np.concatenate([rng.standard_normal((20, 8)) + 3, rng.standard_normal((20, 8)) - 3])
    styles = ["rock"] * 20 + ["swing"] * 20
    space = StyleSpace(vectors, styles, dims=4)
    assert space.agreement(vectors, styles) == 1.0
    assert StyleSpace(vectors, ["rock"] * 40).agreement(vectors, styles) is None


def test_bar_downbeats_start_where_the_kick_plays() -> None:
    from mtk.accompany.drumscores import bar_downbeats

    sr, beat = SR, 0.5
    y = np.zeros(int(8.0 * sr), np.float32)
    t = np.arange(int(0.2 * sr)) / sr
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-t * 20)).astype(np.float32)
    tick = (np.random.default_rng(0).standard_normal(t.size) * np.exp(-t * 60) * 0.3).astype(np.float32)
    beats = np.arange(16) * beat
    for i, b in enumerate(beats):
        s = int(b * sr)
        y[s : s + t.size] += tick + (kick if i % 4 == 1 else 0)  # the bar starts on the second beat
    assert np.allclose(bar_downbeats(y, sr, beats, 4), beats[1::4])
