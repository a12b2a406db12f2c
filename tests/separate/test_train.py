import json

import numpy as np
import pytest

from mtk.errors import UsageError
from mtk.separate.data import find_songs
from mtk.separate.infer import load
from mtk.separate.model import SeparatorConfig
from mtk.separate.train import TrainOptions, sdr, train

TINY = SeparatorConfig(n_fft=512, hop=128, hidden=8, layers=1)


def test_global_sdr():
    x = np.ones(100)
    assert sdr(x, 0.9 * x) == pytest.approx(20.0, abs=1e-4)


def test_train_resume_and_load(stem_corpus, tmp_path):
    songs = find_songs(stem_corpus)
    train_songs = [s for s in songs if s.split == "train"]
    valid = [s for s in songs if s.split == "valid"]
    run = tmp_path / "run"
    opts = TrainOptions(steps=2, batch=2, seconds=0.5, checkpoint_every=2, log_every=1, valid_seconds=1.0)
    first = train(train_songs, valid, run, TINY, opts)
    assert first["step"] == 2 and np.isfinite(first["loss"]) and "valid_sdr_stems" in first
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    opts.steps = 3
    again = train(train_songs, valid, run, TINY, opts)
    assert again["step"] == 3
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]
    with pytest.raises(UsageError):
        train(train_songs, valid, run, SeparatorConfig(n_fft=512, hop=128, hidden=16, layers=1), opts)
    separator = load(str(run / "last.pt"))
    y = np.random.default_rng(0).standard_normal((2, 44_100)).astype(np.float32) * 0.1
    stems = separator.from_audio(y, 44_100)
    np.testing.assert_allclose(sum(stems.audio.values()), y, atol=1e-5)


def test_init_starts_a_new_run_from_earlier_weights(stem_corpus, tmp_path):
    import torch

    from mtk.weights.checkpoint import load_checkpoint

    songs = find_songs(stem_corpus)
    train_songs = [s for s in songs if s.split == "train"]
    valid = [s for s in songs if s.split == "valid"][:1]
    opts = TrainOptions(steps=1, batch=1, seconds=0.5, checkpoint_every=1, valid_seconds=0.5)
    train(train_songs, valid, tmp_path / "a", TINY, opts)
    start = load_checkpoint(tmp_path / "a" / "last.pt")["state_dict"]
    # learning rate 0: the new run's one step keeps the weights it started from
    fine = TrainOptions(steps=1, batch=1, seconds=0.5, checkpoint_every=1, valid_seconds=0.5, lr=0.0)
    fine.init = str(tmp_path / "a" / "last.pt")
    train(train_songs, valid, tmp_path / "b", TINY, fine)
    got = load_checkpoint(tmp_path / "b" / "last.pt")
    assert got["step"] == 1
    learned = [k for k in start if "running_" not in k and "num_batches" not in k]  # batch-norm statistics move
    assert any("input_mean" in k for k in learned)
    for name in learned:
        torch.testing.assert_close(got["state_dict"][name], start[name])
    other = TrainOptions(steps=1, init=str(tmp_path / "a" / "last.pt"))
    with pytest.raises(UsageError, match="other settings"):
        train(train_songs, valid, tmp_path / "c", SeparatorConfig(n_fft=512, hop=128, hidden=16, layers=1), other)
