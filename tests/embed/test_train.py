"""Training data and the training loop: batches of pairs, fixed validation crops, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.embed.associations import Entry
from mtk.embed.data import MelStore, batches, crop, pair_arrays
from mtk.embed.frontend import N_MELS, PATCH, SAMPLE_RATE
from mtk.embed.train import TrainOptions, train, validation_pairs
from mtk.weights.checkpoint import load_checkpoint


def _catalogue(n_artists: int = 4, per_release: int = 2, releases: int = 2) -> tuple[list[Entry], list[np.ndarray]]:
    """Artists whose recordings share a spectral fingerprint: a band of their own."""
    rng = np.random.default_rng(0)
    entries, mels = [], []
    for a in range(n_artists):
        for r in range(releases):
            for _ in range(per_release):
                i = len(entries)
                entries.append(
                    Entry(f"{i}.wav", f"t{i}", frozenset({f"r{a}{r}"}), frozenset({f"A{a}"}), frozenset({"L"}))
                )
                mel = rng.normal(0, 0.1, (N_MELS, PATCH + 60)).astype(np.float32)
                mel[10 + 20 * a : 20 + 20 * a] += 2.0
                mels.append(mel)
    return entries, mels


def test_batches_hold_pairs_and_track_pairs_are_two_crops() -> None:
    entries, mels = _catalogue()
    anchors, positives = next(batches(entries, mels, "artist", np.random.default_rng(0), batch_pairs=4))
    assert anchors.shape == positives.shape == (4, N_MELS, PATCH) and anchors.dtype == np.float32
    a, b = next(batches(entries, mels, "track", np.random.default_rng(1), batch_pairs=4))
    assert not np.array_equal(a, b)  # other offsets of the same recordings
    with pytest.raises(ValueError, match="fewer than a batch"):
        next(batches(entries, mels, "release", np.random.default_rng(0), batch_pairs=16))
    x, y = pair_arrays(mels, [(0, 1), (2, 2)], None)
    x2, y2 = pair_arrays(mels, [(0, 1), (2, 2)], None)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)  # validation crops are fixed
    np.testing.assert_array_equal(crop(mels[0]), mels[0][:, 30 : 30 + PATCH])  # centred


def test_training_runs_logs_checkpoints_and_resumes(tmp_path: Path) -> None:
    entries, mels = _catalogue()
    opts = TrainOptions(associations=("artist", "track"), steps=2, batch_pairs=4, checkpoint_every=2, log_every=1)
    opts.width, opts.depth = 0.25, 0.34  # a small encoder: the loop is what is tested
    opts.valid_pairs = 8
    records: list[dict] = []
    train((entries, mels), (entries, mels), tmp_path / "run", opts, on_log=records.append)
    state = load_checkpoint(tmp_path / "run" / "last.pt", arch="embed-effnet")
    assert state["step"] == 2 and tuple(state["config"]["associations"]) == ("artist", "track")
    assert (tmp_path / "run" / "best.pt").is_file()
    assert {"valid_acc_artist", "valid_acc_track", "valid_loss"} <= set(records[-1])
    opts.steps = 3
    train((entries, mels), (entries, mels), tmp_path / "run", opts)
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 3
    lines = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == [1, 2, 3]
    other = TrainOptions(associations=("label",), steps=4, batch_pairs=2)
    with pytest.raises(Exception, match="other settings"):
        train((entries, mels), (entries, mels), tmp_path / "run", other)


def test_validation_pairs_are_drawn_once() -> None:
    entries, _ = _catalogue()
    assert validation_pairs(entries, ("artist",), 4, 0) == validation_pairs(entries, ("artist",), 4, 0)


def test_mel_store_caches_by_content(tmp_path: Path) -> None:
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    path = tmp_path / "a.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    store = MelStore(tmp_path / "cache")
    entries = [
        Entry(str(path), "t", frozenset(), frozenset(), frozenset()),
        Entry(str(tmp_path / "bad.wav"), "u", frozenset(), frozenset(), frozenset()),
    ]
    kept, mels, failed = store.load(entries)
    assert [e.path for e in kept] == [str(path)] and failed[0][0] == str(tmp_path / "bad.wav")
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1
    np.testing.assert_allclose(store.get(str(path)), mels[0].astype(np.float32), atol=1e-2)  # from the cache (fp16)


def test_the_style_tagger_baseline_trains_on_the_same_loop(tmp_path: Path) -> None:
    entries, mels = _catalogue()
    tags = {e.path: f"style{sorted(e.artists)[0][-1]}" for e in entries}  # one style per artist
    opts = TrainOptions(steps=2, batch_pairs=4, checkpoint_every=2, log_every=1, width=0.25, depth=0.34, tags=tags)
    records: list[dict] = []
    train((entries, mels), (entries, mels), tmp_path / "run", opts, on_log=records.append)
    state = load_checkpoint(tmp_path / "run" / "best.pt", arch="embed-effnet")
    assert tuple(state["config"]["classes"]) == ("style0", "style1", "style2", "style3")
    assert tuple(state["config"]["associations"]) == () and "valid_acc_tag" in records[-1]
    from mtk.embed.infer import load

    embedder = load(str(tmp_path / "run" / "best.pt"))
    assert embedder.from_mel(mels[0]).dims == embedder.model.encoder.out_dim
    with pytest.raises(Exception, match="no projection head"):
        embedder.from_mel(mels[0], layer="projection")


def test_catalogue_splits_and_corpus_tags(tmp_path: Path) -> None:
    from mtk.embed.train import corpus_tags, entry_split, load_catalogues
    from mtk.errors import InputError

    song = tmp_path / "song-1"
    song.mkdir()
    (song / "meta.json").write_text(json.dumps({"style": "funk", "split": "train"}))
    a = tmp_path / "a.csv"
    a.write_text(f"path,track,release,artist,label,split\n{song}/mix.wav,s1,r,A,L,test\nx.wav,x,r2,B,L,\n")
    entries = load_catalogues([a])
    assert entry_split(entries[0]) == "test"
    from mtk.corpus.catalogue import held_out_split

    assert entry_split(entries[1]) == held_out_split("B")  # no split given: by artist
    assert corpus_tags(entries, "style") == {f"{song}/mix.wav": "funk"}
    b = tmp_path / "b.csv"
    b.write_text(f"path,track,release,artist,label\n{song}/mix.wav,s1,r,A,L\n")
    with pytest.raises(InputError, match="listed in"):
        load_catalogues([a, b])
