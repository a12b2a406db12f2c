"""Known answers for the cover features, Qmax, the index and cliques."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import miditoolkit
import numpy as np
import pytest

from mtk.detect_cover.align import (
    _kth_of_rows,
    cross_recurrence,
    crp_qmax,
    embed,
    multilevel_score,
    multilevel_scores,
    nearest_levels,
    oti,
    pairings,
    qmax,
    qmax_score,
)
from mtk.detect_cover.features import (
    FeatureConfig,
    beat_chroma,
    distance,
    fingerprint,
    fingerprints,
    level,
    patch_spectra,
)
from mtk.detect_cover.index import CoverIndex, Recording, extract
from mtk.detect_cover.infer import CoverDetector, load_calibration, load_model

ROOT = Path(__file__).resolve().parents[2]


def _chroma(rng: np.random.Generator, n: int = 160) -> np.ndarray:
    """A chroma sequence of random chords held 1-4 beats each, with a little noise."""
    cols = []
    while len(cols) < n:
        chord = rng.random(12) ** 4
        cols += [chord] * int(rng.integers(1, 5))
    x = np.array(cols[:n]).T + 0.05 * rng.random((12, n))
    return (x / x.max(axis=0, keepdims=True)).astype(np.float32)


def _grid(beats: np.ndarray) -> np.ndarray:
    """Grid chroma (``FeatureConfig().grid`` columns per beat) of chroma held for whole beats."""
    return np.repeat(beats, FeatureConfig().grid, axis=1)


def test_2dftm_invariant_to_rotation_and_circular_time_shift() -> None:
    rng = np.random.default_rng(0)
    seed = FeatureConfig.seed()
    patch = rng.random((12, 75)).astype(np.float32)
    base = patch_spectra(patch, seed)
    np.testing.assert_allclose(patch_spectra(np.roll(patch, 5, axis=0), seed), base, atol=1e-5)
    np.testing.assert_allclose(patch_spectra(np.roll(patch, 17, axis=1), seed), base, atol=1e-5)
    assert base.shape == (1, 900) and patch_spectra(patch).shape == (36, 480)  # 40-beat patches
    assert not np.allclose(patch_spectra(rng.random((12, 75)), seed), base, atol=1e-3)


def test_fingerprint_shape_and_transposition() -> None:
    x = _chroma(np.random.default_rng(1))
    v = fingerprint(x)
    assert v.shape == (480,) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    np.testing.assert_allclose(fingerprint(np.roll(x, 3, axis=0)), v, atol=1e-5)
    assert fingerprint(x[:, :20]).shape == (480,)  # shorter than a patch: tiled
    assert fingerprint(x, FeatureConfig.seed()).shape == (900,)


def test_qmax_known_answers() -> None:
    rng = np.random.default_rng(2)
    a = _chroma(rng, 200)
    b = np.roll(a[:, 30:180], 4, axis=0)  # an excerpt, transposed by 4 semitones
    assert oti(a, b) == 8  # rolling b by 8 (= -4) undoes the transposition
    score, _ = qmax_score(a, b)
    assert score > 0.9
    other, _ = qmax_score(a, _chroma(np.random.default_rng(3), 200))
    assert other < 0.3
    # Tempo change: every beat of the excerpt doubled (half speed) still aligns along a bent path.
    slow, _ = qmax_score(a, np.repeat(b, 2, axis=1))
    assert slow > other + 0.2
    r = np.eye(10, dtype=np.uint8)
    assert qmax(r) == 10  # a clean diagonal of 10 matches
    assert cross_recurrence(embed(a), embed(a)).diagonal().all()


def test_levels_of_the_grid_chroma() -> None:
    cfg = FeatureConfig()
    assert cfg.grid == 6 and cfg.levels == (1, 2, 3)
    beats = np.zeros((12, 6 * 60))  # 60 beats
    assert [k for _, k in nearest_levels(beats, 30.0)] == [2, 3, 1]  # 120 bpm: 4, 6, 2 columns per second
    assert [k for _, k in nearest_levels(beats, 60.0)] == [3, 2, 1]  # 60 bpm: 3, 2, 1 per second
    assert [k for _, k in nearest_levels(beats, 12.0)] == [1, 2, 3]  # 300 bpm: 5, 10, 15 per second
    assert pairings(beats, beats, 30.0, 60.0) == [(2, 3), (2, 2), (3, 3), (3, 2)]
    long = np.zeros((12, 6 * 480))  # 4 minutes at 120 bpm: (2 x 480)^2 cells, then over budget
    assert pairings(long, long, 240.0, 240.0) == [(2, 2)]
    grid = np.zeros((12, 12), np.float32)  # two beats; pitch class = the column's sixth of the beat
    for c in range(12):
        grid[c % 6, c] = 1.0
    np.testing.assert_allclose(level(grid, 1), np.tile(np.r_[np.ones(6), np.zeros(6)][:, None], (1, 2)))
    third = level(grid, 3)  # columns hold pitch classes {0, 1}, {2, 3}, {4, 5}, then again
    assert third.shape == (12, 6)
    np.testing.assert_allclose(third[:, 1], [0, 0, 1, 1] + [0] * 8)
    with pytest.raises(ValueError, match="multiple"):
        FeatureConfig(grid=4)  # level 3 does not divide it


def test_grid_chroma_of_a_steady_tone_follows_the_beats() -> None:
    cfg = FeatureConfig()
    sr = cfg.sample_rate
    t = np.arange(int(12 * sr)) / sr
    clicks = (np.sin(2 * np.pi * 880 * t) * (np.mod(t, 0.5) < 0.03)).astype(np.float32)  # an A, 120 bpm
    chroma, starts = beat_chroma(0.3 * np.sin(2 * np.pi * 220 * t).astype(np.float32) + clicks, sr, cfg)
    assert chroma.shape == (12, cfg.grid * len(starts))
    assert np.median(np.diff(starts)) == pytest.approx(0.5, abs=0.03)
    assert np.all(level(chroma, 1).argmax(axis=0) == 9)  # pitch class A everywhere


def test_multilevel_alignment_finds_a_version_tracked_at_three_beats_per_beat() -> None:
    rng = np.random.default_rng(4)
    a = _chroma(rng, 90)  # 90 beats in 60 s: levels 3 and 2 (4.5 and 3 columns per second)
    b = np.roll(np.repeat(a, 3, axis=1), 2, axis=0)  # its tracker counted 3 beats in each, 2 semitones up
    single, _ = qmax_score(a, b)  # a 3:1 tempo ratio bends the path beyond Qmax's 2:1 steps
    multi, shift = multilevel_score(_grid(a), _grid(b), 60.0, 60.0)  # b: levels 1 and 2 (4.5, 9 per second)
    unrelated, _ = multilevel_score(_grid(a), _grid(_chroma(np.random.default_rng(9), 270)), 60.0, 60.0)
    assert shift == 10 and multi > 0.9 and multi > single + 0.3 and unrelated < 0.4


def test_stage1_distance_is_the_closest_pairing_of_levels() -> None:
    rng = np.random.default_rng(6)
    a = _chroma(rng, 120)
    fa = fingerprints(_grid(a))
    assert fa.shape == (3, 480)
    np.testing.assert_allclose(fa[1], fingerprint(np.repeat(a, 2, axis=1)), atol=1e-6)
    counted_in_three = fingerprints(_grid(np.repeat(a, 3, axis=1)))  # its level 1 is a's level 3
    assert distance(fa, counted_in_three) < 1e-3 and np.linalg.norm(fa[0] - counted_in_three[0]) > 0.1
    assert distance(fa, fa) == pytest.approx(0.0, abs=1e-3)
    idx = CoverIndex()
    for n in range(5):
        x = _grid(_chroma(rng, 120))
        idx.add(Recording(f"r{n}", f"r{n}", 60.0, fingerprints(x), x))
    found, dists = idx.knn(idx.recording(3).vectors, 5)
    brute = sorted(range(5), key=lambda i: distance(idx.recording(3).vectors, idx.recording(i).vectors))
    assert found.tolist() == brute and found[0] == 3
    np.testing.assert_allclose(
        dists, [distance(idx.recording(3).vectors, idx.recording(i).vectors) for i in brute], atol=1e-4
    )


def test_compiled_plot_and_recurrence_equal_the_numpy_reference() -> None:
    rng = np.random.default_rng(8)
    for n, m, kappa in ((40, 40, 0.2), (75, 130, 0.1), (200, 61, 0.3)):
        x, y = embed(_chroma(rng, n), 5), embed(_chroma(rng, m), 5)
        y[: min(n, m) // 2] = x[: min(n, m) // 2]  # a shared stretch, so the plot has a path
        assert crp_qmax(x, y, kappa=kappa) == qmax(cross_recurrence(x, y, kappa=kappa))


def test_thresholds_are_the_exact_kth_value_of_every_row_ties_included() -> None:
    rng = np.random.default_rng(11)
    x = rng.random((30, 97)).astype(np.float32)
    ties = np.round(x * 8).astype(np.float32) / 8  # nine distinct values: runs of equal values
    flat = np.full((3, 10), 0.25, np.float32)
    for data in (x, ties, flat):
        for k in sorted({1, 2, 7, 19, 50, data.shape[1]} & set(range(1, data.shape[1] + 1))):
            np.testing.assert_array_equal(_kth_of_rows(data, k), np.partition(data, k - 1, axis=1)[:, k - 1])


def test_batch_of_candidates_scores_as_one_pair_at_a_time_on_any_number_of_threads() -> None:
    rng = np.random.default_rng(12)
    a = _grid(_chroma(rng, 90))
    cands = [_grid(_chroma(rng, int(rng.integers(3, 150)))) for _ in range(6)]  # 3 beats: shorter than m
    cands.append(np.roll(a[:, 60:480], 5, axis=0))  # an excerpt, transposed
    seconds = [c.shape[1] / FeatureConfig().grid / 2 for c in cands]  # 120 bpm
    single = [multilevel_score(a, c, 45.0, s) for c, s in zip(cands, seconds, strict=True)]
    for threads in (1, 2):
        assert multilevel_scores(a, cands, 45.0, seconds, threads=threads) == single
    assert single[-1][0] > 0.9 and single[-1][0] > max(q for q, _ in single[:-1]) + 0.3 and single[-1][1] == 7
    assert multilevel_scores(a, [], 45.0, []) == []
    # against the plain numpy reference: level chroma, embedding, plot, recurrence, per pairing
    b = cands[2]
    shift, reference = oti(a, b), 0.0
    for ka, kb in pairings(a, b, 45.0, seconds[2]):
        x, y = embed(level(a, ka), 5), embed(np.roll(level(b, kb), shift, axis=0), 5)
        reference = max(reference, qmax(cross_recurrence(x, y, kappa=0.2)) / min(len(x), len(y)))
    assert multilevel_scores(a, [b], 45.0, [seconds[2]])[0] == (reference, shift)


def _variant(midi: miditoolkit.MidiFile, *, transpose: int = 0, tempo: float = 1.0) -> bytes:
    out = copy.deepcopy(midi)
    for inst in out.instruments:
        if not inst.is_drum:
            for n in inst.notes:
                n.pitch += transpose
    for t in out.tempo_changes:
        t.tempo *= tempo
    buf = io.BytesIO()
    out.dump(file=buf)
    return buf.getvalue()


def _unrelated() -> bytes:
    rng = np.random.default_rng(7)
    midi = miditoolkit.MidiFile(ticks_per_beat=480)
    midi.tempo_changes = [miditoolkit.TempoChange(100, 0)]
    lead = miditoolkit.Instrument(program=73)
    chords = miditoolkit.Instrument(program=0)
    pitch, t = 62, 0
    for bar in range(16):
        root = [57, 52, 55, 50][bar % 4]
        for p in (root, root + 3, root + 7):
            chords.notes.append(miditoolkit.Note(60, p, bar * 1920, bar * 1920 + 1900))
        for _ in range(4):
            pitch = int(np.clip(pitch + rng.integers(-4, 5), 55, 80))
            lead.notes.append(miditoolkit.Note(90, pitch, t, t + 460))
            t += 480
    midi.instruments = [lead, chords]
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """Ode to Joy, the same transposed +3 and 20 % faster, and an unrelated tune (rendered)."""
    from mtk.corpus.render import render_midi
    from mtk.corpus.soundfonts import bundled_soundfont
    from mtk.io.audio import write_audio

    folder = tmp_path_factory.mktemp("covers")
    midi = miditoolkit.MidiFile(str(ROOT / "examples" / "ode_to_joy.mid"))
    sources = {"original": _variant(midi), "cover": _variant(midi, transpose=3, tempo=1.2), "other": _unrelated()}
    out = {}
    for name, data in sources.items():
        r = render_midi(data, soundfont=bundled_soundfont(), synth="builtin", sample_rate=22_050)
        write_audio(folder / f"{name}.wav", r.audio, r.sample_rate)
        out[name] = extract(str(folder / f"{name}.wav"), use_cache=False)
    return out


def test_a_transposed_faster_version_scores_higher_than_an_unrelated_tune(recordings: dict[str, Recording]) -> None:
    det = CoverDetector(load_calibration("detect-cover-debug"))
    cover = det.compare(recordings["original"], recordings["cover"])
    other = det.compare(recordings["original"], recordings["other"])
    assert cover.qmax > other.qmax and cover.score > other.score
    assert cover.distance < other.distance  # stage 1 agrees


def test_index_round_trip_and_incremental_build(recordings: dict[str, Recording], tmp_path: Path) -> None:
    full = CoverIndex()
    for rec in recordings.values():
        full.add(rec)
    full.save(tmp_path / "full.idx")
    part = CoverIndex()
    part.add(recordings["original"])
    part.save(tmp_path / "part.idx")
    grown = CoverIndex.load(tmp_path / "part.idx")
    for name in ("cover", "other"):
        grown.add(recordings[name])
    loaded = CoverIndex.load(tmp_path / "full.idx")
    for idx in (loaded, grown):
        assert idx.paths == full.paths and idx.hashes == full.hashes
        np.testing.assert_array_equal(idx.vectors, full.vectors)
        for i in range(len(full)):
            np.testing.assert_array_equal(idx.chroma(i), full.chroma(i))
    nearest, _ = loaded.knn(recordings["cover"].vectors, 2)
    assert [loaded.paths[i] for i in nearest] == [recordings["cover"].path, recordings["original"].path]


def test_cliques_recover_planted_groups() -> None:
    rng = np.random.default_rng(5)
    idx, truth = CoverIndex(), []
    for work in range(6):
        base = _chroma(rng, 180)
        members = []
        for v in range(3):
            x = np.roll(base, int(rng.integers(12)), axis=0)
            if v == 2:
                x = np.repeat(x, 2, axis=1)[:, ::3]  # a tempo change: 2/3 of the beats
            x = np.clip(x + 0.05 * rng.random(x.shape), 0, None).astype(np.float32)
            name = f"w{work}v{v}"
            idx.add(Recording(name, name, 60.0, fingerprints(_grid(x)), _grid(x)))
            members.append(len(idx) - 1)
        truth.append(members)
    for n in range(4):  # unrelated singletons
        x = _chroma(rng, 180)
        idx.add(Recording(f"solo{n}", f"solo{n}", 60.0, fingerprints(_grid(x)), _grid(x)))
    found = CoverDetector(load_calibration("detect-cover-debug")).cliques(idx)
    assert sorted(found) == sorted(truth)


def test_feature_config_key_changes_with_parameters() -> None:
    assert FeatureConfig().key() != FeatureConfig(patch=50).key()


def test_golden_scores_of_the_shipped_calibration(recordings: dict[str, Recording]) -> None:
    det = CoverDetector(*load_model())  # detect-cover-proj-v1
    cover = det.compare(recordings["original"], recordings["cover"])
    other = det.compare(recordings["original"], recordings["other"])
    assert cover.is_cover and not other.is_cover
    # Pinned outputs (builtin synth, bundled TimGM6mb, 22.05 kHz; measured 1.0 and 0.0039).
    assert cover.method == "2dftm+projection+qmax"
    assert cover.qmax == pytest.approx(1.0) and cover.score == pytest.approx(1.0, abs=0.005)
    assert cover.distance == pytest.approx(0.1954, abs=0.02) and other.distance == pytest.approx(0.9853, abs=0.02)
    assert other.qmax == pytest.approx(0.1719, abs=0.03) and other.score == pytest.approx(0.0039, abs=0.005)
