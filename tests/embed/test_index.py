"""The embedding index: cosine neighbours, round trip, incremental add, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.embed.index import EmbedIndex, unit
from mtk.errors import InputError, UsageError


def _index(n: int = 6, dims: int = 4) -> EmbedIndex:
    idx = EmbedIndex("toy")
    for i in range(n):
        v = np.zeros(dims, np.float32)
        v[i % dims] = 1.0 + i  # lengths differ: cosine ignores them
        v[(i + 1) % dims] = 0.1 * i
        idx.add(f"{i}.wav", f"h{i}", 10.0 + i, v)
    return idx


def test_search_ranks_by_cosine_whatever_the_length() -> None:
    idx = _index()
    best, sims = idx.search(np.array([[3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 7.0]]), k=2)
    assert best.tolist() == [[0, 4], [3, 2]]
    expect = unit(idx.vectors[[0, 4]]) @ np.array([1.0, 0, 0, 0], np.float32)
    np.testing.assert_allclose(sims[0], expect, rtol=1e-6)
    assert sims[0, 0] == pytest.approx(1.0)


def test_k_beyond_the_index_and_an_empty_index() -> None:
    best, sims = _index(3).search(np.ones(4), k=10)
    assert best.shape == sims.shape == (1, 3) and np.all(np.diff(sims[0]) <= 0)
    assert EmbedIndex("toy").search(np.ones(4), k=3)[0].shape == (1, 0)


def test_round_trip_and_incremental_add(tmp_path: Path) -> None:
    full, part = _index(6), _index(4)
    part.save(tmp_path / "lib.idx")
    grown = EmbedIndex.load(tmp_path / "lib.idx")
    for i in (4, 5):
        grown.add(full.paths[i], full.hashes[i], full.durations[i], full.vectors[i])
    assert "5.wav" in grown and grown.paths == full.paths and grown.hashes == full.hashes
    np.testing.assert_array_equal(grown.vectors, full.vectors)
    grown.add("0.wav", "new", 1.0, np.ones(4, np.float32))  # replaced by path
    assert len(grown) == 6 and grown.hashes[0] == "new"


def test_dimension_mismatch_is_a_usage_error() -> None:
    idx = _index(2)
    with pytest.raises(UsageError, match="4-d"):
        idx.add("x.wav", "h", 1.0, np.ones(3))
    with pytest.raises(UsageError, match="3-d queries"):
        idx.search(np.ones(3), k=1)


def test_files_that_are_not_an_embed_index(tmp_path: Path) -> None:
    from mtk.detect_cover.index import CoverIndex

    (tmp_path / "empty.idx").write_bytes(b"")
    with pytest.raises(InputError, match="not an mtk embed index"):
        EmbedIndex.load(tmp_path / "empty.idx")
    CoverIndex().save(tmp_path / "cover.idx")
    with pytest.raises(InputError, match="an mtk cover index, not an mtk embed index"):
        EmbedIndex.load(tmp_path / "cover.idx")
    with pytest.raises(InputError, match="an mtk embed index, not an mtk cover index"):
        _index(2).save(tmp_path / "e.idx") or CoverIndex.load(tmp_path / "e.idx")
    with pytest.raises(InputError, match="no such file"):
        EmbedIndex.load(tmp_path / "missing.idx")
