"""Embedding files: pooling, one vector a second, resampling, bad input, checkpoints."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.embed.infer import load
from mtk.errors import InputError, UsageError


def _audio(sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.2 * np.sin(2 * np.pi * (220 + 40 * np.sin(t)) * t)).astype(np.float32)


def _wav(sr: int, seconds: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _audio(sr, seconds), sr, format="WAV", subtype="FLOAT")
    return buf.getvalue()


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    return load("embed-debug")


def test_pooling_and_one_vector_a_second(embedder) -> None:  # type: ignore[no-untyped-def]
    y = _audio(16_000, 10.0)
    frames = embedder.from_audio(y, 16_000, pool="none")
    assert frames.vectors.shape == (9, embedder.model.encoder.out_dim) and frames.times[1] == pytest.approx(0.992)
    mean = embedder.from_audio(y, 16_000)
    np.testing.assert_allclose(mean.vectors, frames.vectors.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(embedder.from_audio(y, 16_000, pool="max").vectors, frames.vectors.max(axis=0))
    proj = embedder.from_audio(y, 16_000, layer="projection")
    assert proj.dims == 512 and np.abs(proj.vectors).max() <= 1.0
    record = mean.to_dict()
    assert record["model"] == "embed-debug" and record["dims"] == len(record["vector"]) and "times" not in record


def test_a_44k_and_a_16k_copy_give_the_same_vector(embedder) -> None:  # type: ignore[no-untyped-def]
    a = embedder.from_file(_wav(44_100, 6.0)).vectors
    b = embedder.from_file(_wav(16_000, 6.0)).vectors
    assert np.abs(a - b).max() < 0.05 * np.abs(b).max()


def test_batches_do_not_change_the_answer(embedder) -> None:  # type: ignore[no-untyped-def]
    y = _audio(16_000, 8.0)
    whole = embedder.from_audio(y, 16_000, pool="none").vectors
    embedder.batch = 2
    try:
        np.testing.assert_allclose(embedder.from_audio(y, 16_000, pool="none").vectors, whole, rtol=1e-4, atol=1e-5)
    finally:
        embedder.batch = 16


def test_bad_input(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000 * 4, np.float32), 16_000)
    with pytest.raises(InputError, match="silent"):
        embedder.from_file(str(silent))
    with pytest.raises(InputError, match="too short"):
        embedder.from_file(_wav(16_000, 1.0))
    with pytest.raises(UsageError, match="--pool"):
        embedder.from_audio(_audio(16_000, 3.0), 16_000, pool="median")


def test_a_trained_checkpoint_loads_as_it_was_saved(tmp_path: Path) -> None:
    from mtk.embed.associations import Entry
    from mtk.embed.train import TrainOptions, train

    rng = np.random.default_rng(0)
    entries = [
        Entry(f"{i}", f"t{i}", frozenset({f"r{i // 2}"}), frozenset({f"A{i // 4}"}), frozenset()) for i in range(8)
    ]
    mels = [rng.normal(0, 1, (96, 140)).astype(np.float32) for _ in entries]
    opts = TrainOptions(associations=("release",), steps=1, batch_pairs=2, checkpoint_every=1, valid_pairs=2)
    opts.width, opts.depth, opts.backbone = 0.25, 0.34, "lite0"
    train((entries, mels), (entries, mels), tmp_path / "run", opts)
    embedder = load(str(tmp_path / "run" / "last.pt"))
    assert embedder.name.endswith("last.pt") and set(embedder.model.heads) == {"release"}
    assert embedder.from_audio(_audio(16_000, 3.0), 16_000).vectors.shape == (embedder.model.encoder.out_dim,)
