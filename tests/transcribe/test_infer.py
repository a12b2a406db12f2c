"""Peak picking, velocities, chunking and the API on the debug model; the NMF baseline and
the scoring on synthetic stems made of recorded one-shots at known times."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.transcribe.components import COMPONENTS
from mtk.transcribe.peaks import detect, velocities

pytest.importorskip("torch")

RATE = 1000.0


def _spikes(times: dict[int, list[tuple[float, float]]], seconds: float = 3.0) -> np.ndarray:
    act = np.zeros((len(COMPONENTS), int(seconds * RATE)), np.float32)
    for k, hits in times.items():
        for t, a in hits:
            act[k, int(t * RATE)] = a * 0.7
            act[k, int(t * RATE) + 1] = a * 0.3  # a hit split over two steps still counts once
    return act


def test_detect_known_peaks_and_thresholds() -> None:
    act = _spikes({0: [(0.5, 1.0), (1.0, 0.4), (2.0, 0.9)], 1: [(1.0, 0.8)]})
    peaks = detect(act, RATE, np.full(len(COMPONENTS), 0.2))
    assert [(round(p.time, 3), p.component) for p in peaks] == [(0.5, 0), (1.0, 0), (1.0, 1), (2.0, 0)]
    assert [round(p.mass, 3) for p in peaks] == [1.0, 0.4, 0.8, 0.9]
    high = detect(act, RATE, np.full(len(COMPONENTS), 0.5))
    assert [(round(p.time, 3), p.component) for p in high] == [(0.5, 0), (1.0, 1), (2.0, 0)]


def test_wait_merges_hits_closer_than_50ms() -> None:
    act = _spikes({0: [(1.0, 1.0), (1.02, 0.9)]})
    assert len(detect(act, RATE, np.full(len(COMPONENTS), 0.1))) == 1


def test_velocities_linear_in_amplitude() -> None:
    assert velocities(np.array([1.0, 0.5, 0.25])).tolist() == [127, 64, 32]
    assert velocities(np.zeros(0)).size == 0


def test_chunked_matches_whole_file() -> None:
    from mtk.transcribe.infer import load

    rng = np.random.default_rng(0)
    y = (rng.standard_normal(16000 * 6) * np.exp(-np.arange(16000 * 6) % 4000 / 400)).astype(np.float32)
    y /= np.abs(y).max()
    whole = load("transcribe-debug", chunk_s=8.192, overlap_s=1.024)
    chunked = load("transcribe-debug", chunk_s=2.048, overlap_s=0.512, batch=3, head_batch=2)
    a, b = whole.activations(y), chunked.activations(y)
    assert a.shape == b.shape == (len(COMPONENTS), len(y) // 16)
    assert np.abs(a - b).max() < 0.02  # context beyond 0.5 s barely matters


def test_from_audio_events_and_silence() -> None:
    from mtk.transcribe.infer import load

    t = load("transcribe-debug")
    silent = t.from_audio(np.zeros(16000, np.float32), 16000)
    assert silent.events == [] and silent.duration == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    res = t.from_audio(rng.standard_normal(44100).astype(np.float32) * 0.1, 44100)  # resampled to 16 kHz
    assert res.duration == pytest.approx(1.0, abs=1e-3)
    assert all(1 <= e.velocity <= 127 and e.drum in COMPONENTS for e in res.events)
    midi = res.to_midi()
    assert midi.instruments[0].is_drum and len(midi.instruments[0].notes) == len(res.events)


def test_baseline_recovers_known_hits(kit_stem) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.baseline import NmfTranscriber
    from mtk.transcribe.eval import Song, score

    y, hits, bank = kit_stem
    base = NmfTranscriber(bank, 16000)
    song = Song(
        "s", y, {c: np.array(sorted(t)) for c, t in hits.items()}, {c: np.full(len(t), 100) for c, t in hits.items()}
    )
    result = score([song], [base.activations(y)], base.rate, {"kick": 0.2, "snare": 0.2, "hihat": 0.2})
    assert result["kick"]["f1"] == 1.0 and result["snare"]["f1"] == 1.0
    assert result["mean_f1"] >= 0.9


def test_score_counts_and_tuning() -> None:
    from mtk.transcribe.eval import Song, score, tune_thresholds

    act = _spikes({0: [(0.5, 1.0), (1.5, 1.0)], 1: [(1.0, 0.3)], 2: [(0.25, 0.05), (2.0, 0.6)]})
    ref = {"kick": np.array([0.5, 1.5]), "snare": np.array([1.0]), "hihat": np.array([2.0])}
    song = Song("s", np.zeros(1), ref, {c: np.full(len(v), 100) for c, v in ref.items()})
    res = score([song], [act], RATE, {"kick": 0.2, "snare": 0.2, "hihat": 0.01})
    assert res["kick"]["f1"] == 1.0 and res["snare"]["f1"] == 1.0
    assert res["hihat"] == {"f1": 0.6667, "precision": 0.5, "recall": 1.0}  # the 0.05 blip is a false hit
    tuned = tune_thresholds([song], [act], RATE)
    assert 0.05 <= tuned["hihat"] < 0.6 and tuned["snare"] < 0.3
