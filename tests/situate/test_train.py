"""auSP training: determinism under a seed, and resuming from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mtk.situate.train import AuSPOptions, class_weights, load_data, train_ausp
from mtk.situate.users import UserEmbedder


@pytest.fixture(scope="module")
def data(stream_files: Path, meta_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    from mtk.situate.audio import MelCache

    cache = MelCache(tmp_path_factory.mktemp("mels"))
    return load_data(
        str(stream_files / "streams.jsonl"),
        str(stream_files / "history.jsonl"),
        [meta_corpus],
        n_classes=4,
        cache=cache,
    )


def _weights(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_data_is_the_tag_set(data) -> None:
    assert set(data.labels.tolist()) <= {0, 1, 2, 3} and len(data.labels) < 400
    assert data.mels.shape == (len(data.track_ids), 96, 646)


def test_class_weights() -> None:
    np.testing.assert_allclose(class_weights(np.array([0, 0, 0, 1]), 3), [4 / 3 / 3, 4 / 3, 0])


def test_same_seed_same_model_and_resume(data, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    embedder = UserEmbedder.fit(data.history)
    idx = np.arange(len(data.labels))
    opts = AuSPOptions(steps=2, tracks=3, streams_per_track=2, seed=1, checkpoint_every=1, log_every=1)
    a = _weights(train_ausp(data, idx, embedder, opts))
    b = _weights(train_ausp(data, idx, embedder, opts))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = _weights(train_ausp(data, idx, embedder, AuSPOptions(steps=2, tracks=3, streams_per_track=2, seed=2)))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    # two steps in one go, or one step, a checkpoint, and a resumed second step: both move the weights
    run = tmp_path / "run"
    one = _weights(
        train_ausp(data, idx, embedder, AuSPOptions(steps=1, tracks=3, streams_per_track=2, seed=1), run=run)
    )
    resumed = _weights(train_ausp(data, idx, embedder, opts, run=run))
    assert len((run / "log.jsonl").read_text().splitlines()) == 2
    assert not all(np.array_equal(x, y) for x, y in zip(one, resumed, strict=True))


def test_protocol_runs_folder_resumes(data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from mtk.errors import UsageError
    from mtk.situate import eval as protocol

    torch.set_num_threads(1)
    opts = AuSPOptions(steps=2, tracks=3, streams_per_track=2)
    kw = {"classes": (4,), "splits": ("cold-track", "warm"), "repeats": 1, "ausp": opts, "runs": tmp_path}
    first = protocol.run_protocol(data, **kw)
    assert [(r["split"], r["seed"]) for r in first] == [("cold-track", 0), ("warm", 0)]
    assert (tmp_path / "c4-warm-0" / "last.pt").exists() and (tmp_path / "c4-warm-0" / "record.json").exists()
    # an interrupted split (no record, a checkpoint at its last step) resumes to the same scores
    (tmp_path / "c4-warm-0" / "record.json").unlink()
    assert protocol.run_protocol(data, **kw) == first
    # finished splits are read back, not trained again
    monkeypatch.setattr(protocol, "train_ausp", lambda *a, **k: pytest.fail("trained a finished split again"))
    assert protocol.run_protocol(data, **kw) == first
    with pytest.raises(UsageError, match="other ausp settings"):
        protocol.run_protocol(data, **(kw | {"ausp": replace(opts, steps=3)}))
    with pytest.raises(UsageError, match="other data settings"):
        protocol.run_protocol(_fewer(data), **kw)


def _fewer(data):
    """``data`` without its last stream."""
    from dataclasses import replace

    keep = np.arange(len(data.labels) - 1)
    return replace(data, streams=data.streams.take(keep), labels=data.labels[keep], track_of=data.track_of[keep])


def test_protocol_tables_mean_and_std() -> None:
    from mtk.situate.eval import summarize, tables

    records = [{"classes": 4, "split": "warm", "seed": s, "dusp_accuracy": a} for s, a in enumerate((0.5, 0.7))]
    assert "| 4 | - | - | 60.00 (10.00) |" in tables(summarize(records))
    assert "| 4 | - | - | 50.00 |" in tables(summarize(records[:1]))  # one split: the mean alone


def test_content_map_fits_what_the_audio_tells_and_shrinks_the_rest() -> None:
    """Factor rows whose leading dimensions follow a track's (audible) style and whose other
    dimensions are noise: the content map recovers the style dimensions on held-out tracks and
    predicts the mean for the noise. One penalty for all dimensions, as the first maps had,
    shrinks the style dimensions too."""
    from sklearn.linear_model import RidgeCV

    from mtk.situate.users import ContentMap

    rng = np.random.default_rng(0)
    style = rng.integers(0, 9, 700)
    vectors = rng.normal(size=(700, 256)) + 3 * np.eye(256)[style]
    rows = np.concatenate([np.eye(9)[style] @ rng.normal(size=(9, 8)), rng.normal(size=(700, 120))], axis=1)
    train, test = slice(0, 600), slice(600, None)
    content = ContentMap.fit(vectors[train], rows[train], embed_model="synthetic")
    predicted = content.predict(vectors[test])

    def r2(p: np.ndarray, dims: slice) -> float:
        truth = rows[test][:, dims]
        return 1 - float(np.square(truth - p[:, dims]).sum() / np.square(truth - truth.mean(0)).sum())

    shared = RidgeCV(alphas=np.geomspace(1e-2, 1e4, 13)).fit(vectors[train], rows[train]).predict(vectors[test])
    assert r2(predicted, slice(0, 8)) > 0.25 and r2(shared, slice(0, 8)) < 0.1  # measured: 0.34, 0.05
    assert np.abs(predicted[:, 8:] - rows[train][:, 8:].mean(0)).max() < 0.5  # the noise: about its mean
    assert -0.05 < content.cv_r2 < 0.2  # 128 dims, 8 of them predictable
