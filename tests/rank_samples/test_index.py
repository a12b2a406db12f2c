"""The sample index: round trip, extension, class filter and ranking order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.errors import InputError, UsageError
from mtk.rank_samples.index import SampleIndex, SampleInfo


def _info(name: str, cls: str, vector: list[float]) -> SampleInfo:
    v = np.asarray(vector, np.float32)
    return SampleInfo(f"/s/{name}.wav", name * 8, 0.5, cls, 0.9, "audio", v / np.linalg.norm(v))


def _index() -> SampleIndex:
    index = SampleIndex("m")
    index.add(_info("k1", "kick", [1, 0, 0]))
    index.add(_info("s1", "snare", [0.8, 0.6, 0]))
    index.add(_info("h1", "hihat", [0, 1, 0]))
    index.add(_info("k2", "kick", [0, 0, 1]))
    return index


def test_rank_orders_by_cosine_and_filters_by_class() -> None:
    index = _index()
    ranked = index.rank(np.array([1, 0, 0], np.float32))
    assert [index.items[i].path for i, _ in ranked] == ["/s/k1.wav", "/s/s1.wav", "/s/h1.wav", "/s/k2.wav"]
    assert [round(s, 3) for _, s in ranked] == [1.0, 0.8, 0.0, 0.0]  # a tie keeps index order
    kicks = index.rank(np.array([0, 0.6, 0.8], np.float32), classes={"kick"})
    assert [(index.items[i].path, round(s, 2)) for i, s in kicks] == [("/s/k2.wav", 0.8), ("/s/k1.wav", 0.0)]
    assert len(index.rank(np.array([1, 0, 0], np.float32), k=2)) == 2
    assert index.rank(np.array([1, 0, 0], np.float32), classes={"ride"}) == []


def test_round_trip_and_extension(tmp_path: Path) -> None:
    index = _index()
    path = tmp_path / "s.idx"
    index.save(path)
    back = SampleIndex.load(path)
    assert back.model == "m" and len(back) == 4
    assert [(i.path, i.cls, i.by) for i in back.items] == [(i.path, i.cls, i.by) for i in index.items]
    assert np.allclose(np.stack([i.vector for i in back.items]), np.stack([i.vector for i in index.items]))
    back.add(_info("c1", "crash", [0, 1, 1]))
    back.add(_info("k1", "toms", [1, 0, 0]))  # replaced by path, not added twice
    back.save(path)
    again = SampleIndex.load(path)
    assert len(again) == 5 and again.items[0].cls == "toms" and "/s/c1.wav" in again
    other = SampleIndex("another-model")
    other.add(_info("x", "kick", [1, 1, 0]))
    with pytest.raises(UsageError, match="another-model"):
        again.extend(other)


def test_an_index_of_another_kind_is_refused(tmp_path: Path) -> None:
    from mtk.embed.index import EmbedIndex

    embed = EmbedIndex("embed-debug")
    embed.add("a.wav", "0" * 64, 1.0, np.ones(4, np.float32))
    embed.save(tmp_path / "e.idx")
    with pytest.raises(InputError, match="an mtk embed index, not an mtk rank-samples index"):
        SampleIndex.load(tmp_path / "e.idx")
