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


def test_cpu_device_object_runs_the_compiled_gru(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The CLI passes ``torch.device("cpu")``, which is not equal to the string "cpu"."""
    import torch

    from mtk.transcribe import fastgru
    from mtk.transcribe.infer import load

    calls = []
    compiled = fastgru.gru
    monkeypatch.setattr(fastgru, "gru", lambda *a, **k: calls.append(1) or compiled(*a, **k))
    y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    load("transcribe-debug", torch.device("cpu")).activations(y)
    assert calls


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


def test_false_hihats_are_told_apart_by_what_came_before() -> None:
    from mtk.transcribe.eval import Song, false_hihat_cause

    ref = {"snare": np.array([1.0]), "toms": np.array([]), "crash": np.array([]), "ride": np.array([3.0])}
    song = Song("s", np.zeros(1), ref, {})
    assert false_hihat_cause(song, 1.02) == "after_snare"
    assert false_hihat_cause(song, 3.5) == "in_decay" and false_hihat_cause(song, 2.995) == "in_decay"
    assert false_hihat_cause(song, 1.2) == "other" and false_hihat_cause(song, 4.2) == "other"


def test_flams_are_one_reference_onset() -> None:
    from mtk.transcribe.eval import _merge_flams

    hits = [(1.0, 40), (1.02, 110), (1.5, 90), (1.52, 80), (1.56, 70)]  # the last is 40 ms after the flam
    assert _merge_flams(hits) == [(1.0, 110), (1.5, 90), (1.56, 70)]


def test_score_counts_and_tuning() -> None:
    from mtk.transcribe.eval import Song, score, tune_thresholds

    act = _spikes({0: [(0.5, 1.0), (1.5, 1.0)], 1: [(1.0, 0.3)], 2: [(0.25, 0.05), (2.0, 0.6)]})
    ref = {"kick": np.array([0.5, 1.5]), "snare": np.array([1.0]), "hihat": np.array([2.0])}
    song = Song("s", np.zeros(1), ref, {c: np.full(len(v), 100) for c, v in ref.items()})
    res = score([song], [act], RATE, {"kick": 0.2, "snare": 0.2, "hihat": 0.01})
    assert res["kick"]["f1"] == 1.0 and res["snare"]["f1"] == 1.0
    assert res["hihat"] == {  # the 0.05 blip is a false hit, with no snare or ring before it
        "f1": 0.6667, "precision": 0.5, "recall": 1.0, "false_hits": {"after_snare": 0, "in_decay": 0, "other": 1},
    }  # fmt: skip
    tuned, gates = tune_thresholds([song], [act], RATE)
    assert 0.05 <= tuned["hihat"] < 0.6 and tuned["snare"] < 0.3
    assert gates == {"kick": 0.0, "snare": 0.0, "hihat": 0.0}  # no onsets given: no gate


def test_tuning_on_songs_without_a_class_keeps_the_own_threshold(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 31: tuned on songs without snares, a retuned model never output a snare (the grid's
    top threshold), silently. Now the class keeps the given fallback and a warning names it."""
    from mtk.transcribe.eval import Song, tune_thresholds

    act = _spikes({0: [(0.5, 1.0), (1.5, 1.0)], 1: [(1.0, 0.3)], 2: [(2.0, 0.6)]})
    ref = {"kick": np.array([0.5, 1.5]), "snare": np.array([]), "hihat": np.array([2.0])}
    song = Song("s", np.zeros(1), ref, {c: np.full(len(v), 100) for c, v in ref.items()})
    own = {"kick": 0.3, "snare": 0.25, "hihat": 0.2}, {"kick": 0.0, "snare": 0.1, "hihat": 0.0}
    with caplog.at_level("WARNING", logger="mtk"):
        tuned, gates = tune_thresholds([song], [act], RATE, fallback=own)
    assert tuned["snare"] == 0.25 and gates["snare"] == 0.1 and tuned["kick"] < 1.0
    assert "tuning on 1 song(s): no snare onset; snare keeps its own" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="mtk"):
        tuned, _ = tune_thresholds([song], [act], RATE)
    assert tuned["snare"] == 2.0 and "snare would never fire" in caplog.text


def _onset_curve(peaks_at: dict[float, float], seconds: float = 3.0) -> np.ndarray:
    from mtk.transcribe.peaks import ONSET_HOP

    curve = np.zeros(int(seconds * 16000 / ONSET_HOP) + 1, np.float32)
    for t, v in peaks_at.items():
        curve[int(round(t * 16000 / ONSET_HOP))] = v
    return curve


def test_onset_gate_keeps_hits_on_onsets_only() -> None:
    act = _spikes({2: [(0.5, 1.0), (1.0, 0.8), (2.0, 0.9)]})  # closed hi-hat
    curve = _onset_curve({0.49: 2.0, 1.012: 0.3, 1.6: 5.0})  # no onset within 16 ms of 2.0 s
    onsets = [curve if k == 2 else None for k in range(len(COMPONENTS))]
    thr = np.full(len(COMPONENTS), 0.2)
    ungated = detect(act, RATE, thr, onsets=onsets)
    assert [p.onset for p in ungated] == [2.0, pytest.approx(0.3), 0.0]  # measured, nothing dropped
    gates = np.zeros(len(COMPONENTS))
    gates[2] = 0.25
    assert [p.time for p in detect(act, RATE, thr, onsets=onsets, onset_thresholds=gates)] == [0.5, 1.0]
    gates[2] = 1.0
    assert [p.time for p in detect(act, RATE, thr, onsets=onsets, onset_thresholds=gates)] == [0.5]


