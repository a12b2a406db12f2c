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
    top = {situator.situations[i] for i in np.argsort(-p)[:2]}
    assert top == {"sleep", "relax"}  # the simulator plants slow, quiet music in both
    np.testing.assert_allclose(p, GOLDEN_PAD_P, atol=2e-3)
    known = situator.audio.proba(audio, situator.audio.user_vectors[[1]])[0]  # u00001, a training user
    np.testing.assert_allclose(known, GOLDEN_PAD_U1_P, atol=2e-3)


def test_ausp_hears_a_history_of_new_audio(situator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """situate-ausp-v2's content map: a user who played only the pad (audio it never trained
    on) is embedded from what its audio branch hears in it."""
    import soundfile as sf

    from mtk.situate.audio import log_mel

    sf.write(tmp_path / "pad.wav", _pad(), SR)
    rows, failed = situator.audio.hear({"pad": str(tmp_path / "pad.wav")})
    assert not failed and situator.audio.content_map.embed_model == "ausp"
    np.testing.assert_allclose(rows["pad"][:6], GOLDEN_PAD_ROW, atol=2e-3)
    user = situator.audio.user_vector("newbie", {"pad": 5.0}, rows)
    audio = situator.audio.audio_embeddings(log_mel(_pad())[None])
    p = situator.audio.proba(audio, user[None])[0]
    np.testing.assert_allclose(p, GOLDEN_PAD_HEARD_P, atol=2e-3)
    assert situator.audio.user_vector("newbie", {"pad": 5.0}) is None  # unheard, the pad is unknown


GOLDEN_NOW = ["train", "run", "work"]
GOLDEN_NOW_P = [0.2869, 0.2157, 0.1923]
# work gym party sleep morning run night dance car train relax club
GOLDEN_PAD_P = [0.101, 0.0076, 0.0292, 0.2002, 0.0984, 0.0051, 0.1646, 0.0146, 0.0429, 0.1128, 0.2172, 0.0064]
GOLDEN_PAD_U1_P = [0.0404, 0.0012, 0.0146, 0.0311, 0.519, 0.0001, 0.1601, 0.0184, 0.012, 0.008, 0.1949, 0.0002]
GOLDEN_PAD_ROW = [0.2045, -0.1728, 0.0895, -0.1225, 0.0793, -0.0018]
GOLDEN_PAD_HEARD_P = [0.1133, 0.0062, 0.0254, 0.1927, 0.0995, 0.0042, 0.1771, 0.0131, 0.0456, 0.1166, 0.2013, 0.005]
