"""The normalised rank against hand-worked examples, and the loss terms with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtk.rank_samples.model import covariance_loss, dcl_loss, norm_loss, samplematch_loss, variance_loss
from mtk.rank_samples.ranking import normalized_rank, summarise


def test_normalized_rank_by_hand() -> None:
    scores = [0.9, 0.1, 0.5, 0.7, 0.3]  # order: 0, 3, 2, 4, 1
    assert normalized_rank(scores, [0]) == pytest.approx(1 / 5)  # first of five
    assert normalized_rank(scores, [2]) == pytest.approx(3 / 5)  # third
    assert normalized_rank(scores, [1]) == pytest.approx(5 / 5)  # last
    # two truths: 3 is second among the other four (after 0), 1 is last: (2/5 + 4/5) / 2
    assert normalized_rank(scores, [1, 3]) == pytest.approx(3 / 5)
    assert normalized_rank(scores, [0, 3]) == pytest.approx(1 / 5)  # one truth above another costs nothing
    assert normalized_rank([0.5, 0.5, 0.5, 0.5], [2]) == pytest.approx((1 + 1.5) / 4)  # ties: half each
    ranks = [normalized_rank(np.random.default_rng(i).random(101), [7, 8, 9]) for i in range(2000)]
    assert summarise(ranks)["mean"] == pytest.approx(0.5, abs=0.02)  # a random order: about 0.5
    assert summarise([0.1, 0.2, 0.9]) == {"mean": 0.4, "median": 0.2, "queries": 3}
    with pytest.raises(ValueError):
        normalized_rank([0.1, 0.2], [])


def test_loss_terms() -> None:
    torch.manual_seed(0)
    z = torch.randn(64, 8) * 3.0
    assert variance_loss(z).item() == 0.0  # every dimension's std is above 1
    assert variance_loss(torch.zeros(64, 8)).item() == pytest.approx(1 - 1e-2, abs=1e-3)
    same = torch.randn(64, 1).repeat(1, 8)  # every dimension the same: each covariance is the variance
    assert covariance_loss(same).item() == pytest.approx(8 * 7 * same[:, 0].var().item() ** 2 / 8, rel=1e-4)
    assert covariance_loss(torch.eye(64)[:, :8] * 0).item() == 0.0
    long = torch.ones(4, 16) * 2.0  # norm 8: 4 over the limit of 4
    assert norm_loss(long).item() == pytest.approx(4.0) and norm_loss(long / 4).item() == 0.0
    q = torch.eye(4) * 10
    perfect, wrong = dcl_loss(q, q), dcl_loss(q, q.roll(1, dims=0))
    assert perfect.item() == pytest.approx(np.log(3) - 5)  # decoupled: log(3 e^0) - 1/0.2, no positive below
    assert wrong.item() > 5
    terms = samplematch_loss(q, q)
    assert terms["loss"].item() == pytest.approx(
        (terms["contrastive"] + terms["variance"] + terms["covariance"] + 10 * terms["norm"]).item()
    )


def test_a_shot_another_song_of_the_kit_drew_is_no_negative() -> None:
    from pathlib import Path

    from mtk.rank_samples.data import Pair, Shot, Song
    from mtk.rank_samples.train import fits

    soft, hard, snare = (
        Shot(Path(f"/k/{n}.wav"), c, "kit", n) for n, c in (("k1", "kick"), ("k2", "kick"), ("s", "snare"))
    )
    a = Song(Path("/a"), "train", "kit", "rock", 1, {"kick": ((soft, 3), (hard, 1)), "snare": ((snare, 2),)})
    b = Song(Path("/b"), "train", "kit", "rock", 1, {"kick": ((hard, 5),)})
    pa, pb = Pair(a, "kick", soft, ("bass", "chords"), 0), Pair(b, "kick", hard, ("bass", "chords"), 0)
    assert fits(pa, hard)  # song a played k2 too: a ground truth of its kick query
    assert not fits(pb, soft)  # song b never played k1: a negative for it
    assert not fits(pa, snare)  # another class of the song is a negative
