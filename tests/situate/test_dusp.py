"""duSP and the protocol's splits and user embeddings on simulated streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.situate.dusp import DuSP
from mtk.situate.schema import parse_streams, tag_set
from mtk.situate.splits import SPLITS, make_split
from mtk.situate.users import UserEmbedder, read_history


@pytest.fixture(scope="module")
def streams(simulated):
    return parse_streams(simulated[1], situations=tag_set(12))


@pytest.mark.parametrize("kind", SPLITS)
def test_splits_do_not_leak(streams, kind: str) -> None:
    split = make_split(streams, kind, seed=0)
    train = streams.take(split.train)
    test = streams.take(split.test)
    assert len(test) > 300 and not set(split.train) & set(split.test)
    train_users, train_tracks = set(train.user), set(train.track)
    if kind == "cold-user":
        assert not set(test.user) & train_users and set(test.track) <= train_tracks
    elif kind == "cold-track":
        assert not set(test.track) & train_tracks and set(test.user) <= train_users
    else:
        assert set(test.user) <= train_users and set(test.track) <= train_tracks
        assert not set(zip(test.user, test.track, strict=True)) & set(zip(train.user, train.track, strict=True))


def test_splits_are_deterministic(streams) -> None:
    a, b, c = (make_split(streams, "warm", s) for s in (3, 3, 4))
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_dusp_recovers_planted_device_patterns(streams, tmp_path: Path) -> None:
    """C=4: chance is about 0.3 (the largest class); the planted hours and devices give far more."""
    situations = tag_set(4)
    y = streams.labels(situations)
    sub = streams.take(np.flatnonzero(y >= 0))
    split = make_split(sub, "warm", seed=0)
    model = DuSP.fit(sub.take(split.train), situations)
    p = model.predict_proba(sub.take(split.test))
    truth = sub.labels(situations)[split.test]
    accuracy = float((p.argmax(1) == truth).mean())
    majority = np.bincount(truth).max() / len(truth)
    assert accuracy > majority + 0.25
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    model.save(tmp_path / "dusp.ubj")
    again = DuSP.load(tmp_path / "dusp.ubj")
    assert again.situations == situations and again.countries == model.countries
    np.testing.assert_allclose(again.predict_proba(sub.take(split.test)), p, atol=1e-6)


def test_user_embeddings_fold_in_new_users(simulated) -> None:
    history = read_history(simulated[2])
    users = sorted(history)
    embedder = UserEmbedder.fit({u: history[u] for u in users[:100]})
    fitted = embedder.embed({u: history[u] for u in users[:100]})
    assert fitted.shape == (100, 128)
    np.testing.assert_allclose(fitted.std(0)[:40], 1, rtol=1e-3)
    # a user embeds the same alone as in a batch; a cold user embeds by the same projection
    np.testing.assert_allclose(embedder.embed({users[7]: history[users[7]]})[0], fitted[7], rtol=1e-5)
    cold = embedder.embed({"new": history[users[120]], "twin": dict(history[users[120]])})
    np.testing.assert_allclose(cold[0], cold[1])
    assert not embedder.embed({"nobody": {"unknown-track": 3}}).any()
