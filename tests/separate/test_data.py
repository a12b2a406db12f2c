import numpy as np
import pytest

from mtk.errors import InputError, UsageError
from mtk.separate.data import Augment, batches, check_rate, excerpt, find_songs
from mtk.separate.model import STEMS


def test_find_songs_reads_splits_and_rates(stem_corpus, tmp_path):
    songs = find_songs(stem_corpus)
    assert [s.split for s in songs] == ["train", "train", "train", "valid", "test"]
    assert {(s.sample_rate, s.channels) for s in songs} == {(44_100, 2)}
    check_rate(songs, 44_100, 2)
    with pytest.raises(UsageError):
        check_rate(songs, 22_050, 2)
    with pytest.raises(InputError):
        find_songs(tmp_path)


def test_an_unaugmented_excerpt_is_a_real_mix(stem_corpus):
    songs = find_songs(stem_corpus)[:1]
    rng = np.random.default_rng(0)
    plain = Augment(remix=0.0, gain=(1.0, 1.0), pitch=0.0, flip=False)
    ex = excerpt(songs, STEMS, 22_050, rng, plain)
    assert ex.shape == (4, 2, 22_050)
    frames = songs[0].frames
    stems = np.stack([songs[0].read(s) for s in STEMS])
    first = np.flatnonzero(np.isclose(stems[2, 0, : frames - 22_050 + 1], ex[2, 0, 0]))
    cuts = [o for o in first if np.allclose(stems[:, :, o : o + 22_050], ex)]
    assert cuts  # all four stems cut from one place of one song, untouched


def test_augmented_batches_keep_their_shape(stem_corpus):
    songs = find_songs(stem_corpus)
    stream = batches(songs, STEMS, frames=10_000, batch=3, rng=np.random.default_rng(1), augment=Augment(pitch=1.0))
    b = next(stream)
    assert b.shape == (3, 4, 2, 10_000) and b.dtype == np.float32
    assert np.isfinite(b).all() and np.abs(b).max() > 0