def test_tuning_finds_the_gate_that_removes_hits_in_decays() -> None:
    from mtk.transcribe.eval import Song, score, tune_thresholds

    # Hi-hats at 0.5 and 1.5 s; a stronger false one at 2.5 s, in a decay (no onset).
    act = _spikes({0: [(0.5, 1.0)], 1: [(1.0, 1.0)], 2: [(0.5, 0.3), (1.5, 0.4), (2.5, 0.6)]})
    curve = _onset_curve({0.5: 3.0, 1.0: 3.0, 1.5: 2.0, 2.5: 0.05})
    onsets = [[curve if k in (0, 1, 2, 3) else None for k in range(len(COMPONENTS))]]
    ref = {"kick": np.array([0.5]), "snare": np.array([1.0]), "hihat": np.array([0.5, 1.5])}
    song = Song("s", np.zeros(1), ref, {c: np.full(len(v), 100) for c, v in ref.items()})
    plain, _ = tune_thresholds([song], [act], RATE)
    assert score([song], [act], RATE, plain)["hihat"]["f1"] < 1.0  # mass alone cannot drop the louder false hit
    tuned, gates = tune_thresholds([song], [act], RATE, onsets=onsets)
    assert 0.05 <= gates["hihat"] < 2.0 and gates["kick"] == gates["snare"] == 0.0  # weakest gate that helps
    res = score([song], [act], RATE, tuned, onsets=onsets, onset_thresholds=gates)
    assert res["mean_f1"] == 1.0


def test_band_onsets_blockwise_equal_librosa_and_find_onsets() -> None:
    import librosa

    from mtk.transcribe import peaks

    rng = np.random.default_rng(0)
    sr, hop = 16000, peaks.ONSET_HOP
    y = np.zeros(sr * 6, np.float32)
    for t in (1.0, 3.0):  # noise bursts decaying over 0.8 s: an onset each, none in the decay
        i = int(t * sr)
        y[i : i + int(0.8 * sr)] = rng.standard_normal(int(0.8 * sr)) * np.exp(-np.arange(int(0.8 * sr)) / 2000)
    band = (5000.0, 8000.0)
    old = peaks.ONSET_BLOCK_FRAMES
    try:
        peaks.ONSET_BLOCK_FRAMES = 97  # many blocks, boundaries everywhere
        blocks = peaks.band_onsets(y, sr, [band])[0]
    finally:
        peaks.ONSET_BLOCK_FRAMES = old
    whole = peaks.band_onsets(y, sr, [band])[0]
    mag = np.abs(librosa.stft(y, n_fft=peaks.ONSET_FFT, hop_length=hop))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=peaks.ONSET_FFT)
    ref = librosa.onset.onset_strength(
        S=np.log1p(100 * mag[(freqs >= band[0]) & (freqs <= band[1])]), lag=2, max_size=3, center=False
    )
    assert blocks.shape == whole.shape == (len(y) // hop + 1,)
    np.testing.assert_allclose(blocks, whole, atol=1e-4)
    np.testing.assert_allclose(whole[2:], ref[2:], atol=1e-4)  # librosa zero-pads its first `lag` frames
    for t in (1.0, 3.0):
        assert peaks.onset_near(whole, t, sr) > 1.0
        assert peaks.onset_near(whole, t + 0.3, sr) < 0.05 * peaks.onset_near(whole, t, sr)  # the decay


def test_hihats_are_one_detection() -> None:
    from mtk.transcribe.components import detection_groups, sharing

    closed, open_ = COMPONENTS.index("hihat_closed"), COMPONENTS.index("hihat_open")
    assert [closed, open_] in detection_groups() and sum(len(g) for g in detection_groups()) == len(COMPONENTS)
    act = _spikes({closed: [(1.0, 0.5)], open_: [(1.0, 0.1), (2.0, 0.6)]})
    peaks = detect(act, RATE, np.full(len(COMPONENTS), 0.05), detection_groups())
    assert [(p.time, COMPONENTS[p.component], round(p.mass, 3)) for p in peaks] == [
        (1.0, "hihat_closed", 0.6),  # the closed hat's hit, with the open hat's activation summed
        (2.0, "hihat_open", 0.6),
    ]
    assert sharing("hihat") == sharing("hihat_open") == ("hihat_closed", "hihat_open") and sharing("kick") == ("kick",)


def test_a_stroke_is_one_tom_the_strongest() -> None:
    from mtk.transcribe.components import EXTRA_CLASSES, TOM_COMPONENTS
    from mtk.transcribe.eval import Song, _extra_scores
    from mtk.transcribe.peaks import Peak, one_per_stroke

    low, mid, high, kick = (COMPONENTS.index(c) for c in ("tom_low", "tom_mid", "tom_high", "kick"))
    peaks = [
        Peak(1.0, low, 0.3),
        Peak(1.01, mid, 0.5),
        Peak(1.02, high, 0.2),
        Peak(1.0, kick, 0.9),
        Peak(1.2, low, 0.1),
    ]
    kept = one_per_stroke(peaks, TOM_COMPONENTS)
    assert [(p.time, COMPONENTS[p.component]) for p in kept] == [(1.0, "kick"), (1.01, "tom_mid"), (1.2, "tom_low")]
    # scored as transcriptions have them: one tom stroke heard as all three is one hit, not three
    act = _spikes({low: [(1.0, 0.3)], mid: [(1.0, 0.5)], high: [(1.0, 0.2)]})
    onsets = {c: np.zeros(0) for c in ("kick", "snare", "hihat", *EXTRA_CLASSES)} | {"toms": np.array([1.0])}
    song = Song("s", np.zeros(1), onsets, {c: np.zeros(0) for c in onsets})
    assert _extra_scores([song], [act], RATE, dict.fromkeys(COMPONENTS, 0.05))["toms"]["precision"] == 1.0
