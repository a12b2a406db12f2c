import numpy as np
import pytest

from mtk.separate.chunk import chunk_starts, separate_chunks


@pytest.mark.parametrize(("total", "chunk", "overlap"), [(10, 4, 1), (4, 4, 1), (3, 4, 0), (1000, 97, 13)])
def test_chunks_cover_the_input(total, chunk, overlap):
    starts = chunk_starts(total, chunk, overlap)
    assert starts[0] == 0 and starts[-1] + chunk >= total
    assert all(b - a == chunk - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_overlap_must_be_shorter_than_a_chunk():
    with pytest.raises(ValueError):
        chunk_starts(10, 4, 4)


def _run(x, separate, chunk, overlap):
    parts = list(separate_chunks(lambda s, n: x[:, s : s + n], x.shape[-1], separate, chunk=chunk, overlap=overlap))
    return np.concatenate(parts, axis=-1)


def test_a_pointwise_separator_is_unchanged_by_chunking():
    x = np.random.default_rng(0).standard_normal((2, 1001)).astype(np.float32)

    def split(c):
        return np.stack([0.3 * c, 0.7 * c])

    out = _run(x, split, chunk=100, overlap=30)
    assert out.shape == (2, 2, 1001)
    np.testing.assert_allclose(out, split(x), atol=1e-6)


def test_stems_that_sum_to_each_chunk_sum_to_the_whole_input():
    x = np.random.default_rng(1).standard_normal((1, 777)).astype(np.float32)

    def uneven(c):  # depends on the chunk as a whole (its mean), as a network does
        a = np.full_like(c, c.mean())
        return np.stack([a, c - a])

    out = _run(x, uneven, chunk=64, overlap=16)
    np.testing.assert_allclose(out.sum(0), x, atol=1e-5)
