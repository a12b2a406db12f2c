"""The shipped embeddings: golden vectors on a committed recording; any sample rate gives the same vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
DATA = Path(__file__).parent / "data"
SHIPPED = [e.name for e in entries("embed") if not e.debug]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no embedding model shipped")


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_vectors(name: str) -> None:
    """The first 16 patch vectors' leading dims and the mean vector, pinned when the weights shipped."""
    from mtk.embed.infer import load

    golden = np.load(DATA / f"golden-{name}.npz")
    emb = load(name).from_file(DATA / "ode_to_joy_8s.flac", pool="none")
    assert emb.vectors.shape == golden["patches"].shape[:1] + (1280,)
    np.testing.assert_allclose(emb.vectors[:, :16], golden["patches"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(emb.vectors.mean(axis=0), golden["mean"], rtol=1e-3, atol=1e-4)


def test_the_default_is_the_multi_task_model_and_resampling_does_not_matter() -> None:
    import soundfile as sf

    from mtk.embed.infer import load
    from mtk.io.audio import resample

    embedder = load()
    assert embedder.name == "embed-effnet-multi-v1"
    y, sr = sf.read(DATA / "ode_to_joy_8s.flac", dtype="float32")
    a = embedder.from_audio(y, sr).vectors
    b = embedder.from_audio(resample(y, sr, 44_100), 44_100).vectors
    cosine = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert cosine > 0.99
