"""The shipped situate models: planted known answers, and outputs pinned on fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
SHIPPED = bool([e for e in entries("situate-ausp") if e.default]) and bool(
    [e for e in entries("situate-dusp") if e.default]
)
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no situate models shipped")
SR = 22_050


@pytest.fixture(scope="module")
def situator():  # type: ignore[no-untyped-def]
    from mtk.situate.infer import load

    return load()


def _pad(seconds: int = 40) -> np.ndarray:
    """A soft sustained C major chord, slowly swelling."""
    t = np.arange(seconds * SR) / SR
    y = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * (0.6 + 0.4 * np.sin(2 * np.pi * t / 8))
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


def test_dusp_offline_commute_is_a_train(situator) -> None:  # type: ignore[no-untyped-def]
    record = situator.now({"device": "mobile", "network": "plane", "timestamp": "2019-08-13T08:05"}, k=3)
    assert [s["situation"] for s in record["situations"]] == GOLDEN_NOW
    np.testing.assert_allclose([s["p"] for s in record["situations"]], GOLDEN_NOW_P, atol=1e-3)


def test_ausp_soft_pad_is_for_sleep(situator) -> None:  # type: ignore[no-untyped-def]
    from mtk.situate.audio import log_mel

    audio = situator.audio.audio_embeddings(log_mel(_pad())[None])
    p = situator.audio.proba(audio, np.zeros((1, 128), np.float32))[0]
    top = [situator.situations[i] for i in np.argsort(-p)[:2]]
    assert top == ["sleep", "relax"]
    np.testing.assert_allclose(p, GOLDEN_PAD_P, atol=2e-3)
    known = situator.audio.proba(audio, situator.audio.user_vectors[[1]])[0]  # u00001, a training user
    np.testing.assert_allclose(known, GOLDEN_PAD_U1_P, atol=2e-3)


GOLDEN_NOW = ["train", "run", "work"]
GOLDEN_NOW_P = [0.2869, 0.2157, 0.1923]
# work gym party sleep morning run night dance car train relax club
GOLDEN_PAD_P = [0.0031, 0.0, 0.0001, 0.7333, 0.0045, 0.0, 0.0381, 0.0, 0.0006, 0.0028, 0.2175, 0.0]
GOLDEN_PAD_U1_P = [0.002, 0.0, 0.0, 0.4222, 0.1403, 0.0, 0.092, 0.0001, 0.0002, 0.0009, 0.3422, 0.0]
