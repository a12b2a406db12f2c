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
