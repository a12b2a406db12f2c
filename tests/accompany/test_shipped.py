"""The shipped accompanist: its tracker on a click track, the best of four takes in time with a
held-out song, and its output on that committed example pinned (golden)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
DATA = Path(__file__).parent / "data"
SHIPPED = [e.name for e in entries("accompany") if e.default]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no accompanist shipped")
SR = 22_050
DECIMATE = 32  # the golden drums keep every 32nd sample


@pytest.fixture(scope="module")
def accompanist():  # type: ignore[no-untyped-def]
    from mtk.accompany.pipeline import load

    return load()


def click_track(seconds: float, bpm: float, bar: int) -> np.ndarray:
    """Clicks on every beat, the bar's first an octave higher (2 kHz against 1 kHz)."""
    y = np.zeros(int(seconds * SR), np.float32)
    t = np.arange(int(0.03 * SR)) / SR
    for i, start in enumerate(np.arange(0.0, seconds - 0.05, 60.0 / bpm)):
        f = 2000.0 if i % bar == 0 else 1000.0
        s = int(round(start * SR))
        y[s : s + t.size] += (0.5 * np.sin(2 * np.pi * f * t) * np.exp(-t * 150)).astype(np.float32)
    return y


def test_tracker_finds_the_beats_of_a_click_track(accompanist) -> None:  # type: ignore[no-untyped-def]
    from mtk.accompany.beats import f_measures

    bpm = 100.0
    truth = np.arange(0.0, 19.95, 60.0 / bpm)
    beats = accompanist.tracker.from_audio(click_track(20.0, bpm, 4), SR)
    assert beats.tempo == pytest.approx(bpm, rel=0.03)
    assert f_measures(truth, truth[::4], beats)["beat_f"] >= 0.95


# The committed example's true beats (its corpus song's meta.json, from 2 s on): a reel at 133 BPM.
EXAMPLE_BEATS = 0.256 + np.arange(18) * 60.0 / 133.0


def test_the_best_of_four_takes_plays_in_time(accompanist) -> None:  # type: ignore[no-untyped-def]
    """On the committed example (a held-out corpus song), the take ``accompany`` keeps out of
    four (its beats agreeing best with the tracked ones) plays on the true beats (librosa on
    the drums alone; mir_eval F-measure, nothing trimmed)."""
    import mir_eval
    import soundfile as sf

    from mtk.accompany.api import accompany
    from mtk.accompany.beats import librosa_beats

    y, sr = sf.read(DATA / "drumless_8s.flac", dtype="float32")
    result = accompany(accompanist, y, sr, takes=4, seed=0)
    assert result.beats.tempo == pytest.approx(133.0, rel=0.02)
    scores = [mir_eval.beat.f_measure(EXAMPLE_BEATS, librosa_beats(t.drums, sr).beats) for t in result.takes]
    assert scores[0] >= 0.8 and scores[0] == max(scores), scores


def test_golden_output(accompanist) -> None:  # type: ignore[no-untyped-def]
    """The committed 8-s drumless example (a held-out corpus song), seed 0: beats, drum codes and
    drums pinned when the weights shipped (python tests/accompany/test_shipped.py writes them)."""
    golden = np.load(DATA / f"golden-{accompanist.name}.npz")
    beats, codes, drums = _run(accompanist)
    np.testing.assert_allclose(beats, golden["beats"], atol=0.012)
    np.testing.assert_array_equal(codes, golden["codes"])
    np.testing.assert_allclose(drums[::DECIMATE], golden["drums"], atol=2e-3)


def _run(accompanist):  # type: ignore[no-untyped-def]
    import soundfile as sf

    y, sr = sf.read(DATA / "drumless_8s.flac", dtype="float32")
    a = accompanist.from_audio(y, sr, seed=0)
    return a.beats.beats, a.codes, a.drums


if __name__ == "__main__":  # write the golden file of the shipped default
    from mtk.accompany.pipeline import load

    acc = load()
    beats, codes, drums = _run(acc)
    np.savez_compressed(DATA / f"golden-{acc.name}.npz", beats=beats, codes=codes, drums=drums[::DECIMATE])
    print(f"golden-{acc.name}.npz: {beats.size} beats, {codes.size} codes")
